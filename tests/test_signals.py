"""Interrupts speak (issue 29, item 5): SIGINT/SIGTERM during a job print one line (what was kept, what was removed,
how many of how many were done) and exit 128 + the signal; a second signal during the cleanup is absorbed.

Each case runs the ``edgecolor`` executable's entry point in a subprocess with the shipped colorizer, waits until
the job is under way (an output, or the video's temporary file, exists), then sends the signal. A "burst" keeps
sending it every 5 ms until the process ends, so a second (and tenth) Ctrl+C lands during the cleanup.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecolor import signals
from edgecolor.jobs.record import RECORD, load_record

from helpers import write_clip

ROOT = Path(__file__).resolve().parents[1]


def _start(args: list, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # As from a terminal: a child of a background job inherits SIGINT ignored (taken anyway; see edgecolor.signals).
    return subprocess.Popen([sys.executable, "-c", "from edgecolor.cli import main; main()", *map(str, args)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt(proc: subprocess.Popen, ready: Callable[[], bool], signum: int, burst: bool) -> tuple[int, str]:
    """Send ``signum`` once ``ready()`` (or every 5 ms until the process ends, with ``burst``); return the exit
    status and stderr."""
    end = time.monotonic() + 120
    while not ready():
        assert proc.poll() is None, f"ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < end, "the job never started"
        time.sleep(0.005)
    proc.send_signal(signum)
    while burst and proc.poll() is None:
        time.sleep(0.005)
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if "partial" in p.name]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """40 photos, each about 25 ms for the shipped colorizer on one thread."""
    folder = tmp_path_factory.mktemp("photos")
    for k in range(40):
        cv2.imwrite(str(folder / f"p{k:02d}.png"), np.random.default_rng(k).integers(0, 256, (240, 320, 3), np.uint8))
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.avi", 600, size=(320, 240))


FOLDER_LINE = re.compile(r"interrupted by (SIG\w+): (\d+) of 40 outputs done and kept \(out/p00\.png(?:, | \.\.\. )"
                         r"out/p(\d\d)\.png\); (\d+) not started\. Run the same command again to write all 40\.")
VIDEO_LINE = re.compile(r"interrupted by (SIG\w+): 0 of 1 output done; removed the unfinished out/o\.avi \((\d+) of "
                        r"600 frames written\)\. Run the same command again to write it\.")


@pytest.mark.parametrize("verb, signum, burst", [
    ("colorize", signal.SIGINT, False),
    ("colorize", signal.SIGINT, True),  # Ctrl+C held down: the cleanup still finishes and the line is printed
    ("colorize", signal.SIGTERM, False),  # kill, systemd stopping a kiosk
    ("stylize", signal.SIGINT, True),
])
def test_a_folder_job_says_which_outputs_it_kept(folder, tmp_path, verb, signum, burst):
    out = tmp_path / "out"
    style = ["--style", "starry-night"] if verb == "stylize" else []
    proc = _start([verb, folder, "-o", "out", "--threads", "1", *style], tmp_path)
    code, err = _interrupt(proc, lambda: len(list(out.glob("p*.png"))) >= 2, signum, burst)
    lines = err.strip().splitlines()
    assert code == 128 + signum and len(lines) == 1, err
    m = FOLDER_LINE.fullmatch(lines[0])
    assert m, lines[0]
    done, last, left = int(m[2]), int(m[3]), int(m[4])
    assert m[1] == signal.Signals(signum).name and 2 <= done < 40 and done + left == 40 and last == done - 1
    kept = sorted(p.name for p in out.iterdir() if p.name != RECORD)
    assert kept == [f"p{k:02d}.png" for k in range(done)]  # kept: the ones said
    assert sorted(load_record(out)) == kept  # and recorded complete: a rerun resumes after them


@pytest.mark.parametrize("signum, burst", [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, True)])
def test_a_video_job_removes_its_unfinished_output_and_says_so(clip, tmp_path, signum, burst):
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["colorize", clip, "-o", "out/o.avi", "--threads", "1"], tmp_path)
    code, err = _interrupt(proc, lambda: bool(_partials(out)), signum, burst)
    lines = err.strip().splitlines()
    assert code == 128 + signum and len(lines) == 1, err
    m = VIDEO_LINE.fullmatch(lines[0])
    assert m and m[1] == signal.Signals(signum).name and int(m[2]) < 600, lines[0]
    assert list(out.iterdir()) == []  # neither the video nor its temporary file


def test_a_command_without_its_own_stop_says_it_was_interrupted_and_cleans_up(tmp_path):
    """``build`` (no per-frame stop): the CLI's handler raises, ``finally`` blocks remove the scratch folder and
    the staged engine; a burst of SIGTERM cannot cut that short."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = _start(["build", "colorizer", "--precision", "int8", "-o", "e/c.onnx"], tmp_path,
                  {"TMPDIR": str(scratch)})
    code, err = _interrupt(proc, lambda: any(scratch.glob("edgecolor-build-*")), signal.SIGTERM, True)
    assert code == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == ("interrupted by SIGTERM: 'edgecolor build' stopped before it finished. "
                                             "Run it again to finish."), err
    assert "Traceback" not in err and list(scratch.glob("edgecolor-*")) == []
    assert not (tmp_path / "e").exists() or list((tmp_path / "e").iterdir()) == []


