"""Sources: frame metadata, pacing, broken frames skipped and counted, and one-line errors for bad input."""

import socket
import time

import cv2
import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.stream.sources import (
    CaptureSource,
    csi_pipeline,
    gstreamer_available,
    open_source,
)

from helpers import random_bgr


def test_video_file_frames_carry_index_and_increasing_capture_time(clip):
    src = open_source(str(clip))
    frames = list(src.frames())
    assert [f.index for f in frames] == list(range(12))
    times = [f.captured for f in frames]
    assert times == sorted(times) and times[-1] - times[0] < 5
    assert all(f.image.dtype == np.uint8 and f.image.shape == (48, 64, 3) for f in frames)
    assert not src.live and src.skipped == 0


def test_realtime_paces_a_file_at_its_frame_rate(tmp_path, make_clip):
    src = open_source(str(make_clip(tmp_path / "c.mp4", 6, fps=50.0)), realtime=True)
    assert src.live
    t0 = time.perf_counter()
    frames = list(src.frames())
    assert len(frames) == 6 and time.perf_counter() - t0 >= 5 / 50 * 0.9


def test_broken_frame_mid_stream_is_skipped_and_counted(tmp_path):
    path = tmp_path / "b.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for k in range(8):
        writer.write(random_bgr(24, 32, seed=k))
    writer.release()
    data = bytearray(path.read_bytes())
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    assert len(soi) == 8
    data[soi[3] : soi[3] + 300] = bytes(300)  # frame 3 loses its JPEG header
    path.write_bytes(bytes(data))
    src = open_source(str(path))
    assert [f.index for f in src.frames()] == [0, 1, 2, 4, 5, 6, 7]
    assert src.skipped == 1


def test_image_folder_in_name_order_and_unreadable_image_counted(tmp_path):
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    (tmp_path / "img3.png").write_bytes(b"not a png")
    src = open_source(str(tmp_path))
    frames = list(src.frames())
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 50, 100]
    assert [f.index for f in frames] == [0, 1, 2] and src.skipped == 1


def test_single_image(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), random_bgr(10, 12))
    assert len(list(open_source(str(tmp_path / "one.png")).frames())) == 1


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "spec, match",
    [
        ("camera:97", "camera camera:97 .* cannot be opened"),
        ("/dev/video97", "camera /dev/video97 does not exist"),
        ("missing.mp4", "source missing.mp4 does not exist"),
        ("rtsp://127.0.0.1:{refused}/live", "refused the connection"),
    ],
)
def test_bad_sources_raise_one_line_errors_with_a_remedy(spec, match):
    spec = spec.format(refused=refused_port())  # a port picked when the test runs (test ids stay the same)
    with pytest.raises(InputError, match=match) as err:
        open_source(spec, timeout_s=2)
    assert "\n" not in str(err.value) and str(err.value).count(". ") >= 1


def test_unreadable_video_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match="not a readable video"):
        open_source(str(bad))


def test_csi_needs_gstreamer_and_says_so():
    if gstreamer_available():
        pytest.skip("this OpenCV has GStreamer; the refusal path cannot be exercised")
    with pytest.raises(InputError, match="no GStreamer support"):
        open_source("csi:0")
    assert csi_pipeline(1).startswith("nvarguscamerasrc sensor-id=1 ")


class _FlakyCapture:
    """A cv2.VideoCapture stand-in: reads fail at the given positions, then the device disappears."""

    def __init__(self, fail_at, frames):
        self.fail_at, self.frames, self.n = set(fail_at), frames, 0

    def get(self, prop):
        return 30.0

    def read(self):
        self.n += 1
        if self.n > self.frames:
            return False, None
        return (False, None) if self.n in self.fail_at else (True, np.zeros((4, 4, 3), np.uint8))

    def release(self):
        pass


def test_live_capture_counts_failed_reads_and_ends_when_the_device_is_gone():
    src = CaptureSource(_FlakyCapture({2, 3}, frames=6), "cam")
    frames = list(src.frames())
    assert [f.index for f in frames] == [0, 1, 2, 3] and src.live
    assert src.skipped == 2 + 50  # two glitches, then MAX_READ_FAILURES reads of a gone device
