"""``edgecolor build``'s last line: the command that uses the engine just built, and that command works."""

import cv2
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
