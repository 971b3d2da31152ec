"""`edgecolor colorize` through typer's CliRunner on a tiny generated colorizer."""

import json
import os

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.jobs.record import RECORD

from helpers import random_bgr, tiny_colorizer

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx"))


def _clip(path, frames=5, size=(48, 32)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(frames):
        w.write(random_bgr(size[1], size[0], i))
    w.release()
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_image_to_image(tmp_path, model):
    cv2.imwrite(str(tmp_path / "in.png"), random_bgr(30, 40))
    res = invoke("colorize", tmp_path / "in.png", "-o", tmp_path / "out.png", "--model", model)
    assert res.exit_code == 0, res.output
    out = cv2.imread(str(tmp_path / "out.png"))
    assert out.shape == (30, 40, 3)


def test_folder_to_folder_keeps_stems_and_json(tmp_path, model):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(src / name), random_bgr(20, 20))
    _clip(src / "c.mp4")
    (src / "notes.txt").write_text("ignored")
    res = invoke("colorize", src, "-o", tmp_path / "out", "--model", model, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert sorted(os.listdir(tmp_path / "out")) == [RECORD, "a.png", "b.jpg", "c.mp4"]  # RECORD: what is complete
    assert summary["frames"] == 2 + 5
    cap = cv2.VideoCapture(str(tmp_path / "out" / "c.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_colour_strength_zero_is_gray(tmp_path, model):
    img = random_bgr(16, 16, 3)
    cv2.imwrite(str(tmp_path / "in.png"), img)
    res = invoke("colorize", tmp_path / "in.png", "-o", tmp_path / "g.png", "--model", model, "--colour-strength", "0")
    assert res.exit_code == 0
    out = cv2.imread(str(tmp_path / "g.png"))
    assert np.abs(out.astype(int) - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]).max() <= 1


def _assert_user_error(res, text):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], res.stderr
    assert "Traceback" not in res.output


def test_bad_inputs_one_line_exit_2(tmp_path, model):
    (tmp_path / "empty").mkdir()
    (tmp_path / "fake.jpg").write_text("this is not an image")
    (tmp_path / "zero.png").write_bytes(b"")
    cv2.imwrite(str(tmp_path / "ok.png"), random_bgr(8, 8))
    _assert_user_error(invoke("colorize", tmp_path / "missing.png", "-o", tmp_path / "o.png", "--model", model),
                       "does not exist")
    _assert_user_error(invoke("colorize", tmp_path / "empty", "-o", tmp_path / "o", "--model", model), "no images")
    _assert_user_error(invoke("colorize", tmp_path / "fake.jpg", "-o", tmp_path / "o.png", "--model", model),
                       "not a readable image")
    _assert_user_error(invoke("colorize", tmp_path / "zero.png", "-o", tmp_path / "o.png", "--model", model), "empty")
    _assert_user_error(invoke("colorize", tmp_path / "ok.png", "-o", tmp_path / "o.png", "--model", "nosuchmodel"),
                       "no model 'nosuchmodel'")
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "o").exists()


def test_unwritable_output_leaves_nothing(tmp_path, model):
    cv2.imwrite(str(tmp_path / "ok.png"), random_bgr(8, 8))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is needed")
    _assert_user_error(invoke("colorize", tmp_path / "ok.png", "-o", blocker / "out.png", "--model", model),
                       "cannot write")
    assert blocker.read_text() == "a file where a folder is needed"


def test_failure_mid_folder_leaves_no_partial_file(tmp_path, model):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), random_bgr(8, 8))
    (src / "b.png").write_bytes(b"\x89PNG broken")
    res = invoke("colorize", src, "-o", tmp_path / "out", "--model", model)
    assert res.exit_code == 1  # the bad file is skipped and named, the good one written, no partial file
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [RECORD, "a.png"]
    res = invoke("colorize", src, "-o", tmp_path / "fast", "--model", model, "--fail-fast")
    assert res.exit_code == 2
    # the broken header is found while planning: nothing is written, not even the good image's output
    assert not (tmp_path / "fast").exists()


def test_help_teaches():
    res = invoke("colorize", "--help")
    assert res.exit_code == 0 and "Example" in res.output


def test_streams_for_a_video_give_the_same_frames_and_are_refused_with_ray(tmp_path, model):
    src = _clip(tmp_path / "in.mp4", frames=6)
    outs = []
    for n in (1, 2):
        res = invoke("colorize", src, "-o", tmp_path / f"out{n}.avi", "--model", model, "--streams", n,
                     "--threads", 2, "--json")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["frames"] == 6
        cap = cv2.VideoCapture(str(tmp_path / f"out{n}.avi"))
        frames = []
        while (got := cap.read())[0]:
            frames.append(got[1])
        cap.release()
        outs.append(np.stack(frames))
    assert outs[0].shape[0] == 6 and np.array_equal(outs[0], outs[1])  # frames in order, same model
    res = invoke("colorize", src, "-o", tmp_path / "r.mp4", "--model", model, "--streams", 2, "--on", "ray")
    _assert_user_error(res, "--streams is for --on local")
    assert not (tmp_path / "r.mp4").exists()
