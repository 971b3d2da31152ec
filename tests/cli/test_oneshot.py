"""What ``colorize`` / ``stylize`` print: a ray rerun with every output complete says so, and no rate; a folder's
bad files are skipped and named (exit 1) unless --fail-fast; --max-pixels."""

import json
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.batch.ray_jobs import append_record, job_key, settings_key
from edgecolor.cli import app
from edgecolor.cli._oneshot import parse_pixels
from edgecolor.errors import InputError
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


def bad_folder(tmp_path, good=8):
    """``good`` small gray photos, a corrupt JPEG and a 120x100 PNG (12,000 pixels: past a --max-pixels 5000)."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(good):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.cvtColor(random_bgr(12, 16, seed=i), cv2.COLOR_BGR2GRAY))
    (src / "bad1.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all" * 4)
    cv2.imwrite(str(src / "huge.png"), cv2.cvtColor(random_bgr(100, 120), cv2.COLOR_BGR2GRAY))
    return src


def colorize(tmp_path, src, out, *args):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    return CliRunner().invoke(app, ["colorize", str(src), "-o", str(out), "--model", str(model), "--threads", "1",
                                    *args])


def test_a_folder_with_bad_files_writes_the_rest_and_names_them(tmp_path):
    src, out = bad_folder(tmp_path), tmp_path / "out"
    res = colorize(tmp_path, src, out, "--max-pixels", "5000")
    assert res.exit_code == 1, res.output
    assert sorted(p.name for p in out.iterdir()) == [f"p{i}.png" for i in range(8)]  # no partial file either
    line = " ".join(res.output.split())
    assert ("colorize: 8 written, 2 failed: bad1.jpg (not a readable image), huge.png (0.012 MP > the 0.005 MP "
            "limit: --max-pixels 10M)") in line

    res = colorize(tmp_path, src, tmp_path / "json", "--max-pixels", "5000", "--json")
    assert res.exit_code == 1, res.output
    summary = json.loads(res.stdout)
    assert summary["written"] == 8 and len(summary["outputs"]) == 8
    assert [(f["input"], f["reason"]) for f in summary["failed"]] == [
        (str(src / "bad1.jpg"), "not a readable image"),
        (str(src / "huge.png"), "0.012 MP > the 0.005 MP limit: --max-pixels 10M")]
    assert all("\n" not in f["error"] and f["error"].startswith(f["input"]) for f in summary["failed"])


def test_fail_fast_stops_at_the_first_bad_file_and_writes_nothing(tmp_path):
    src, out = bad_folder(tmp_path), tmp_path / "out"
    res = colorize(tmp_path, src, out, "--fail-fast")
    assert res.exit_code == 2 and not out.exists(), res.output
    assert "bad1.jpg is not a readable image" in " ".join(res.output.split())
    (src / "bad1.jpg").unlink()
    res = colorize(tmp_path, src, out, "--fail-fast", "--max-pixels", "5K")
    assert res.exit_code == 2 and not out.exists(), res.output
    assert "huge.png is 120x100, larger than the 0.005 MP limit. Pass --max-pixels 10M" in " ".join(res.output.split())


def test_max_pixels_lets_a_large_image_through(tmp_path):
    src, out = bad_folder(tmp_path), tmp_path / "out"
    (src / "bad1.jpg").unlink()
    monkey_limit = colorize(tmp_path, src, out, "--max-pixels", "11999")  # one pixel short of huge.png
    assert monkey_limit.exit_code == 1 and not (out / "huge.png").exists()
    res = colorize(tmp_path, src, out, "--max-pixels", "12000")
    assert res.exit_code == 0, res.output
    assert cv2.imread(str(out / "huge.png")).shape == (100, 120, 3)


def test_a_file_that_fails_while_decoding_leaves_no_partial_output(tmp_path):
    src, out = bad_folder(tmp_path, good=2), tmp_path / "out"
    (src / "bad1.jpg").unlink()
    (src / "p1.png").write_bytes((src / "p1.png").read_bytes()[:40])  # header intact (the plan accepts it)
    res = colorize(tmp_path, src, out, "--json")
    assert res.exit_code == 1, res.output
    assert [Path(f["input"]).name for f in json.loads(res.stdout)["failed"]] == ["p1.png"]
    assert sorted(p.name for p in out.iterdir()) == ["huge.png", "p0.png"]


def test_a_single_bad_file_and_a_bad_model_are_still_one_line_errors(tmp_path):
    src = bad_folder(tmp_path)
    res = colorize(tmp_path, src / "bad1.jpg", tmp_path / "one.png")
    assert res.exit_code == 2 and "bad1.jpg is not a readable image" in res.output
    res = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / "out"), "--model",
                                   str(tmp_path / "missing.onnx")])
    assert res.exit_code == 2 and not (tmp_path / "out").exists(), res.output
    assert "failed" not in res.output


def test_fail_fast_is_refused_on_ray_in_one_line(tmp_path):
    res = colorize(tmp_path, bad_folder(tmp_path), tmp_path / "out", "--on", "ray", "--fail-fast")
    assert res.exit_code == 2 and "--fail-fast is for --on local" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "pixels"), [
    ("120M", 120_000_000), ("120000000", 120_000_000), ("120m", 120_000_000), ("1.5K", 1500), ("1G", 10**9),
    ("1", 1),
])
def test_max_pixels_reads_counts_and_suffixes(text, pixels):
    assert parse_pixels(text) == pixels


@pytest.mark.parametrize("text", ["", "0", "-5", "abc", "12MB", "2G", "nan", "inf", "1e9", "M"])
def test_max_pixels_refuses_what_is_not_a_count(text):
    with pytest.raises(InputError, match="--max-pixels"):
        parse_pixels(text)
