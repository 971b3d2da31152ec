"""Browser view: page, MJPEG stream, snapshot, control endpoints, keys; and a real headless Chromium."""

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import CHROMA_FROM_BGR
from edgecolor.stream.controls import KEYS, Controls, Style
from edgecolor.stream.http_view import BOUNDARY, HttpView
from edgecolor.stream.pipeline import Pipeline
from edgecolor.stream.sinks import HttpViewSink
from edgecolor.stream.sources import open_source


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
    assert controls.apply("prev").style == 2 and controls.style.name == "c"


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
