"""Hostile paths (issue 11): FIFOs and devices where a file is expected, names the file system refuses, link
loops, a full stdout, and scratch folders and half-written engines left behind.

Every refused case exits 2 with exactly one ``error:`` line. A FIFO case that is not refused would block
for ever in ``open()``: each one runs under a watchdog that unblocks the FIFO and fails the test instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from helpers import random_bgr, tiny_colorizer
from style_helpers import tiny_style

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx")


def invoke(args: list, fifos: tuple[Path, ...] = (), timeout_s: float = 30.0) -> tuple[int, list[str], str]:
    """Run the CLI; a call still blocked after ``timeout_s`` (a FIFO opened for reading) fails the test."""
    result: dict = {}

    def target() -> None:
        res = CliRunner().invoke(app, [str(a) for a in args])
        result["res"] = res

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        for fifo in fifos:  # let the blocked open() return so the thread can end
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(10)
        pytest.fail(f"{args[0]} blocked on a FIFO or device instead of refusing it")
    res = result["res"]
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    return res.exit_code, errors, res.output


def _png(path: Path, h: int = 12, w: int = 16) -> Path:
    cv2.imwrite(str(path), random_bgr(h, w))
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero_link(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _folder_with(folder: Path, special: Callable[[Path], Path], name: str) -> Path:
    folder.mkdir()
    for i in range(9):
        _png(folder / f"f{i}.png", 24, 32)
    special(folder / name)
    return folder


# (id, make(tmp, model) -> (args, special paths), piece of the error)
SPECIAL_CASES = [
    ("fifo-image", lambda t, m: (["colorize", _fifo(t / "p.png"), "-o", t / "o.png", "--model", m], [t / "p.png"]),
     "named pipe"),
    ("dev-zero-link-image", lambda t, m: (["colorize", _zero_link(t / "z.png"), "-o", t / "o.png", "--model", m], []),
     "character device"),
    ("fifo-source", lambda t, m: (["run", "--model", m, "--source", _fifo(t / "v.mp4"), "--sink", "null"],
                                  [t / "v.mp4"]), "named pipe"),
    ("dev-zero-link-source", lambda t, m: (["run", "--model", m, "--source", _zero_link(t / "z.jpg"), "--sink",
                                            "null"], []), "character device"),
    ("fifo-in-input-folder", lambda t, m: (["colorize", _folder_with(t / "in", _fifo, "x.png"), "-o", t / "out",
                                            "--model", m], [t / "in" / "x.png"]), "named pipe"),
    ("fifo-in-calib-folder", lambda t, m: (["build", m, "--precision", "int8", "-o", t / "e.onnx", "--no-gate",
                                            "--calib", _folder_with(t / "c", _fifo, "f5x.png")],
                                           [t / "c" / "f5x.png"]),
     "named pipe"),
    ("fifo-in-sheet-folder", lambda t, m: (["stylize", _folder_with(t / "s", _fifo, "f5x.png"), "--sheet",
                                            t / "sheet.png", "--style", tiny_style(t / "st.onnx")],
                                           [t / "s" / "f5x.png"]), "named pipe"),
    ("fifo-adapter-json", lambda t, m: (["build", m, "--precision", "fp32", "-o", t / "e.onnx", "--adapter",
                                         _fifo(t / "spec.json")], [t / "spec.json"]), "named pipe"),
]


@pytest.mark.parametrize("case", SPECIAL_CASES, ids=[c[0] for c in SPECIAL_CASES])
def test_fifos_and_devices_are_refused_with_one_line(case, tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, make, expect = case
    args, fifos = make(tmp_path, model)
    code, errors, text = invoke(args, tuple(fifos))
    assert code == 2 and len(errors) == 1 and expect in errors[0], text


def test_style_image_fifo_is_refused(tmp_path):
    """``train style --style-image`` reads the painting with read_image (the same gate as every image)."""
    from edgecolor.errors import InputError
    from edgecolor.imageio import read_image

    fifo = _fifo(tmp_path / "painting.jpg")
    with pytest.raises(InputError, match="named pipe"):
        read_image(fifo)


LONG = "n" * 300
NAME_CASES = [
    ("long-input", lambda t, m: ["colorize", t / f"{LONG}.png", "-o", t / "o.png", "--model", m]),
    ("long-output", lambda t, m: ["colorize", _png(t / "i.png"), "-o", t / f"{LONG}.png", "--model", m]),
    ("long-output-folder", lambda t, m: ["colorize", _png(t / "i.png"), "-o", t / LONG / "o.png", "--model", m]),
    ("long-model", lambda t, m: ["colorize", _png(t / "i.png"), "-o", t / "o.png", "--model", t / f"{LONG}.onnx"]),
    ("long-source", lambda t, m: ["run", "--model", m, "--source", t / f"{LONG}.mp4", "--sink", "null"]),
    ("long-build-output", lambda t, m: ["build", m, "--precision", "fp32", "-o", t / f"{LONG}.onnx"]),
    ("output-link-loop", lambda t, m: ["colorize", _png(t / "i.png"), "-o", _loop(t) / "o.png", "--model", m]),
    ("output-file-link-loop", lambda t, m: ["colorize", _png(t / "i.png"), "-o", _loop(t), "--model", m]),
]


def _loop(tmp: Path) -> Path:
    (tmp / "la").symlink_to(tmp / "lb")
    (tmp / "lb").symlink_to(tmp / "la")
    return tmp / "la"


@pytest.mark.parametrize("case", NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_impossible_names_are_one_line(case, tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, errors, text = invoke(case[1](tmp_path, model))
    assert code == 2 and len(errors) == 1, text
    assert "Traceback" not in text


def test_a_legal_255_byte_output_name_is_written(tmp_path, model):
    out = tmp_path / ("a" * 251 + ".png")
    code, errors, text = invoke(["colorize", _png(tmp_path / "i.png"), "-o", out, "--model", model])
    assert code == 0 and out.is_file(), text
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_json_to_a_full_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-c", "from edgecolor.cli import main; main()", "models", "--json"],
                             stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2 and len(lines) == 1 and "No space left" in lines[0], res.stderr


# --- scratch folders and half-written engines --------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_scratch_folder_is_removed_when_killed(tmp_path, signum):
    # Ctrl+C as in a terminal: a child of a background job inherits SIGINT ignored, so restore Python's default.
    code = ("import os, signal, time\nfrom edgecolor.tempdirs import work_dir\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "with work_dir('build') as d:\n    print(d, flush=True)\n"
            f"    os.kill(os.getpid(), {int(signum)})\n    time.sleep(30)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)})
    folder = Path(res.stdout.strip())
    assert folder.parent == tmp_path and folder.name.startswith("edgecolor-build-")
    assert res.returncode != 0 and not folder.exists(), res.stderr
    assert list(tmp_path.iterdir()) == []


def test_stale_scratch_folders_of_dead_processes_are_swept(tmp_path):
    from edgecolor.tempdirs import sweep

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"edgecolor-bench-{dead.pid}-abc"
    fresh = tmp_path / f"edgecolor-bench-{dead.pid}-new"
    alive = tmp_path / f"edgecolor-bench-{os.getppid()}-xyz"
    other = tmp_path / f"edgecolor-build-{dead.pid}-abc"
    for folder in (stale, fresh, alive, other):
        folder.mkdir()
        (folder / "clip.mp4").write_bytes(b"x")
    for folder in (stale, alive, other):
        os.utime(folder, (1, 1))
    assert sweep("bench", tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (fresh, alive, other))


def test_no_engine_without_manifest_when_the_manifest_cannot_be_written(tmp_path, model, monkeypatch):
    from edgecolor.backends import manifest as mf
    from edgecolor.builder.pipeline import BuildConfig, build
    from edgecolor.errors import OutputError

    def full_disk(engine, manifest):
        raise OutputError(f"cannot write {engine}.json: No space left on device", "free disk space")

    monkeypatch.setattr(mf, "write", full_disk)
    engine = tmp_path / "out" / "e.onnx"
    with pytest.raises(OutputError):
        build(BuildConfig(model=str(model), precision="fp32", output=engine))
    assert not engine.exists() and [p.name for p in engine.parent.iterdir()] == []


def test_rebuild_if_stale_rebuilds_an_engine_of_another_model(tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tiny_colorizer(tmp_path / "other.onnx", cb=-30.0)
    engine = tmp_path / "e.onnx"
    args = ["build", model, "--precision", "fp32", "-o", engine, "--rebuild-if-stale"]
    assert invoke(args)[0] == 0
    code, _, text = invoke(["build", other, *args[2:]])
    assert code == 0 and "up to date" not in text and "another model" in text, text
    from edgecolor.backends import manifest as mf

    assert mf.read(engine).source_onnx == str(other.resolve())
    code, _, text = invoke(["build", other, *args[2:]])
    assert code == 0 and "up to date" in " ".join(text.split()), text


def test_orphaned_temps_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    """A writer killed mid-write (SIGKILL: no finally) leaves atomic_output's temp file; the job that owns the
    output sweeps exactly those, not a user's file that merely looks alike."""
    import os
    import signal

    from edgecolor.imageio import atomic_output, remove_orphaned_temps

    out = tmp_path / "p00.png"
    pid = os.fork()
    if pid == 0:  # the writer: create the temp file, then die without cleaning up
        with atomic_output(out) as tmp:
            tmp.write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].endswith(".partial.png") and not out.exists()
    keep = [tmp_path / ".p00.notours.partial.png", tmp_path / "p00.partial.png", tmp_path / ".p01.0123abcd.partial.png"]
    for p in keep:
        p.write_bytes(b"user")
    assert remove_orphaned_temps(out) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in keep)
