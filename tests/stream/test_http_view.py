"""Browser view: page, MJPEG stream, snapshot, control endpoints, keys, live status; and the kiosk page in a real
headless Chromium (status line, reconnect after a server restart, keys as the hint says, CSRF)."""

import base64
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import cv2
import headless_chromium as chromium
import numpy as np
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import CHROMA_FROM_BGR
from edgecolor.stream.controls import KEYS, Controls, Style
from edgecolor.stream.http_page import PAGE_KEYS, key_hint
from edgecolor.stream.http_view import BOUNDARY, HttpView
from edgecolor.stream.pipeline import Pipeline
from edgecolor.stream.sinks import HttpViewSink
from edgecolor.stream.sources import Frame, Source, open_source


@pytest.fixture
def view():
    controls = Controls([Style("a", "a"), Style("b", "b")])
    v = HttpView(controls=controls, status=lambda: {"frames": 7}, first_frame_timeout=0.5)
    yield v
    v.stop()


def get(url, method="GET", timeout=5):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read()


def frame(value):
    return np.full((24, 32, 3), value, np.uint8)


def test_binds_loopback_by_default_and_serves_the_page(view):
    assert view.url.startswith("http://127.0.0.1:")
    code, ctype, body = get(view.url)
    assert code == 200 and ctype.startswith("text/html")
    assert b'src="/frame.jpg"' in body and b"/stream.mjpg" in body and b"/control/" in body


def test_snapshot_before_and_after_the_first_frame(view):
    assert get(view.url + "frame.jpg")[0] == 503
    view.publish(frame(200))
    code, ctype, body = get(view.url + "frame.jpg")
    img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert code == 200 and ctype == "image/jpeg" and abs(int(img.mean()) - 200) <= 2


def test_mjpeg_stream_delivers_new_frames(view):
    stop = threading.Event()

    def feed():
        k = 0
        while not stop.is_set():
            view.publish(frame(10 * (k % 20)))
            k += 1
            time.sleep(0.02)

    threading.Thread(target=feed, daemon=True).start()
    try:
        with urllib.request.urlopen(view.url + "stream.mjpg", timeout=5) as r:
            assert r.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            data = b""
            while data.count(b"\xff\xd9") < 3:  # three complete JPEGs
                data += r.read1(65536)
    finally:
        stop.set()
    parts = [p for p in data.split(f"--{BOUNDARY}".encode()) if b"\xff\xd8" in p]
    means = {int(cv2.imdecode(np.frombuffer(p[p.index(b"\xff\xd8") :], np.uint8), 1).mean()) for p in parts[:3]}
    assert len(means) >= 2  # different frames, not one repeated


def test_frames_are_encoded_only_when_a_client_asks_and_once_each(view):
    """Nobody watching: no JPEG work at all. A snapshot encodes the newest frame once; asking again reuses it."""
    encoded = []
    encode = view.hub._encode
    view.hub._encode = lambda image: encoded.append(int(image.mean())) or encode(image)
    for k in range(5):
        view.publish(frame(40 * k))
    assert encoded == []
    for _ in range(2):
        code, _, body = get(view.url + "frame.jpg")
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert code == 200 and abs(int(img.mean()) - 160) <= 2  # the newest frame
    assert encoded == [160]
    view.publish(frame(20))
    assert view.health()["frames_published"] == 6 and json.loads(get(view.url + "healthz")[2])["ok"]
    assert encoded == [160]  # health checks encode nothing
    assert get(view.url + "frame.jpg")[0] == 200 and encoded == [160, 20]


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8), b"jpeg"])
def test_publish_refuses_what_is_not_a_bgr_frame(view, bad):
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        view.publish(bad)
    assert view.hub.published == 0 and view.hub.latest() == (0, None)


