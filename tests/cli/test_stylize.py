"""`edgecolor stylize` (and the style bits of `models`, `train style`) through typer's CliRunner."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.jobs.record import RECORD
from edgecolor.jobs.styles import shipped_styles

from helpers import random_bgr
from style_helpers import tiny_style

runner = CliRunner()
SHIPPED = sorted(shipped_styles())
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="no style shipped in edgecolor/assets yet")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_style(tmp_path_factory.mktemp("m") / "style-tiny.onnx"))


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _png(path, h=37, w=53, seed=0):
    cv2.imwrite(str(path), random_bgr(h, w, seed))
    return path


def test_stylize_image_json(tmp_path, model):
    src = _png(tmp_path / "a.png")
    res = invoke("stylize", src, "--style", model, "-o", tmp_path / "out.png", "--json", "--threads", 1)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["frames"] == 1 and summary["outputs"][0]["output"].endswith("out.png")
    out = cv2.imread(str(tmp_path / "out.png"))
    assert out.shape == (37, 53, 3) and not np.array_equal(out, cv2.imread(str(src)))


def test_strength_zero_returns_the_input(tmp_path, model):
    src = _png(tmp_path / "a.png", 41, 67, 3)
    res = invoke("stylize", src, "--style", model, "--strength", 0, "-o", tmp_path / "same.png")
    assert res.exit_code == 0, res.output
    diff = cv2.imread(str(tmp_path / "same.png")).astype(int) - cv2.imread(str(src)).astype(int)
    assert np.abs(diff).max() <= 1


def test_folder_and_preserve_colour(tmp_path, model):
    (tmp_path / "in").mkdir()
    for i in range(2):
        _png(tmp_path / "in" / f"p{i}.png", seed=i)
    res = invoke("stylize", tmp_path / "in", "--style", model, "--preserve-colour", "--max-side", 32,
                 "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [RECORD, "p0.png", "p1.png"]


def test_sheet(tmp_path, model):
    src = _png(tmp_path / "a.png", 64, 96)
    res = invoke("stylize", src, "--style", model, "--style", model, "--sheet", tmp_path / "sheet.png", "--json")
    assert res.exit_code == 0, res.output
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    assert sheet.shape[0] == 28 + 256 and sheet.shape[1] == 3 * 384  # header + one row; content + 2 styles
    assert json.loads(res.stdout)["styles"] == [model, model]


@pytest.mark.parametrize("args,message", [
    (["--style", "no-such-style"], "no style 'no-such-style'"),
    ([], "needs one --style"),
])
def test_bad_style_is_one_line_exit_2(tmp_path, args, message):
    res = invoke("stylize", _png(tmp_path / "a.png"), "-o", tmp_path / "o.png", *args)
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_colorizer_is_not_a_style(tmp_path):
    from helpers import tiny_colorizer

    colorizer = tiny_colorizer(tmp_path / "c.onnx")
    res = invoke("stylize", _png(tmp_path / "a.png"), "--style", colorizer, "-o", tmp_path / "o.png")
    assert res.exit_code == 2 and "not a style" in res.stderr


def test_unreadable_content_is_one_line_exit_2(tmp_path, model):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    res = invoke("stylize", bad, "--style", model, "-o", tmp_path / "o.jpg")
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and "broken.jpg" in res.stderr
    assert not (tmp_path / "o.jpg").exists()


def test_train_style_rejects_a_non_image_painting(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    bad = tmp_path / "painting.jpg"
    bad.write_text("this is text")
    res = invoke("train", "style", "--style-image", bad, "--name", "x", "--corpus", tmp_path / "nowhere")
    assert res.exit_code == 2 and "painting.jpg" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_train_style_rejects_a_bad_name(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    res = invoke("train", "style", "--style-image", _png(tmp_path / "p.png"), "--name", "Bad Name")
    assert res.exit_code == 2 and "style name" in res.stderr


@needs_shipped
def test_models_lists_the_shipped_styles():
    res = invoke("models", "--json")
    assert res.exit_code == 0
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    for name in SHIPPED:
        row = rows[f"style-{name}"]
        assert row["task"] == "stylize" and row["size_mb"] <= 4.0 and "painting" in row["source"]


@needs_shipped
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (2160, 3840)])
def test_shipped_style_frame_contract(shape):
    from edgecolor.backends.onnxruntime import OrtEngine
    from edgecolor.jobs.styles import resolve_style

    engine = OrtEngine(resolve_style(SHIPPED[0]), threads=1)
    frame = random_bgr(*shape)
    out = engine(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert np.abs(engine(frame, strength=0.0).astype(int) - frame).max() <= 1


@needs_shipped
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_style_by_short_name(name):
    from edgecolor.backends.onnxruntime import OrtEngine
    from edgecolor.registry import resolve_model

    assert resolve_model(name) == resolve_model(f"style-{name}")  # `run --model starry-night` works too
    engine = OrtEngine(resolve_model(name), threads=1)
    frame = random_bgr(40, 52, 3) // 2 + 64  # mid-range, so keeping the chroma seldom needs clamping
    styled = engine(frame)
    assert styled.shape == frame.shape and np.abs(styled.astype(int) - frame).mean() > 5  # it does change the frame
    kept = engine(frame, preserve_colour=1.0).astype(np.float32)
    chroma = np.array([[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)[:, ::-1]  # on BGR
    unclipped = ((kept > 0) & (kept < 255)).all(axis=-1)  # a strong style drives luma to 0/255, where the photo's
    assert unclipped.mean() > 0.25                            # chroma cannot be kept; judge the other pixels
    assert np.abs(kept @ chroma.T - frame.astype(np.float32) @ chroma.T)[unclipped].mean() < 3


def test_unknown_short_name_is_refused():
    from edgecolor.errors import ModelError
    from edgecolor.registry import resolve_model

    with pytest.raises(ModelError, match="no model 'no-such-style'"):
        resolve_model("no-such-style")
