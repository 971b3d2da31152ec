"""One build -> run contract: every CPU engine ``edgecolor build`` writes, for each task, each precision
(``auto`` included) and each CPU backend, runs with default options in the command its ``next:`` line prints
(verbatim), in ``run`` and in ``bench``. Built from a folder outside the checkout with no ``data/``: the
colorizer's gate reads the photos bundled in the package."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from build_helpers import conv_colorizer
from helpers import random_bgr, write_clip
from style_helpers import tiny_style

MATRIX = [  # (task, --precision, --cpu-backend or None: the precision's own)
    *[("colorize", p, None) for p in ("fp32", "fp16", "int8", "bf16", "auto")],
    ("colorize", "fp32", "openvino"),
    ("colorize", "int8", "openvino"),
    *[("stylize", p, None) for p in ("fp32", "fp16", "int8", "bf16", "auto")],
    ("stylize", "int8", "openvino"),
]


def invoke(*args: object) -> tuple[int, str]:
    """Exit code and what the command printed (stdout and stderr)."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def invoke_json(*args: object) -> dict:
    res = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize(("task", "precision", "backend"), MATRIX)
def test_every_cpu_engine_runs_in_every_command_with_default_options(tmp_path, monkeypatch, task, precision,
                                                                     backend):
    monkeypatch.chdir(tmp_path)
    assert not Path("data").exists()
    if task == "colorize":
        model = conv_colorizer(tmp_path / "m.onnx")
    else:
        model = tiny_style(tmp_path / "style-m.onnx", two_layers=True)
    photo = random_bgr(24, 32, 5)
    if task == "colorize":
        photo = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite("photo.jpg", photo)
    args = ["build", model.name, "--precision", precision, "--threads", "1", "--calib-frames", "8"]
    code, out = invoke(*args, *(["--cpu-backend", backend] if backend else []))
    assert code == 0, out
    hint = out.strip().splitlines()[-1]
    assert hint.startswith(f"next: edgecolor {task} photo.jpg -o out.jpg "), hint
    engine = Path(shlex.split(hint)[-1])
    assert engine.is_file() and Path(f"{engine}.json").is_file()

    code, out = invoke(*shlex.split(hint.removeprefix("next: edgecolor ")))  # the printed command, verbatim
    assert code == 0, out
    result = cv2.imread("out.jpg")
    assert result is not None and result.shape == photo.shape

    write_clip(tmp_path / "clip.avi", 3)
    assert invoke_json("run", "--model", engine, "--source", "clip.avi", "--sink", "null")["frames"] == 3

    rows = invoke_json("bench", engine, "--resolutions", "32x24", "--iterations", "2", "--warmup", "0")["rows"]
    assert [r["model"] for r in rows] == [engine.stem] and rows[0]["throughput_fps"] > 0


def test_a_bench_of_several_models_names_the_one_that_fails_and_times_the_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = conv_colorizer(tmp_path / "m.onnx")
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx file")
    res = CliRunner().invoke(app, ["bench", str(good), str(bad), "--resolutions", "32x24", "--iterations", "2",
                                   "--warmup", "0", "--json"])
    assert res.exit_code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "broken" in errors[0], res.output
    report = json.loads(res.stdout)
    assert [r["model"] for r in report["rows"]] == ["m"]
    assert [f["model"] for f in report["failed"]] == ["broken"]
    assert np.isfinite(report["rows"][0]["throughput_fps"])
