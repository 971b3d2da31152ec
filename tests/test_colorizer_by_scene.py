"""``scripts/colorizer_by_scene.py``: the README's colorizer-by-scene-type table and strip (issue 32, item 6).

The scene labels cover exactly the public evaluation set; grouping is checked by hand on a tiny fake evaluation;
the script runs as a user runs it, on a saved evaluation and end to end on tiny photos with the tiny colorizer."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from helpers import random_bgr, tiny_colorizer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "colorizer_by_scene.py"
RECORD = ROOT / "benchmarks" / "results" / "2026-12-07-colorizer-by-scene-type.json"
sys.path.insert(0, str(ROOT / "scripts"))
import colorizer_by_scene as cbs  # noqa: E402


def test_the_labels_give_every_public_photo_one_scene_type():
    labels, strip = cbs.load_labels(cbs.LABELS)
    recorded = [row["name"] for row in json.loads(RECORD.read_text())["per_photo"]]
    cbs.check_cover(labels, recorded)  # the 32 photos the record scored
    assert len(recorded) == 32 and 4 <= len(set(labels.values())) <= 7
    assert 1 <= len(strip) <= 8 and len(set(strip)) == len(strip)
    manifest = ROOT / "data" / "eval" / "manifest.json"  # where `edgecolor data evalset` has been run
    if manifest.is_file():
        cbs.check_cover(labels, [Path(e["file"]).stem for e in json.loads(manifest.read_text())["entries"]])


def row(name, model, gray, de_model, de_gray, recall, false):
    return {"name": name, "psnr_model": model, "psnr_gray": gray, "delta_e76_model": de_model,
            "delta_e76_gray": de_gray, "colour_recall_model": recall, "false_colour_model": false}


FAKE = [row("a", 21.0, 20.0, 10.0, 12.0, 0.5, 0.1),
        row("b", 17.0, 20.0, 14.0, 12.0, None, 0.3),  # 3 dB below gray; no colourful pixel, so no recall
        row("c", 25.0, 24.5, 5.0, 6.0, 0.2, None)]
LABELS = {"b": "rooms", "a": "rooms", "c": "animals"}


def test_by_scene_groups_a_tiny_result_by_hand():
    table = cbs.by_scene(FAKE, LABELS)
    assert list(table) == ["rooms", "animals", cbs.ALL]  # the labels' order, then all photos
    assert table["rooms"] == {"photos": 2, "gain_db": pytest.approx(-1.0), "delta_e76_model": 12.0,
                              "delta_e76_gray": 12.0, "colour_recall": 0.5, "false_colour": pytest.approx(0.2),
                              "below_gray_2db": 1}
    assert table["animals"]["gain_db"] == pytest.approx(0.5) and table["animals"]["false_colour"] is None
    assert table[cbs.ALL]["photos"] == 3 and table[cbs.ALL]["colour_recall"] == pytest.approx(0.35)
    text = cbs.markdown(table)
    assert "| rooms | 2 | -1.00 | 12.0 vs 12.0 | 0.50 | 0.20 | 1 |" in text
    assert "| animals | 1 | +0.50 | 5.0 vs 6.0 | 0.20 | n/a | 0 |" in text


def test_labels_must_cover_the_scored_photos_exactly(tmp_path):
    with pytest.raises(cbs.BadInput, match="photo c has no scene type"):
        cbs.by_scene(FAKE, {"a": "rooms", "b": "rooms"})
    with pytest.raises(cbs.BadInput, match="labelled photo d was not scored"):
        cbs.by_scene(FAKE, LABELS | {"d": "rooms"})
    twice = tmp_path / "labels.json"
    twice.write_text(json.dumps({"types": {"rooms": ["a", "b"], "animals": ["a", "c"]}}))
    with pytest.raises(cbs.BadInput, match="a is both 'rooms' and 'animals'"):
        cbs.load_labels(twice)


def run_script(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_the_script_groups_a_saved_evaluation_and_wants_a_failure_on_the_strip(tmp_path):
    saved = tmp_path / "eval.json"
    saved.write_text(json.dumps({"model_file": "m.onnx", "colour_strength": 0.3, "photos": 3, "per_photo": FAKE}))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"types": {"rooms": ["a", "b"], "animals": ["c"]}, "strip": ["c", "b"]}))
    res = run_script("--from-json", saved, "--labels", labels)
    assert res.returncode == 0, res.stderr
    assert "| **all photos** | 3 |" in res.stdout and "- b (rooms): -3.00 dB over gray" in res.stdout
    labels.write_text(json.dumps({"types": {"rooms": ["a", "b"], "animals": ["c"]}, "strip": ["c"]}))
    res = run_script("--from-json", saved, "--labels", labels)
    assert res.returncode == 1 and "the strip must show a failure" in res.stderr
    labels.write_text(json.dumps({"types": {"rooms": ["a"], "animals": ["c"]}}))
    res = run_script("--from-json", saved, "--labels", labels)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == ["error: photo b has no scene type (1 in all): "
                                                                       "add it to the labels"]


def test_the_script_runs_the_evaluation_and_draws_the_strip(tmp_path):
    data = tmp_path / "eval"
    data.mkdir()
    for i in range(3):
        cv2.imwrite(str(data / f"p{i}.png"), cv2.resize(random_bgr(4, 4, i), (40, 32), interpolation=cv2.INTER_NEAREST))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"types": {"x": ["p0", "p1"], "y": ["p2"]}, "strip": ["p2", "p0"]}))
    strip = tmp_path / "strip.jpg"
    res = run_script("--data", data, "--labels", labels, "--model", tiny_colorizer(tmp_path / "t.onnx"), "--strip",
                     strip, "--save-json", tmp_path / "saved.json", cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr  # 1: the tiny colorizer hurt no photo by 2 dB
    assert "| x | 2 |" in res.stdout and "| y | 1 |" in res.stdout and "- p2 (y):" in res.stdout
    assert cv2.imread(str(strip)).shape[:2] == (28 + 2 * 200, 3 * 250)  # header, two rows of 250 x 200 tiles
    assert [r["name"] for r in json.loads((tmp_path / "saved.json").read_text())["per_photo"]] == ["p0", "p1", "p2"]


def test_the_evaluations_one_line_error_and_exit_status_come_through(tmp_path):
    res = run_script("--data", tmp_path / "none", "--strip", tmp_path / "strip.jpg", cwd=tmp_path)
    assert res.returncode == 2 and "evaluation folder" in res.stderr.strip().splitlines()[-1], res.stderr
    assert not (tmp_path / "strip.jpg").exists()