def test_control_endpoints(view):
    code, _, body = get(view.url + "control/next", "POST")
    assert code == 200 and json.loads(body)["style"] == "b"
    code, _, body = get(view.url + "control/split", "POST")
    assert json.loads(body)["split"] is True
    assert get(view.url + "control/explode", "POST")[0] == 404
    assert get(view.url + "nowhere")[0] == 404
    status = json.loads(get(view.url + "status")[2])
    assert status["frames"] == 7 and status["controls"]["style"] == "b"
    get(view.url + "control/quit", "POST")
    assert view.controls.quit_event.is_set()


def test_without_controls_the_endpoints_refuse():
    v = HttpView()
    try:
        assert get(v.url + "control/next", "POST")[0] == 503
    finally:
        v.stop()


def test_stop_ends_an_open_stream():
    v = HttpView()
    v.publish(frame(50))
    r = urllib.request.urlopen(v.url + "stream.mjpg", timeout=5)
    t0 = time.perf_counter()
    v.stop()
    r.read()  # returns once the server closes the stream
    assert time.perf_counter() - t0 < 3


@pytest.mark.parametrize("key, action", [(ord("n"), "next"), (ord("p"), "prev"), (27, "quit"), (ord("t"), "stabilize")])
def test_keys(key, action):
    controls = Controls([Style("a", "a"), Style("b", "b")])
    before = controls.state
    assert KEYS[key] == action and controls.handle_key(key) == action
    after = controls.state
    assert after.version == before.version + 1
    assert controls.handle_key(-1) is None and controls.handle_key(ord("z")) is None
    assert controls.state == after
    with pytest.raises(ValueError):
        controls.apply("explode")


def test_prev_wraps_around():
    controls = Controls([Style("a", "a"), Style("b", "b"), Style("c", "c")])
    assert controls.apply("prev").style == 2 and controls.styles[controls.state.style].name == "c"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_headless_chromium_shows_live_colour_frames(tmp_path, tiny_model, make_clip):
    clip = make_clip(tmp_path / "clip.mp4", 150, size=(160, 120), fps=25.0)
    controls = Controls([Style("tiny", "tiny")])
    view = HttpView(controls=controls)
    pipeline = Pipeline(
        open_source(str(clip), realtime=True),
        {"tiny": OrtEngine(tiny_model, threads=1)},
        controls,
        [HttpViewSink(view, overlay=False)],
    )
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    shot = tmp_path / "shot.png"
    try:
        assert view.hub.wait_newer(0, timeout=10)[1] is not None
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=320,240",
            "--timeout=3000",
        ]
        subprocess.run(["chromium", *flags, view.url], capture_output=True, timeout=90, check=True)
    finally:
        pipeline.stop()
        runner.join(10)
        view.stop()
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[2] == 3 and img.std() > 5  # not blank
    chroma = np.abs(img.astype(np.float32) @ CHROMA_FROM_BGR.T).sum(-1)
    assert (chroma > 8).mean() > 0.2  # a large part of the page is coloured: the colorized frame


class LiveSource(Source):
    """A camera stand-in: generated frames at ``fps`` until stopped (a moving bright bar)."""

    live = True

    def __init__(self, fps: float = 25.0) -> None:
        super().__init__("generated")
        self.fps, self._stop = fps, threading.Event()

    def frames(self):
        t0, k = time.perf_counter(), 0
        while not self._stop.is_set():
            img = np.full((120, 160, 3), 40, np.uint8)
            img[20:60, 4 * k % 120 : 4 * k % 120 + 40] = 220
            yield Frame(k, time.perf_counter(), img)
            k += 1
            time.sleep(max(0.0, t0 + k / self.fps - time.perf_counter()))

    def stop(self):
        self._stop.set()


