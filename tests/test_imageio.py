"""The video writer (issue 29, item 1 and its misleading remedy): frames of another size are kept, scaled to the
first size; a file that ends short names the real cause (its folder removed, a full disk); a live recording keeps
the frames that play back."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.imageio import VideoWriter, letterbox

from helpers import random_bgr, tiny_colorizer, tmpfs, write_clip

ROOT = Path(__file__).resolve().parents[1]


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    return frames


@pytest.mark.parametrize("size, picture", [  # (w, h) of the frame written into a 40x30 file; its picture's box
    ((40, 30), (0, 0, 40, 30)),
    ((80, 60), (0, 0, 40, 30)),  # same shape, larger: scaled down, no bars
    ((30, 40), (9, 0, 31, 30)),  # portrait: bars left and right (22.5 px wide picture, rounded to 22)
    ((80, 20), (0, 10, 40, 20)),  # wider: bars above and below
])
def test_letterbox_keeps_the_shape_on_black(size, picture):
    out = letterbox(np.full((size[1], size[0], 3), 200, np.uint8), 40, 30)
    x0, y0, x1, y1 = picture
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    assert (out[y0:y1, x0:x1] == 200).all() and out.sum() == 200 * 3 * (x1 - x0) * (y1 - y0)


def test_frames_of_another_size_are_written_scaled_not_dropped(tmp_path, caplog):
    writer = VideoWriter(tmp_path / "o.avi", 10)
    sizes = [(64, 48)] * 3 + [(48, 64)] * 3 + [(128, 96)] * 2 + [(48, 64)]
    for k, (w, h) in enumerate(sizes):
        writer.write(random_bgr(h, w, k))
    writer.close()
    frames = _frames(tmp_path / "o.avi")
    assert len(frames) == 9 and {f.shape for f in frames} == {(48, 64, 3)} and writer.rescaled == 6
    assert caplog.text.count("frames changed from 64x48") == 2  # once per new size, not per frame


# --- the real cause when a video ends short --------------------------------------------------------------------
def _start(args: list, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from edgecolor.cli import main; main()", *map(str, args)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_an_output_folder_removed_mid_video_is_named_not_blamed_on_disk_space(tmp_path):
    clip = write_clip(tmp_path / "clip.avi", 120, size=(320, 240))
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["colorize", clip, "-o", "out/o.mp4", "--threads", "1"], tmp_path)
    end = time.monotonic() + 120
    while not any(out.rglob(".*partial*")):  # in the output's work folder (.o.mp4.parts/), part by part
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.005)
    time.sleep(0.3)  # some frames written
    shutil.rmtree(out)
    _, err = proc.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: cannot write out/o.mp4: the video is incomplete (0 of 120 frames): its folder "
                               "out was removed while it was written. Keep the output folder until the command "
                               "ends, or choose another output location."), err
    assert "disk" not in lines[0] and not out.exists()



@pytest.mark.parametrize("sink, kept", [("r.avi", True), ("r.mp4", False)])  # an MP4 without its index plays nothing
def test_a_recording_cut_short_by_a_full_disk_keeps_what_plays(tmp_path, sink, kept):
    """``run`` records live sources, which cannot be recorded again: the frames that play back are kept (the
    file is renamed into place), and the one line says how many and why."""
    clip = write_clip(tmp_path / "noise.avi", 100, size=(320, 240))  # random frames: about 60 kB each
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    with tmpfs(tmp_path / "full", "size=256k") as full:
        res = CliRunner().invoke(app, ["run", "--model", str(model), "--source", str(clip), "--sink",
                                       str(full / sink)])
        left = sorted(p.name for p in full.iterdir())
        playable = len(_frames(full / sink)) if left else 0
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1, res.output
    assert "the disk is nearly full (only" in errors[0] and errors[0].endswith(
        "Free disk space or choose another output location."), errors
    if kept:
        assert left == [sink] and 0 < playable < 100
        assert f"{full / sink} keeps only its first {playable} of 100 frames" in errors[0], errors
    else:
        assert left == [] and "the video is incomplete (0 of 100 frames)" in errors[0], errors
