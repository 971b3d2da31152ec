"""What ``colorize`` / ``stylize --on ray`` print: a rerun with every output complete says so, and no rate."""

import cv2
from typer.testing import CliRunner

from edgecolor.batch.ray_jobs import append_record, job_key, settings_key
from edgecolor.cli import app
from edgecolor.jobs.files import plan

from helpers import random_bgr, tiny_colorizer


def test_a_ray_rerun_with_every_output_complete_says_nothing_to_do(tmp_path):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.cvtColor(random_bgr(12, 16, seed=i), cv2.COLOR_BGR2GRAY))
    first = CliRunner().invoke(app, ["colorize", str(src), "-o", str(out), "--model", str(model)])
    assert first.exit_code == 0, first.output
    settings = settings_key(model, {}, "auto")  # what a finished Ray run records, as --on ray keys it
    for job in plan([src], out):
        append_record(out, job.dst.name, job_key(job, settings))

    res = CliRunner().invoke(app, ["colorize", str(src), "-o", str(out), "--model", str(model), "--on", "ray"])
    assert res.exit_code == 0, res.output
    line = " ".join(res.output.split())
    assert "colorize on ray: nothing to do: 3 output(s) already complete" in line and "None" not in line
