"""``edgecolor build``'s last line: the command that uses the engine just built, and that command works."""

import json
import os
import shlex

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from build_helpers import conv_colorizer
from helpers import random_bgr
from style_helpers import tiny_style


def _build(model, *args):
    res = CliRunner().invoke(app, ["build", str(model), "--target", "cpu", "--no-gate", "--threads", "1", *args])
    assert res.exit_code == 0, res.output
    return res.output.strip().splitlines()[-1]


def test_a_style_engine_is_followed_by_the_stylize_command_that_runs_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny_style(tmp_path / "style-tiny.onnx")
    cv2.imwrite(str(tmp_path / "photo.jpg"), random_bgr(24, 32))
    hint = _build(tmp_path / "style-tiny.onnx", "--precision", "fp16")
    assert hint == "next: edgecolor stylize photo.jpg -o out.jpg --style engines/style-tiny-fp16-cpu.onnx"
    res = CliRunner().invoke(app, hint.removeprefix("next: edgecolor ").split())
    assert res.exit_code == 0, res.output
    assert cv2.imread(str(tmp_path / "out.jpg")).shape == (24, 32, 3)


def test_a_colorizer_engine_is_followed_by_the_colorize_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conv_colorizer(tmp_path / "m.onnx")
    assert _build(tmp_path / "m.onnx", "--precision", "fp32") == (
        "next: edgecolor colorize photo.jpg -o out.jpg --model engines/m-fp32-cpu.onnx")


OLD_NS = 1_000_000_000_000_000_000  # an engine's mtime set here changes only if the engine is rebuilt


@pytest.mark.parametrize(("flags", "code", "says"), [
    ([], 2, "error: engine {e} already exists. Pass -y to overwrite it, or choose another path."),
    (["-n"], 2, "error: engine {e} already exists and -n never overwrites it"),
    (["-y"], 0, "wrote {e}"),
    (["--rebuild-if-stale"], 0, "{e} is up to date (manifest matches); nothing to do"),
])
def test_a_second_build_onto_an_engine_is_refused_unless_y(tmp_path, monkeypatch, flags, code, says):
    monkeypatch.chdir(tmp_path)
    conv_colorizer(tmp_path / "m.onnx")
    engine = tmp_path / "e.onnx"
    _build(tmp_path / "m.onnx", "--precision", "fp32", "-o", str(engine))
    os.utime(engine, ns=(OLD_NS, OLD_NS))
    res = CliRunner().invoke(app, ["build", str(tmp_path / "m.onnx"), "--target", "cpu", "--no-gate", "--threads",
                                   "1", "--precision", "fp32", "-o", str(engine), *flags])
    assert res.exit_code == code, res.output
    assert says.format(e=engine) in " ".join(res.output.split())
    assert (engine.stat().st_mtime_ns != OLD_NS) == (flags == ["-y"])


def test_the_rebuild_command_a_manifest_records_replaces_the_engine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conv_colorizer(tmp_path / "m.onnx")
    _build(tmp_path / "m.onnx", "--precision", "fp32", "-o", "e.onnx")
    command = json.loads((tmp_path / "e.onnx.json").read_text())["rebuild_command"]
    assert "-y" in shlex.split(command)
    res = CliRunner().invoke(app, shlex.split(command)[1:] + ["--threads", "1"])
    assert res.exit_code == 0, res.output
