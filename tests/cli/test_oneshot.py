"""What ``colorize`` / ``stylize`` print: a ray rerun with every output complete says so, and no rate; a folder's
bad files are skipped and named (exit 1) unless --fail-fast; --max-pixels."""

import json
import os
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.cli._oneshot import parse_pixels
from edgecolor.errors import InputError
from edgecolor.jobs.files import plan
from edgecolor.jobs.record import RECORD, append_record, job_key, settings_key
from edgecolor.stream.temporal import TemporalConfig

from helpers import random_bgr, tiny_colorizer


def test_a_ray_rerun_with_every_output_complete_says_nothing_to_do(tmp_path):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.cvtColor(random_bgr(12, 16, seed=i), cv2.COLOR_BGR2GRAY))
    first = CliRunner().invoke(app, ["colorize", str(src), "-o", str(out), "--model", str(model)])
    assert first.exit_code == 0, first.output
    settings = settings_key(model, {}, "auto", TemporalConfig().key())  # what a finished Ray run records
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
    assert sorted(p.name for p in out.iterdir()) == [RECORD] + [f"p{i}.png" for i in range(8)]  # no partial file
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
    assert sorted(p.name for p in out.iterdir()) == [RECORD, "huge.png", "p0.png"]


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


def gray_folder(tmp_path, n=3):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.cvtColor(random_bgr(12, 16, seed=i), cv2.COLOR_BGR2GRAY))
    return src


def stamps(folder):
    """name -> (mtime_ns, bytes) of every output (the record left out)."""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir() if p.name != RECORD}


OLD_NS = 1_000_000_000_000_000_000  # 2001: an output's mtime set here changes only if the output is rewritten


@pytest.mark.parametrize(("flags", "rewritten", "says", "skipped"), [
    ([], False, "nothing to do: 3 output(s) already complete (-y redoes them)", 3),
    (["-y"], True, "3 frame(s)", 0),
    (["--overwrite"], True, "3 frame(s)", 0),
    (["-n"], False, "nothing to do: 3 existing output(s) left untouched (-n)", 3),
    (["--no-overwrite"], False, "left untouched (-n)", 3),
])
def test_a_rerun_resumes_and_y_redoes_every_output(tmp_path, flags, rewritten, says, skipped):
    src, out = gray_folder(tmp_path), tmp_path / "out"
    assert colorize(tmp_path, src, out).exit_code == 0
    for p in out.glob("*.png"):
        os.utime(p, ns=(OLD_NS, OLD_NS))
    before = stamps(out)
    res = colorize(tmp_path, src, out, *flags)
    assert res.exit_code == 0, res.output
    assert says in " ".join(res.output.split())
    after = stamps(out)
    assert after.keys() == before.keys()
    assert all((after[n][0] != OLD_NS) == rewritten for n in after)
    assert all(after[n][1] == before[n][1] for n in after)  # the same model and inputs: the same pixels
    summary = json.loads(colorize(tmp_path, src, out, *flags, "--json").stdout)
    assert (summary["written"], summary["skipped"]) == (3 - skipped, skipped)


def test_a_changed_input_is_redone_and_the_others_kept(tmp_path):
    src, out = gray_folder(tmp_path), tmp_path / "out"
    colorize(tmp_path, src, out)
    cv2.imwrite(str(src / "p1.png"), cv2.cvtColor(random_bgr(12, 16, seed=9), cv2.COLOR_BGR2GRAY))
    summary = json.loads(colorize(tmp_path, src, out, "--json").stdout)
    assert ([Path(o["output"]).name for o in summary["outputs"]], summary["skipped"]) == (["p1.png"], 2)


@pytest.mark.parametrize(("flags", "code", "says", "kept"), [
    ([], 2, "error: output {out} already exists. Pass -y to overwrite it, or -n to leave it as it is.", True),
    (["-n"], 0, "nothing to do: 1 existing output(s) left untouched (-n)", True),
    (["-y"], 0, "1 frame(s)", False),
    (["-y", "-n"], 2, "-y/--overwrite and -n/--no-overwrite contradict each other", True),
])
def test_a_file_the_command_did_not_write_is_refused_kept_or_replaced(tmp_path, flags, code, says, kept):
    src, out = gray_folder(tmp_path, 1), tmp_path / "mine.png"
    out.write_bytes(b"the user's own file")
    res = colorize(tmp_path, src / "p0.png", out, *flags)
    assert res.exit_code == code, res.output
    assert says.format(out=out) in " ".join(res.output.split())
    assert (out.read_bytes() == b"the user's own file") == kept
