"""Source loss (issue 7, item 4): a live stream that disappears is retried with backoff and frames resume
within 2 s of it coming back, in the same pipeline. The "camera" is edgecolor's own MJPEG view on loopback
(OpenCV's FFmpeg reads ``http://127.0.0.1:PORT/stream.mjpg``), stopped and restarted on the same port."""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np
import pytest

from edgecolor.backends.base import Engine
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.http_view import HttpView
from edgecolor.stream.pipeline import Pipeline
from edgecolor.stream.sinks import Sink
from edgecolor.stream.sources import CaptureSource, Reconnect, open_source


class Camera:
    """An MJPEG camera on 127.0.0.1:port that can be unplugged and plugged back in."""

    def __init__(self, port: int) -> None:
        self.port, self.view = port, None
        self._run = threading.Event()
        self._thread = threading.Thread(target=self._publish, daemon=True)

    def start(self) -> None:
        self.view = HttpView(port=self.port)
        self._run.set()
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self) -> None:
        self._run.clear()
        view, self.view = self.view, None
        if view is not None:
            view.stop()

    def _publish(self) -> None:
        k = 0
        while True:
            view = self.view
            if self._run.is_set() and view is not None:
                view.publish(np.full((48, 64, 3), k % 250, np.uint8))
                k += 1
            time.sleep(0.03)


class Recorder(Sink):
    name = "recorder"

    def __init__(self) -> None:
        self.times: list[float] = []

    def write(self, out) -> None:
        self.times.append(time.monotonic())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


class Identity(Engine):
    backend = "identity"

    def _infer_impl(self, batch, extra):
        return batch


def test_stream_comes_back_within_2_s_in_the_same_pipeline():
    cam = Camera(free_port())
    cam.start()
    src = open_source(f"http://127.0.0.1:{cam.port}/stream.mjpg", timeout_s=1.0)
    rec = Recorder()
    pipeline = Pipeline(src, {"id": Identity()}, Controls([Style("id", "id")]), [rec])
    runner = threading.Thread(target=pipeline.run)
    runner.start()
    try:
        assert wait_for(lambda: len(rec.times) >= 10, 10)
        cam.stop()
        down = time.monotonic()
        assert wait_for(lambda: rec.times[-1] < time.monotonic() - 0.5, 3)  # frames really stopped
        time.sleep(max(0.0, down + 2.0 - time.monotonic()))  # stay away long enough to reach max backoff
        cam.start()
        up = time.monotonic()
        assert wait_for(lambda: rec.times[-1] > up, 5), "no frame after the camera came back"
        back = next(t for t in rec.times if t > up) - up
        assert back < 2.0, f"resumed {back:.2f} s after the camera came back"
        assert src.reconnects == 1 and runner.is_alive()
    finally:
        pipeline.stop()
        runner.join(timeout=10)
        cam.stop()
    assert not runner.is_alive()
    print(f"resumed {back:.3f} s after the source came back")


class FakeCapture:
    """cv2.VideoCapture stand-in: delivers ``frames`` frames, then every read fails (the device is gone)."""

    def __init__(self, frames: int, opened: bool = True) -> None:
        self.left, self.opened = frames, opened

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def get(self, prop):
        return 30.0

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        self.opened = False


def test_backoff_doubles_to_its_cap_and_resumes():
    attempts: list[float] = []

    def reopen():
        attempts.append(time.monotonic())
        return FakeCapture(3) if len(attempts) >= 4 else None  # back on the 4th try

    policy = Reconnect(first_delay_s=0.05, max_delay_s=0.2, lost_after_s=0.1)
    src = CaptureSource(FakeCapture(2), "cam", reopen, policy)
    frames = src.frames()
    got = [next(frames) for _ in range(5)]  # 2 before the loss, 3 after
    assert [f.index for f in got] == [0, 1, 2, 3, 4] and src.reconnects == 1
    gaps = np.diff(attempts)
    assert len(gaps) == 3 and gaps[0] >= 0.095 and gaps[1] >= 0.195 and gaps[2] >= 0.195  # 0.1, 0.2, 0.2 (cap)
    assert max(gaps) < 0.2 + 0.3  # slack for a loaded machine, well below an uncapped 0.4
    src.stop()
    assert list(frames) == []  # stopped: the generator ends instead of reconnecting