@pytest.fixture
def live_run(tiny_model):
    """A pipeline on a live source feeding a browser view, as ``edgecolor run --serve`` wires it."""
    controls = Controls([Style("tiny", "tiny"), Style("other", "tiny")])
    view = HttpView(controls=controls)
    sink = HttpViewSink(view)
    pipeline = Pipeline(LiveSource(), {"tiny": OrtEngine(tiny_model, threads=1)}, controls, [sink])
    view.status_fn = pipeline.stats.summary
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    yield pipeline, sink
    pipeline.stop()
    runner.join(10)
    sink.view.stop()


def test_status_is_live_while_running(live_run):
    """Issue 10 item 5: /status said seconds 0.0, stopped_by "end of input", frames_per_s null mid-run."""
    pipeline, sink = live_run
    assert sink.view.hub.wait_newer(0, timeout=10)[1] is not None
    time.sleep(0.5)
    first = json.loads(get(sink.view.url + "status")[2])
    time.sleep(0.3)
    second = json.loads(get(sink.view.url + "status")[2])
    assert first["stopped_by"] is None and second["stopped_by"] is None
    assert 0 < first["seconds"] < second["seconds"] and first["frames"] <= second["frames"]
    assert 5 < second["frames_per_s"] < 40 and 5 < second["recent_frames_per_s"] < 40  # the source gives 25
    assert second["controls"]["style"] == "tiny" and second["stream_clients"] == 0
    pipeline.stop()
    deadline = time.monotonic() + 10
    while pipeline.stats.stopped_by is None and time.monotonic() < deadline:
        time.sleep(0.05)
    final = pipeline.stats.summary()
    assert final["stopped_by"] == "stopped" and final["seconds"] >= second["seconds"]


