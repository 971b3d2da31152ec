"""Interrupts lose nothing (issue 28, item 5): ``edgecolor colorize`` of a 60 s video stopped by a real SIGINT or
SIGTERM keeps its finished frames in a hidden work folder (nothing at the output path), says how many in one line
and exits 128 + signal; the same command again completes the output, judged as a user's tools would: PyAV decodes
every frame without an error, the frame count and times are the input's, the audio is kept."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import av.logging
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.jobs.parts import work_folder

from helpers import gray_h264_aac_clip, tiny_colorizer

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 1440  # 60 s at 24 frames/s, 64x48: about 2 s of work


@pytest.fixture(scope="module")
def film(tmp_path_factory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("film")
    return (gray_h264_aac_clip(where / "film.mp4", frames=FRAMES, size=(64, 48), grain=12.0),
            tiny_colorizer(where / "tiny.onnx"))


def _read(path: Path) -> dict:
    """What a player sees: every frame decoded (FFmpeg's error log captured), the frame times, the audio's span."""
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs, av.open(str(path)) as f:
            frames = [(frame.pts, frame.to_ndarray(format="bgr24")) for frame in f.decode(video=0)]
            time_base = f.streams.video[0].time_base
    finally:
        av.logging.set_level(None)
    with av.open(str(path)) as f:
        packets = [p for p in f.demux(f.streams.audio[0]) if p.size]
    audio = float((packets[-1].pts + packets[-1].duration - packets[0].pts) * packets[0].time_base)
    return {"errors": [m for level, _, m in logs if level <= av.logging.ERROR],
            "times": [float(pts * time_base) for pts, _ in frames], "pixels": [p for _, p in frames], "audio": audio}


def _size(path: Path) -> int:
    """A partial file's size, 0 once it is gone (the job renames each partial file when it is complete)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _interrupt(film: Path, model: Path, out: Path, signum: int, args: list[str]) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-c", "from edgecolor.cli import main; main()", "colorize", str(film),
                             "-o", str(out), "--model", str(model), "--threads", "1", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    # Signalled once the first part's file has frames in it (its first 32 kB written: some frames of grain), so
    # mid-part; a real user's Ctrl+C lands anywhere.
    while not any(_size(p) > 4096 for p in work_folder(out).glob(".*partial*")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stdout + stderr


@pytest.mark.parametrize("signum, name, args", [
    (signal.SIGINT, "out.mp4", []),  # the default: H.264 + AAC in MP4
    (signal.SIGTERM, "out.mkv", ["--codec", "ffv1"]),  # lossless: the rerun's frames are the uninterrupted run's
])
def test_an_interrupted_video_is_completed_by_the_rerun(tmp_path, film, signum, name, args):
    clip, model = film
    out = tmp_path / name
    code, said = _interrupt(clip, model, out, signum, args)
    lines = said.strip().splitlines()
    assert code == 128 + signum and len(lines) == 1, said
    m = re.fullmatch(rf"interrupted by {signal.Signals(signum).name}: 0 of 1 output done; {re.escape(str(out))}: "
                     rf"(\d+) of {FRAMES} frames done, kept in \.{re.escape(name)}\.parts/ beside it\. Run the same "
                     r"command again to write the rest\.", lines[0])
    assert m, lines[0]
    done = int(m.group(1))
    assert 0 < done < FRAMES
    assert not out.exists() and not list(tmp_path.glob(f".{out.stem}*partial*"))  # nothing at the output path
    kept = sorted(p.name for p in work_folder(out).iterdir())
    assert f"000000000-{done:09d}{out.suffix}" in kept and "plan.json" in kept

    again = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(out), "--model", str(model), "--threads", "1",
                                     "--json", *args])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["outputs"][0]["frames"] == FRAMES and summary["outputs"][0]["resumed_frames"] == done
    assert not work_folder(out).exists()
    got, source = _read(out), _read(clip)
    assert got["errors"] == [] and len(got["pixels"]) == FRAMES
    # MKV keeps milliseconds, MP4 the input's ticks; Matroska starts every stream 23 ms late when the AAC track
    # starts 1024 samples early (its encoder's priming), as a video written in one piece does
    shift = got["times"][0] if out.suffix == ".mkv" else 0.0
    assert np.allclose(np.array(got["times"]) - shift, source["times"], atol=0.001)
    assert abs(got["audio"] - source["audio"]) <= 0.2
    if out.suffix == ".mkv":  # lossless: the frames are exactly those of a run never interrupted
        whole = tmp_path / "whole.mkv"
        res = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(whole), "--model", str(model), "--threads",
                                       "1", *args])
        assert res.exit_code == 0, res.output
        assert all(np.array_equal(a, b) for a, b in zip(_read(whole)["pixels"], got["pixels"], strict=True))


def test_a_rerun_with_other_settings_does_not_reuse_the_parts(tmp_path, film):
    clip, model = film
    out = tmp_path / "out.mp4"
    code, said = _interrupt(clip, model, out, signal.SIGINT, [])
    assert code == 130, said
    again = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(out), "--model", str(model), "--threads", "1",
                                     "--colour-strength", "0.5", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["outputs"][0]["resumed_frames"] == 0
