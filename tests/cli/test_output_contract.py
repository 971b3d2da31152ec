"""The commands a user types, on frame models that break the output contract or were made for another task:
one ``error:`` line (what the model returned and what it must return; what the model is and what the command
needs), exit 2, and nothing written."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.registry import shipped_models

from helpers import BAD_OUTPUTS, bad_output_model, random_bgr, tiny_colorizer, write_clip
from style_helpers import tiny_style

RETURNED = {  # what the error says each model returned for the loader's 37x53 probe frame
    "half": "returned uint8 [1, 19, 27, 3] for a uint8 [1, 37, 53, 3] frame",
    "one-px-less": "returned uint8 [1, 37, 52, 3] for a uint8 [1, 37, 53, 3] frame",
    "transposed": "returned uint8 [1, 53, 37, 3] for a uint8 [1, 37, 53, 3] frame",
    "padded": "returned uint8 [1, 39, 55, 3] for a uint8 [1, 37, 53, 3] frame",
    "nchw": "returned uint8 [1, 3, 37, 53] for a uint8 [1, 37, 53, 3] frame",
    # declared in the graph, so the static contract refuses it before it runs (as it did before the probe)
    "float32": "its output frame_out is float32 [N, H, W, 3]",
}
MUST = {kind: "must return uint8 [1, 37, 53, 3]" for kind in RETURNED} | {"float32": "must be uint8 [N, H, W, 3]"}
PROBED = [kind for kind in BAD_OUTPUTS if kind != "float32"]

COMMANDS = {  # command -> (the task its model is made for, its arguments on model m in folder t)
    "colorize": ("colorize", lambda t, m: ["colorize", t / "a.png", "-o", t / "out.png", "--model", m]),
    "stylize": ("stylize", lambda t, m: ["stylize", t / "a.png", "-o", t / "out.png", "--style", m]),
    "run": ("colorize", lambda t, m: ["run", "--model", m, "--sink", "null", "--source", t / "clip.avi"]),
    "bench": ("colorize", lambda t, m: ["bench", m, "--resolutions", "32x24", "--iterations", "2", "--warmup", "0"]),
    "build": ("colorize", lambda t, m: ["build", m, "--precision", "fp32", "--threads", "1", "-o", t / "e.onnx"]),
}


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def the_one_error(res) -> str:
    """The one line a refused command prints (stderr), after checking it is the only one and exit 2."""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (res.exit_code, res.output)
    return lines[0]


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # build and bench write nothing else, but relative to here if they did
    cv2.imwrite(str(tmp_path / "a.png"), random_bgr(24, 32))
    write_clip(tmp_path / "clip.avi", 3)
    return tmp_path


@pytest.mark.parametrize("kind", PROBED)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_output_is_one_line_in_every_command(command, kind, folder):
    check_refused(command, kind, folder)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_declared_float_output_is_one_line_in_every_command(command, folder):
    """Not the probe's: the graph says float32, and the static contract refuses it before a frame runs."""
    check_refused(command, "float32", folder)


def check_refused(command: str, kind: str, folder: Path) -> None:
    task, args = COMMANDS[command]
    model = bad_output_model(folder / f"{kind}.onnx", kind, task)
    before = files_in(folder)
    error = the_one_error(invoke(*args(folder, model)))
    assert f"{kind}.onnx" in error and RETURNED[kind] in error and MUST[kind] in error
    assert files_in(folder) == before  # no output, no engine, no manifest


@pytest.mark.parametrize("command", ["colorize", "stylize"])
def test_a_folder_job_fails_before_writing_anything(command, folder):
    """The model is right on the first two photos' even size and wrong on the third's odd one: the probe at open
    refuses it before the first output is written."""
    task, args = COMMANDS[command]
    photos = folder / "in"
    photos.mkdir()
    for name, (h, w) in {"a.png": (36, 52), "b.png": (36, 52), "c.png": (37, 53)}.items():
        cv2.imwrite(str(photos / name), random_bgr(h, w))
    model = bad_output_model(folder / "odd-only.onnx", "odd-only", task)
    cmd = [a if a != folder / "a.png" else photos for a in args(folder, model)]
    cmd[cmd.index(folder / "out.png")] = folder / "out"
    error = the_one_error(invoke(*cmd))
    assert "odd-only.onnx returned uint8 [1, 38, 54, 3] for a uint8 [1, 37, 53, 3] frame" in error
    assert not (folder / "out").exists()