browser = pytest.mark.skipif(not chromium.available(), reason="needs Debian's chromium (make browser)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):  # one browser for the module (each start takes a second); each test opens its page
    browser_ = chromium.Chromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield browser_
    browser_.close()


STATUS = "document.getElementById('status').textContent"


@browser
def test_kiosk_page_shows_live_status_and_reconnects_after_a_server_restart(live_run, page):
    pipeline, sink = live_run
    view = sink.view
    host, port = view.address
    page.open(view.url)
    line = page.wait_for(f"/ [0-9.]+ fps · connected$/.test({STATUS}) && parseFloat({STATUS}.split('·')[3]) > 5"
                         f" && {STATUS}")
    assert line.startswith("tiny · split off · stabilise on · ")  # model, split/stabilise state, fps
    assert float(line.split(" · ")[3].split()[0]) > 5  # live fps (the source gives 25)
    deadline = time.monotonic() + 10
    while view.stream_clients < 1:  # the page has the MJPEG stream open
        assert time.monotonic() < deadline
        time.sleep(0.05)

    view.stop()  # the server goes away (edgecolor restarted by systemd) ...
    page.wait_for(f"{STATUS}.endsWith('reconnecting…')")
    time.sleep(1.5)  # ... for a few of the page's polls
    restarted = HttpView(host, port, controls=pipeline.controls, status=pipeline.stats.summary)
    sink.view = restarted  # ... and comes back on the same port
    page.wait_for(f"{STATUS}.endsWith(' fps · connected')")
    deadline = time.monotonic() + 10
    while restarted.stream_clients < 1:  # the page reopened the stream by itself
        assert time.monotonic() < deadline, "the page did not reopen the stream"
        time.sleep(0.05)
    shot = page.send("Page.captureScreenshot", {"format": "png"})["data"]
    img = cv2.imdecode(np.frombuffer(base64.b64decode(shot), np.uint8), cv2.IMREAD_COLOR)
    chroma = np.abs(img.astype(np.float32) @ CHROMA_FROM_BGR.T).sum(-1)
    assert (chroma > 8).mean() > 0.1  # the colorized frames show again


@browser
def test_page_keys_do_what_the_hint_says(page):
    controls = Controls([Style("a", "a"), Style("b", "b"), Style("c", "c")])
    view = HttpView(controls=controls)
    view.publish(frame(100))
    try:
        page.open(view.url)
        hint = page.wait_for("document.getElementById('keys').textContent")
        assert key_hint() in hint
        table = [(key, action) for keys, action, _ in PAGE_KEYS if action not in ("quit", "fullscreen") for key in keys]
        assert len(table) >= 8
        for key, action in table:
            before = controls.state
            page.key(key)
            deadline = time.monotonic() + 5
            while controls.state.version == before.version:
                assert time.monotonic() < deadline, f"key {key!r} did nothing"
                time.sleep(0.02)
            after = controls.state
            expected = {"next": ("style", (before.style + 1) % 3), "prev": ("style", (before.style - 1) % 3),
                        "split": ("split", not before.split), "stabilize": ("stabilize", not before.stabilize)}
            field, value = expected[action]
            assert getattr(after, field) == value and after.version == before.version + 1, key
    finally:
        view.stop()


@browser
def test_quit_asks_first_and_escape_quits_as_the_hint_says(page):
    controls = Controls([Style("a", "a")])
    view = HttpView(controls=controls)
    view.publish(frame(100))
    try:
        page.open(view.url)
        page.wait_for("document.getElementById('keys').textContent.includes('q/Esc quit')")
        for key, accept in [("q", False), ("Escape", False), ("Escape", True)]:
            page.key(key, wait=False)
            dialog = page.dialog()
            assert dialog is not None and dialog["type"] == "confirm" and "Quit" in dialog["message"], key
            page.answer_dialog(accept)
            if not accept:
                time.sleep(0.3)
                assert not controls.quit_event.is_set(), f"{key} quit without asking"
        assert controls.quit_event.wait(5)
    finally:
        view.stop()


@browser
def test_fullscreen_button(page):
    view = HttpView(controls=Controls([Style("a", "a")]))
    view.publish(frame(100))
    try:
        page.open(view.url)
        page.wait_for("document.getElementById('fullscreen') !== null")
        page.evaluate("document.getElementById('fullscreen').click()", gesture=True)
        page.wait_for("document.fullscreenElement !== null", timeout=5)
        page.evaluate("document.getElementById('fullscreen').click()", gesture=True)
        page.wait_for("document.fullscreenElement === null", timeout=5)
    finally:
        view.stop()


@browser
def test_another_web_page_cannot_control_the_view(page, tmp_path):
    """CSRF in a real browser: a page from another origin POSTs to the view (fetch and a form)."""
    controls = Controls([Style("a", "a"), Style("b", "b")])
    view = HttpView(controls=controls)
    evil = HttpView()  # any other origin: another port on loopback
    try:
        target = view.url + "control/"
        page.open(evil.url + "nowhere")
        page.wait_for("document.readyState === 'complete'")
        page.evaluate(f"""fetch("{target}next", {{method: "POST", mode: "no-cors"}}).catch(() => 0);
            const f = document.createElement("form"); f.method = "POST"; f.action = "{target}quit";
            document.body.appendChild(f); f.submit();""")
        page.wait_for(f"location.href.startsWith('{target}')", timeout=10)  # the form was posted
        time.sleep(0.3)
        assert controls.state.version == 0 and not controls.quit_event.is_set()
        assert "cross-origin" in page.evaluate("document.body.textContent")
    finally:
        view.stop()
        evil.stop()


def test_a_client_behind_gets_the_newer_frame_with_its_own_number():
    """A client holding frame 1 while another already encoded frame 2 gets frame 2 and the number 2 (so it does
    not send frame 2 twice), without another encode."""
    from edgecolor.stream.http_view import FrameHub

    calls = []
    hub = FrameHub(lambda image: calls.append(int(image[0, 0, 0])) or bytes([int(image[0, 0, 0])]))
    hub.publish(frame(1))
    old = (1, hub._image)
    hub.publish(frame(2))
    assert hub.latest() == (2, b"\x02") and calls == [2]
    assert hub._encoded(*old) == (2, b"\x02") and calls == [2]
