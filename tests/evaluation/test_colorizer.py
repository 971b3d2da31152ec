"""``edgecolor eval colorizer`` with colour recall, false colour and the luma-lookup baseline (issue 32, item 2),
on tiny synthetic photos and the tiny stand-in colorizer."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.colour import ycc_to_bgr
from edgecolor.quality import colour_recall, false_colour

from helpers import random_bgr, tiny_colorizer

WHO = ("model", "gray", "lookup")


def photo(seed: int, size: int = 32) -> np.ndarray:
    """Half neutral (a luma ramp, no chroma), half vivid blocks: both metrics have pixels to score."""
    luma = np.tile(np.linspace(40, 220, size, dtype=np.float32), (size, 1))
    chroma = np.zeros((size, size, 2), np.float32)
    chroma[:, size // 2:] = cv2.resize(random_bgr(4, 2, seed)[..., :2].astype(np.float32) - 128, (size // 2, size),
                                       interpolation=cv2.INTER_NEAREST) * 0.4
    return ycc_to_bgr(luma, chroma)


def folder(path, seeds, sources=None):
    path.mkdir()
    for s in seeds:
        cv2.imwrite(str(path / f"p{s}.png"), photo(s))
    if sources:
        entries = [{"file": f"p{s}.png", "source": src} for s, src in zip(seeds, sources, strict=True)]
        (path / "manifest.json").write_text(json.dumps({"entries": entries}))
    return path


def invoke(*args):
    return CliRunner().invoke(app, ["eval", "colorizer", *map(str, args)])


def test_eval_reports_recall_and_false_colour_for_model_gray_and_lookup(tmp_path):
    data = folder(tmp_path / "eval", range(4), ["a", "a", "b", "b"])
    train = folder(tmp_path / "train", range(10, 16))
    model = tiny_colorizer(tmp_path / "t.onnx")  # a constant tint (Cb 20, Cr -10): tints every neutral pixel
    res = invoke("--data", data, "--model", model, "--no-classifier", "--lookup-from", train, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["lookup_baseline"] == {"from": str(train), "built_from": "every photo in the folder", "photos": 6,
                                      "strength": 0.5}
    for who in WHO:
        assert 0 <= out[who]["colour_recall"] <= 1 and 0 <= out[who]["false_colour"] <= 1
    assert out["gray"]["colour_recall"] == 0 and out["gray"]["false_colour"] == 0
    assert out["model"]["false_colour"] == 1.0  # the tint is strong everywhere
    rows = out["per_photo"]
    assert len(rows) == 4 and all(f"{m}_{who}" in r for r in rows for who in WHO
                                  for m in ("colour_recall", "false_colour", "psnr"))
    for who in WHO:  # pooled: the mean over photos of the per-photo values
        for m in ("colour_recall", "false_colour"):
            assert out[who][m] == pytest.approx(np.mean([r[f"{m}_{who}"] for r in rows]), abs=1e-4)
    assert set(out["per_source"]) == {"a", "b"}  # from the evaluation set's manifest
    a = out["per_source"]["a"]
    assert a["photos"] == 2 and a["false_colour_lookup"] == pytest.approx(
        np.mean([r["false_colour_lookup"] for r in rows[:2]]), abs=1e-4)
    assert "psnr_lookup" in a

    text = invoke("--data", data, "--model", model, "--no-classifier", "--lookup-from", train)
    assert text.exit_code == 0, text.output
    assert "luma lookup ×0.5" in text.output and "colour recall" in text.output
    assert "luma-lookup baseline: 6 photos" in text.output and "(lookup " in text.output


def test_per_photo_values_are_the_metrics_of_the_lookup_output(tmp_path):
    """The job scores what apply_lookup gives, at the strength asked for."""
    from edgecolor.colour import to_gray_bgr
    from edgecolor.evaluation.colorizer import evaluate_colorizer
    from edgecolor.models.lookup import apply_lookup, build_lookup

    photos = [(f"p{s}", photo(s)) for s in range(3)]
    table = build_lookup(photo(s) for s in range(10, 14))
    result = evaluate_colorizer(to_gray_bgr, photos, lookup=lambda g: apply_lookup(table, g, 2.0))
    for (_, truth), row in zip(photos, result["per_photo"], strict=True):
        out = apply_lookup(table, to_gray_bgr(truth), 2.0)
        assert row["colour_recall_lookup"] == round(colour_recall(out, truth), 4)
        assert row["false_colour_lookup"] == round(false_colour(out, truth), 4)
        assert row["false_colour_model"] == 0 and row["colour_recall_gray"] == 0


def test_a_photo_with_nothing_to_score_is_null_and_left_out_of_the_means():
    from edgecolor.colour import to_gray_bgr
    from edgecolor.evaluation.colorizer import evaluate_colorizer

    vivid = np.zeros((8, 8, 3), np.uint8)
    vivid[..., 2] = 255  # pure red: no neutral pixel
    photos = [("mixed", photo(1)), ("vivid", vivid)]
    result = evaluate_colorizer(lambda g: to_gray_bgr(g) // 2 + np.uint8(60), photos)
    assert result["per_photo"][1]["false_colour_model"] is None
    assert result["model"]["false_colour"] == result["per_photo"][0]["false_colour_model"]
    assert "lookup" not in result


def test_the_baseline_is_never_built_from_the_scored_photos(tmp_path):
    data = folder(tmp_path / "eval", range(3))
    model = tiny_colorizer(tmp_path / "t.onnx")
    res = invoke("--data", data, "--model", model, "--no-classifier", "--lookup-from", data)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and "is the folder scored" in lines[0], res.output
    train = folder(tmp_path / "train", [10, 11, 2])  # p2 is also an evaluation photo
    res = invoke("--data", data, "--model", model, "--no-classifier", "--lookup-from", train)
    assert res.exit_code == 2 and "is scored photo p2" in res.output, res.output


def test_without_a_corpus_the_baseline_is_skipped_with_a_note(tmp_path, monkeypatch):
    data = folder(tmp_path / "eval", range(2))
    model = tiny_colorizer(tmp_path / "t.onnx")
    monkeypatch.chdir(tmp_path)  # no data/corpus here
    res = invoke("--data", data, "--model", model, "--no-classifier", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert "lookup" not in out and "data/corpus" in out["lookup_baseline"]["skipped"]
    assert "per_source" not in out  # no manifest, no sources
    res = invoke("--data", data, "--model", model, "--no-classifier")
    assert "luma-lookup baseline skipped: no data/corpus" in res.output
    res = invoke("--data", data, "--model", model, "--no-classifier", "--json", "--lookup-from", tmp_path / "none")
    assert res.exit_code == 2 and "lookup folder" in res.output


def test_on_validation_the_baseline_comes_from_the_sources_the_fold_trains_on(tmp_path):
    from edgecolor.data.corpus import build_corpus, load_manifest
    from edgecolor.data.split import split_corpus

    src = tmp_path / "photos"
    src.mkdir()
    for i in range(20):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.resize(random_bgr(8, 8, i), (200, 160)))  # kept as photos
    corpus = tmp_path / "corpus"
    build_corpus(corpus, from_folder=src)
    train, val = split_corpus(load_manifest(corpus), 1)
    res = invoke("--data", corpus, "--validation", "--val-fold", 1, "--model", tiny_colorizer(tmp_path / "t.onnx"),
                 "--no-classifier", "--lookup-from", corpus, "--lookup-strength", 0.25, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(val) > 0 and out["photos"] == len(val) and out["lookup_baseline"]["photos"] == len(train) > 0
    assert "fold 1" in out["lookup_baseline"]["built_from"] and out["lookup_baseline"]["strength"] == 0.25
    assert all(f"colour_recall_{who}" in row for row in out["per_source"].values() for who in WHO)


def test_sheet_photo_chooses_the_rows_of_the_contact_sheet_in_order(tmp_path):
    data = folder(tmp_path / "eval", range(4))
    model = tiny_colorizer(tmp_path / "t.onnx")
    sheet = tmp_path / "strip.jpg"
    res = invoke("--data", data, "--model", model, "--no-classifier", "--no-lookup", "--json", "--sheet", sheet,
                 "--sheet-photo", "p3", "--sheet-photo", "p1")
    assert res.exit_code == 0, res.output
    img = cv2.imread(str(sheet))
    assert img.shape == (28 + 2 * 200, 3 * 200, 3)  # a 28-pixel header, then one 200-pixel row per photo

    def truth_error(row: int, seed: int) -> float:  # the truth column of that row against photo p<seed>
        tile = img[28 + 200 * row: 28 + 200 * (row + 1), 400:600].astype(np.float32)
        return float(np.abs(tile - cv2.resize(photo(seed), (200, 200), interpolation=cv2.INTER_AREA)).mean())

    assert truth_error(0, 3) < 3 < truth_error(0, 1) and truth_error(1, 1) < 3 < truth_error(1, 3)


def test_sheet_photo_refuses_a_photo_not_scored_and_a_missing_sheet(tmp_path):
    data = folder(tmp_path / "eval", range(2))
    model = tiny_colorizer(tmp_path / "t.onnx")
    sheet = tmp_path / "strip.png"
    for args, said in [(("--sheet", sheet, "--sheet-photo", "p7"), "--sheet-photo p7 is not one of the 2 photos"),
                       (("--sheet-photo", "p1"), "--sheet-photo chooses the photos of a contact sheet"),
                       (("--sheet", tmp_path / "strip.gif"), "is not a .png or .jpg file")]:
        res = invoke("--data", data, "--model", model, "--no-classifier", "--no-lookup", *args)
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert res.exit_code == 2 and said in lines[0], res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval", "t.onnx"]  # nothing written


def test_per_photo_and_per_group_delta_e():
    from edgecolor.colour import to_gray_bgr
    from edgecolor.evaluation.colorizer import evaluate_colorizer, per_source
    from edgecolor.quality import delta_e76

    photos = [(f"p{s}", photo(s)) for s in range(3)]
    tint = lambda g: to_gray_bgr(g) // 2 + np.uint8(60)  # noqa: E731
    result = evaluate_colorizer(tint, photos)
    rows = result["per_photo"]
    for (_, truth), row in zip(photos, rows, strict=True):
        assert row["delta_e76_model"] == round(delta_e76(tint(to_gray_bgr(truth)), truth), 2)
        assert row["delta_e76_gray"] == round(delta_e76(to_gray_bgr(truth), truth), 2)
    groups = per_source(rows, {"p0": "x", "p1": "x", "p2": "y"})
    x = (rows[0]["delta_e76_model"] + rows[1]["delta_e76_model"]) / 2
    assert groups["x"]["delta_e76_model"] == pytest.approx(x)
    assert groups["y"]["delta_e76_gray"] == rows[2]["delta_e76_gray"] and "delta_e76_lookup" not in groups["y"]