def test_later_interrupts_are_absorbed_until_the_outermost_block_ends():
    """The rule both ways of taking an interrupt share, in this process (Python's own SIGINT handler comes back)."""
    before = signal.getsignal(signal.SIGINT)
    with signals.raising():
        with signals.stopping() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        assert stop and stop.name == "SIGINT" and stop.count == 2 and stop.exit_code == 130
        for signum in (signal.SIGINT, signal.SIGTERM):  # taken already: absorbed by the outer block, not raised
            os.kill(os.getpid(), signum)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(signals.Interrupted) as first, signals.raising():  # a fresh block raises again
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    assert first.value.name == "SIGTERM" and first.value.exit_code == 143


def test_sighup_stays_ignored_under_nohup_and_sigint_is_taken_even_if_ignored():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGHUP)}
    try:
        for s in before:
            signal.signal(s, signal.SIG_IGN)
        with signals.raising():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # nohup: outlive the terminal
            assert callable(signal.getsignal(signal.SIGINT))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_run_in_a_background_job_still_stops_on_sigint(clip, tmp_path):
    """A shell starts background jobs with SIGINT ignored; ``kill -INT`` still stops ``run`` cleanly, its summary
    printed (``benchmarks/soak_live.py`` ends its run so)."""
    proc = subprocess.Popen([sys.executable, "-c", "from edgecolor.cli import main; main()", "run", "--source",
                             str(clip), "--sink", "null", "--loop"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.stderr is not None
    started = proc.stderr.readline()  # "SOURCE -> null on BACKEND (Ctrl+C stops)": the pipeline is about to run
    assert "Ctrl+C stops" in started, started + proc.communicate()[1]
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped by SIGINT" in err, started + err


def test_an_interrupt_as_a_scratch_folder_or_an_output_is_made_still_removes_it(tmp_path, monkeypatch):
    """The moment the process test above aims at by chance, made certain: the signal lands just after the folder
    (or the output's temporary file) exists, before its ``finally`` could know it. It is raised once the thing is
    owned, and the thing is removed."""
    import tempfile

    from edgecolor import imageio, tempdirs

    made, real_mkdtemp, real_open = [], tempfile.mkdtemp, os.open

    def mkdtemp(*args, **kw):
        made.append(path := real_mkdtemp(*args, **kw))
        os.kill(os.getpid(), signal.SIGTERM)
        return path

    def open_then_signal(path, *args, **kw):
        fd = real_open(path, *args, **kw)
        if ".partial" in str(path):
            made.append(path)
            os.kill(os.getpid(), signal.SIGTERM)
        return fd

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(os, "open", open_then_signal)
    for make in (lambda: tempdirs.work_dir("build"), lambda: imageio.atomic_output(tmp_path / "out" / "o.png")):
        with pytest.raises(signals.Interrupted) as got, signals.raising(), make():
            time.sleep(1)  # never reached: the signal is raised as the block opens
        assert got.value.name == "SIGTERM"
    assert len(made) == 2 and not any(map(os.path.exists, made)), made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and list((tmp_path / "out").iterdir()) == []