def test_a_ray_job_fails_before_ray_starts(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray must not even be imported for a model that cannot run
    model = bad_output_model(folder / "half.onnx", "half")
    error = the_one_error(invoke("colorize", folder / "a.png", "-o", folder / "out.png", "--model", model,
                                 "--on", "ray"))
    assert RETURNED["half"] in error and "ray" not in error


def test_a_build_is_refused_before_its_slow_work(folder):
    """INT8 reads calibration frames and runs the gate: the output contract is checked before either (the folder
    named for calibration does not exist, and that is not what the build says)."""
    model = bad_output_model(folder / "half.onnx", "half")
    error = the_one_error(invoke("build", model, "--precision", "int8", "--calib", folder / "no-such-folder",
                                 "--threads", "1", "-o", folder / "e.onnx"))
    assert RETURNED["half"] in error and "no-such-folder" not in error
    assert not (folder / "e.onnx").exists()


def test_a_model_that_cannot_run_an_odd_frame_is_one_line(folder):
    model = bad_output_model(folder / "even.onnx", "even-only")
    error = the_one_error(invoke("colorize", folder / "a.png", "-o", folder / "out.png", "--model", model))
    assert "even.onnx cannot run a 37x53 frame" in error and "must run frames of any size" in error


# --- the task: colorize refuses a style, stylize a colorizer, by shipped name, path or built engine -------------
def _engine_copied_over(folder: Path, model: Path, over: Path) -> Path:
    """``model`` built into a CPU engine, then copied with its manifest over an engine built from ``over``: a
    valid engine (its manifest matches it) whose file name says the other task."""
    built = {}
    for name, src in (("real", model), ("named", over)):
        engine = folder / "engines" / f"{name}-{src.stem}.onnx"
        res = invoke("build", src, "--precision", "fp32", "--threads", "1", "-o", engine)
        assert res.exit_code == 0, res.output
        built[name] = engine
    for suffix in ("", ".json"):
        shutil.copyfile(f"{built['real']}{suffix}", f"{built['named']}{suffix}")
    return built["named"]


NEEDS_SHIPPED = pytest.mark.skipif(not {"colorizer", "style-starry-night"} <= set(shipped_models()),
                                   reason="the shipped colorizer and starry-night are not in edgecolor/assets")


@pytest.mark.parametrize("how", [pytest.param("name", marks=NEEDS_SHIPPED), "path", "engine"])
def test_colorize_refuses_a_style(how, folder):
    style = tiny_style(folder / "style-tiny.onnx", net_size=16)
    model: object = {"name": "starry-night", "path": style}.get(how)
    if how == "engine":
        model = _engine_copied_over(folder, style, tiny_colorizer(folder / "colorizer.onnx"))
    before = files_in(folder)
    error = the_one_error(invoke("colorize", folder / "a.png", "-o", folder / "out.png", "--model", model))
    name = {"name": "style-starry-night.onnx", "path": "style-tiny.onnx", "engine": "named-colorizer.onnx"}[how]
    assert error.startswith(f"error: {name} is a style, not a colorizer (")
    assert "edgecolor stylize" in error and files_in(folder) == before


@pytest.mark.parametrize("how", [pytest.param("name", marks=NEEDS_SHIPPED), "path", "engine", "sheet"])
def test_stylize_refuses_a_colorizer(how, folder):
    colorizer = tiny_colorizer(folder / "c.onnx")
    model: object = {"name": "colorizer", "path": colorizer, "sheet": colorizer}.get(how)
    if how == "engine":
        model = _engine_copied_over(folder, colorizer, tiny_style(folder / "style-t.onnx", net_size=16))
    before = files_in(folder)
    out = ["--sheet", folder / "sheet.png"] if how == "sheet" else ["-o", folder / "out.png"]
    error = the_one_error(invoke("stylize", folder / "a.png", "--style", model, *out))
    name = {"name": "colorizer.onnx", "path": "c.onnx", "sheet": "c.onnx", "engine": "named-style-t.onnx"}[how]
    assert error.startswith(f"error: {name} is a colorizer, not a style (")
    assert "edgecolor colorize" in error and files_in(folder) == before