def test_gives_up_after_max_outage_and_stop_interrupts_the_wait():
    policy = Reconnect(first_delay_s=0.05, max_delay_s=0.05, lost_after_s=0.05, max_outage_s=0.3)
    src = CaptureSource(FakeCapture(1), "cam", lambda: None, policy)
    t = time.monotonic()
    assert len(list(src.frames())) == 1 and 0.3 <= time.monotonic() - t < 2
    src = CaptureSource(FakeCapture(0), "cam", lambda: None, Reconnect(first_delay_s=30))
    threading.Timer(0.3, src.stop).start()
    t = time.monotonic()
    assert list(src.frames()) == [] and time.monotonic() - t < 3


def test_reconnect_can_be_turned_off():
    src = CaptureSource(FakeCapture(1), "cam", lambda: FakeCapture(5), Reconnect(enabled=False, lost_after_s=0.05))
    assert len(list(src.frames())) == 1 and src.reconnects == 0


# --- a camera that comes back at another size (issue 29, item 1) --------------------------------------------
class RebootingCamera:
    """An MJPEG camera on loopback that serves ``before`` frames at the first size once a client watches, drops
    out for a second (an IP camera rebooting) and comes back at the second size (another profile)."""

    def __init__(self, port: int, first: tuple[int, int], second: tuple[int, int], before: int = 15) -> None:
        self.port, self.sizes, self.before = port, (first, second), before
        self.view: HttpView | None = HttpView(port=port)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _publish(self, view: HttpView, size: tuple[int, int], count: int | None) -> None:
        w, h = size
        k = 0
        while not self._done.is_set() and (count is None or k < count):
            view.publish(np.full((h, w, 3), 200, np.uint8))
            k += view.stream_clients > 0  # frames count once someone is watching
            time.sleep(0.03)

    def _serve(self) -> None:
        assert self.view is not None
        self._publish(self.view, self.sizes[0], self.before)
        self.view.stop()
        time.sleep(1.0)
        if not self._done.is_set():
            self.view = HttpView(port=self.port)
            self._publish(self.view, self.sizes[1], None)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        if self.view is not None:
            self.view.stop()


@pytest.mark.parametrize("sink, first, second", [
    ("o.avi", (320, 240), (240, 320)),  # the case: portrait after landscape (MJPEG in AVI)
    ("o.mp4", (320, 240), (640, 480)),  # larger, same shape: scaled down, no bars (mp4v)
    ("o.avi", (160, 120), (320, 180)),  # wider: letterboxed top and bottom
])
def test_a_file_sink_keeps_every_frame_when_the_camera_returns_at_another_size(tmp_path, caplog, sink, first, second):
    from typer.testing import CliRunner

    from edgecolor.cli import app

    from helpers import tiny_colorizer

    model = tiny_colorizer(tmp_path / "tiny.onnx")
    cam = RebootingCamera(free_port(), first, second)
    out = tmp_path / sink
    try:
        res = CliRunner().invoke(app, ["run", "--model", str(model), "--source",
                                       f"http://127.0.0.1:{cam.port}/stream.mjpg", "--sink", str(out),
                                       "--max-frames", "40"])
    finally:
        cam.stop()
    assert res.exit_code == 0, res.output
    assert f"frames changed from {first[0]}x{first[1]} to {second[0]}x{second[1]}" in caplog.text  # said once
    cap = cv2.VideoCapture(str(out))
    frames = []
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    cap.release()
    assert len(frames) == 40 and {f.shape for f in frames} == {(first[1], first[0], 3)}
    last = frames[-1].astype(int)
    scale = min(first[0] / second[0], first[1] / second[1])
    bar_x, bar_y = (first[0] - round(second[0] * scale)) // 2, (first[1] - round(second[1] * scale)) // 2
    h, w = first[1], first[0]
    assert last[h // 2 - 4: h // 2 + 4, w // 2 - 4: w // 2 + 4].mean() > 60  # the picture, scaled
    if bar_x > 4:
        assert last[:, : bar_x - 3].mean() < 12 and last[:, w - bar_x + 3:].mean() < 12  # black bars, shape kept
    if bar_y > 4:
        assert last[: bar_y - 3].mean() < 12 and last[h - bar_y + 3:].mean() < 12
    assert list(tmp_path.glob(".*partial*")) == []
