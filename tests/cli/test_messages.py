"""Messages that said the wrong thing (issue 11, "one line means one line"): each case names its real cause.

A 90,000-frames/s input was told "use an .mp4 or .avi output"; a writer refusing tiny frames was told to
free disk space; a full disk during a build was blamed on the model's opset; ``-o /dev/full`` was told
"several outputs need a folder" for one output.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import OutputError
from edgecolor.imageio import VideoWriter

from helpers import random_bgr, tiny_colorizer


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def _avi_claiming_fps(path: Path, fps: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for k in range(4):
        writer.write(random_bgr(24, 32, k))
    writer.release()
    data = bytearray(path.read_bytes())
    strh = data.index(b"strh") + 8
    data[strh + 20: strh + 28] = struct.pack("<II", 1, fps)  # dwScale, dwRate
    avih = data.index(b"avih") + 8
    data[avih: avih + 4] = struct.pack("<I", max(1, 1_000_000 // fps))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("fps, size, says, not_says", [
    (90000.0, (32, 24), "at 90000 frames/s (the input's frame rate)", "use an .mp4 or .avi"),
    (0.0, (32, 24), "at 0 frames/s", "free disk space"),
    (25.0, (1, 1), "1x1 frames", "free disk space"),  # odd sizes: the .mp4 codec needs even sides
    (25.0, (1, 40), "needs an even width and height", "free disk space"),
])
def test_a_refused_video_writer_says_why(fps, size, says, not_says, tmp_path):
    writer = VideoWriter(tmp_path / "o.mp4", fps)
    with pytest.raises(OutputError) as err:
        writer.write(np.zeros((size[1], size[0], 3), np.uint8))
    assert says in str(err.value) and not_says not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the temporary file is gone


@pytest.mark.parametrize("command", ["colorize", "run"])
def test_a_90000_fps_input_is_written_at_a_playable_rate(command, tmp_path):
    # A header rate over 1000 frames/s is junk: the reader takes 25 (VideoReader), so the output plays
    # instead of failing with a message that blamed the container.
    src = _avi_claiming_fps(tmp_path / "f.avi", 90000)
    model = tiny_colorizer(tmp_path / "t.onnx")
    out = tmp_path / "out" / "o.mp4"
    args = ["colorize", src, "-o", out] if command == "colorize" else ["run", "--source", src, "--sink", out]
    res = invoke(*args, "--model", model)
    assert res.exit_code == 0, res.output
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0) and cap.get(cv2.CAP_PROP_FRAME_COUNT) == 4
    cap.release()


def test_a_full_disk_during_build_is_not_blamed_on_the_model(tmp_path, monkeypatch):
    import onnxruntime as ort

    real = ort.InferenceSession

    def session(path, opts=None, **kw):
        if opts is not None and opts.optimized_model_filepath:
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Failed to write the optimized model: "
                               "No space left on device")
        return real(path, opts, **kw)

    monkeypatch.setattr(ort, "InferenceSession", session)
    monkeypatch.chdir(tmp_path)
    res = invoke("build", tiny_colorizer(tmp_path / "t.onnx"), "--precision", "fp32", "-o", tmp_path / "e" / "e.onnx")
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1, res.output
    assert "cannot write" in errors[0] and "No space left" in errors[0] and "opset" not in errors[0]
    assert not list((tmp_path / "e").glob("*"))  # no engine, no partial file


def test_a_broken_graph_is_still_blamed_on_the_model(tmp_path, monkeypatch):
    import onnxruntime as ort

    real = ort.InferenceSession

    def session(path, opts=None, **kw):
        if isinstance(path, bytes):  # the frame model the build probes before its work: it loads
            return real(path, opts, **kw)
        raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH : bad node")

    monkeypatch.setattr(ort, "InferenceSession", session)
    monkeypatch.chdir(tmp_path)
    res = invoke("build", tiny_colorizer(tmp_path / "t.onnx"), "--precision", "fp32", "-o", tmp_path / "e.onnx")
    assert res.exit_code == 2 and "cannot load the fp32 graph" in res.output and "opset" in res.output


@pytest.mark.parametrize("inputs, output, says", [
    (1, "/dev/full", "is a device or a pipe, not a file or a folder"),
    (1, "existing", "is an existing file without an image or video extension"),
    (2, "existing", "is a file, but 2 outputs need a folder"),
])
def test_an_output_that_is_not_a_folder_says_what_it_is(inputs, output, says, tmp_path):
    if output == "/dev/full" and not Path(output).exists():
        pytest.skip("no /dev/full here")
    srcs = [tmp_path / f"i{k}.png" for k in range(inputs)]
    for k, src in enumerate(srcs):
        cv2.imwrite(str(src), random_bgr(8, 8, k))
    out = Path(output) if output.startswith("/") else tmp_path / output
    if not output.startswith("/"):
        out.write_bytes(b"keep")
    res = invoke("colorize", *srcs, "-o", out, "--model", tiny_colorizer(tmp_path / "t.onnx"))
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1 and says in errors[0], res.output
