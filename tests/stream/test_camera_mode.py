"""``run --input-width/--input-height/--input-rate/--input-codec``: what a V4L2 capture is asked (a stand-in capture
records it), what a CSI camera's GStreamer pipeline says, and one-line refusals for sources without a mode."""

import json
import logging

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import InputError
from edgecolor.stream import sources
from edgecolor.stream.camera_mode import CameraMode, csi_pipeline, fourcc_code, fourcc_text


class RecordingCapture:
    """A cv2.VideoCapture stand-in: records how it was opened and every property set, then reads frames of the
    size it was set to (a driver that takes any mode) or keeps ``fixed`` (one that only has that mode)."""

    made: list["RecordingCapture"] = []
    fixed: dict[int, float] = {}

    def __init__(self, target, api, *rest):
        self.target, self.api, self.sets = target, api, []
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: 64.0, cv2.CAP_PROP_FRAME_HEIGHT: 48.0, cv2.CAP_PROP_FPS: 30.0,
                      cv2.CAP_PROP_FOURCC: float(fourcc_code("YUYV"))}
        RecordingCapture.made.append(self)

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.sets.append((prop, value))
        if prop not in self.fixed:
            self.props[prop] = float(value)
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def read(self):
        h, w = int(self.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(self.get(cv2.CAP_PROP_FRAME_WIDTH))
        return True, np.full((h, w, 3), 90, np.uint8)

    def release(self):
        pass


@pytest.fixture
def capture(monkeypatch):
    RecordingCapture.made, RecordingCapture.fixed = [], {}
    monkeypatch.setattr(cv2, "VideoCapture", RecordingCapture)
    monkeypatch.setattr(sources, "gstreamer_available", lambda: True)
    return RecordingCapture


def run(*args):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def summary(res):
    return json.loads(res.stdout[res.stdout.index("{"):])


def test_a_v4l2_camera_is_asked_for_format_then_size_then_rate_before_its_first_read(capture, tiny_model, tmp_path):
    out = tmp_path / "frames/"
    res = run("--model", tiny_model, "--source", "camera:0", "--input-width", 320, "--input-height", 240,
              "--input-rate", 15, "--input-codec", "mjpeg", "--sink", f"{out}/", "--max-frames", 2, "--json")
    assert res.exit_code == 0, res.output
    (cap,) = capture.made
    assert (cap.target, cap.api) == (0, cv2.CAP_V4L2)
    assert cap.sets == [(cv2.CAP_PROP_FOURCC, fourcc_code("MJPG")), (cv2.CAP_PROP_FRAME_WIDTH, 320),
                        (cv2.CAP_PROP_FRAME_HEIGHT, 240), (cv2.CAP_PROP_FPS, 15.0)]
    assert summary(res)["frames"] == 2 and cv2.imread(str(next(out.iterdir()))).shape == (240, 320, 3)


@pytest.mark.parametrize("codec, fourcc", [("mjpeg", "MJPG"), ("yuyv", "YUYV"), ("h264", "H264")])
def test_each_codec_is_its_fourcc(codec, fourcc, capture):
    sources.open_source("camera:3", camera=CameraMode(codec=codec)).close()
    assert capture.made[0].sets == [(cv2.CAP_PROP_FOURCC, fourcc_code(fourcc))]
    assert fourcc_text(fourcc_code(fourcc)) == fourcc == cv2.VideoWriter.fourcc(*fourcc).to_bytes(4, "little").decode()


def test_without_options_the_camera_keeps_its_drivers_mode(capture):
    sources.open_source("camera:0").close()
    assert capture.made[0].sets == []


def test_a_mode_the_driver_does_not_have_is_said_in_a_warning(capture, caplog):
    capture.fixed = {cv2.CAP_PROP_FRAME_WIDTH: 0, cv2.CAP_PROP_FRAME_HEIGHT: 0}  # stays at 64x48
    with caplog.at_level(logging.WARNING, logger="edgecolor.stream.sources"):
        sources.open_source("camera:0", camera=CameraMode(1920, 1080, 30.0)).close()
    assert "delivers 64x48 (asked 1920x1080)" in caplog.text and "frames/s" not in caplog.text


def test_a_reconnected_camera_is_asked_again(capture):
    src = sources.open_source("camera:0", camera=CameraMode(320, 240))
    src._reopen()
    assert len(capture.made) == 2 and capture.made[1].sets == capture.made[0].sets != []
    src.close()


def test_a_csi_camera_gets_the_mode_in_its_gstreamer_caps(capture, tiny_model):
    res = run("--model", tiny_model, "--source", "csi://1", "--input-width", 1920, "--input-height", 1080,
              "--input-rate", 29.97, "--sink", "null", "--max-frames", 1, "--json")
    assert res.exit_code == 0, res.output
    (cap,) = capture.made
    assert cap.api == cv2.CAP_GSTREAMER and cap.sets == []
    assert cap.target == csi_pipeline(1, 1920, 1080, 29.97)
    assert "sensor-id=1 ! video/x-raw(memory:NVMM),width=1920,height=1080,framerate=2997/100 ! " in cap.target


def test_a_csi_camera_without_options_keeps_1280x720_at_30(capture):
    sources.open_source("csi:0").close()
    assert "width=1280,height=720,framerate=30/1 !" in capture.made[0].target


@pytest.mark.parametrize("source, args, match", [
    ("{clip}", ["--input-width", 640, "--input-height", 480], "--input-width, --input-height set a camera's capture "
                                                              "mode, but {clip} is not a camera"),
    ("http://127.0.0.1:9/cam.mjpg", ["--input-rate", 30], "--input-rate set a camera's capture mode, but "
                                                         "http://127.0.0.1:9/cam.mjpg is not a camera"),
    ("csi:0", ["--input-codec", "mjpeg"], "--input-codec picks a V4L2 camera's format, but csi:0 is a CSI camera"),
    ("camera:0", ["--input-width", 640], "--input-width and --input-height set a frame size together"),
    ("camera:0", ["--input-rate", 0], "--input-rate 0.0 is out of range"),
])
def test_options_that_do_not_apply_are_refused_in_one_line(source, args, match, capture, tiny_model, clip):
    res = run("--model", tiny_model, "--source", source.format(clip=clip), *args, "--sink", "null")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and match.format(clip=clip) in lines[0], res.output
    assert capture.made == []  # refused before any device was opened


def test_the_mode_dataclass_refuses_half_a_size():
    with pytest.raises(InputError, match="together"):
        CameraMode(height=480)
