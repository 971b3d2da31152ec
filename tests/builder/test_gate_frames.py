"""The accuracy gate's frames: a colorizer is gated on colour photos only, never on a gray "truth"."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.builder import gate_frames
from edgecolor.builder.gate_frames import MIN_COLOURFULNESS, corpus_validation_files, load_gate_frames
from edgecolor.cli import app
from edgecolor.errors import InputError
from edgecolor.graph.calibration import load_frames
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.registry import SAMPLE_CLIP

from build_helpers import conv_colorizer, image_folder
from style_helpers import tiny_style

runner = CliRunner()


def gray_folder(path: Path, n: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        g = np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (36, 1))
        cv2.imwrite(str(path / f"g{i:03d}.png"), cv2.merge([g, g, g]))
    return path


def corpus(path: Path, n: int) -> Path:
    image_folder(path / "images", n, seed=3)
    files = sorted(p.name for p in (path / "images").iterdir())
    entries = [{"file": f"images/{f}", "source": "test", "colourfulness": 30.0} for f in files]
    (path / "manifest.json").write_text(json.dumps({"entries": entries}))
    return path


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data/corpus and data/eval are looked up relative to the working directory
    conv_colorizer(tmp_path / "m.onnx")
    image_folder(tmp_path / "frames", 12)
    return tmp_path


def build(*args: object) -> tuple[int, str]:
    res = runner.invoke(app, ["build", *map(str, args), "--threads", "1", "-y"])  # -y: tests build one path again
    return res.exit_code, res.output


def one_error(out: str) -> str:
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, out
    return lines[0]


def test_colorizer_without_data_is_gated_on_the_bundled_photos(work):
    """A fresh machine, any folder: no data/corpus, no data/eval; the package's own colour photos are the truth."""
    code, out = build(work / "m.onnx", "--precision", "int8", "--calib", SAMPLE_CLIP, "--calib-frames", "8",
                      "--json")
    assert code == 0, out
    gate = json.loads(out)["gate"]
    assert gate["frames_source"] == str(gate_frames.BUNDLED) and gate["frames"] == 16
    assert gate["frames_colourfulness"] > MIN_COLOURFULNESS and gate["verdict"] == "pass"


def test_bundled_photos_are_few_small_colour_photos_with_their_licences():
    entries = json.loads((gate_frames.BUNDLED / "manifest.json").read_text())["entries"]
    files = sorted(gate_frames.BUNDLED.glob("*.jpg"))
    assert sorted(e["file"] for e in entries) == [f.name for f in files] and 20 <= len(files) <= 40
    assert sum(f.stat().st_size for f in files) < 2_000_000
    assert all(e["source"] and e["licence"] for e in entries)


def test_colorizer_without_any_colour_photos_exits_2_with_remedy(work, monkeypatch):
    monkeypatch.setattr(gate_frames, "BUNDLED", work / "removed")
    code, out = build(work / "m.onnx", "--precision", "int8", "--calib", SAMPLE_CLIP, "--calib-frames", "8")
    assert code == 2
    err = one_error(out)
    assert "no colour photos" in err and "--gate-data" in err and "--no-gate" in err
    assert not (work / "engines").exists()


def test_gray_gate_data_is_refused(work):
    code, out = build(work / "m.onnx", "--precision", "fp16", "--gate-data", gray_folder(work / "gray", 4))
    assert code == 2 and "not colour photos" in one_error(out) and "mean colourfulness 0.0" in out


def test_default_eval_set_gates_on_colour_and_says_so(work):
    image_folder(work / "data" / "eval", 5, seed=9)
    code, out = build(work / "m.onnx", "--precision", "fp16", "--calib", work / "frames", "--json")
    assert code == 0, out
    gate = json.loads(out)["gate"]
    assert gate["frames"] == 5 and gate["frames_source"] == "data/eval" and gate["verdict"] == "pass"
    assert gate["frames_colourfulness"] > MIN_COLOURFULNESS and gate["criterion"] == "loss_db vs ground truth"
    assert {"psnr_vs_fp32_db", "delta_e_vs_fp32", "psnr_fp32_vs_truth_db", "loss_db", "limit_db"} <= set(gate)
    code, out = build(work / "m.onnx", "--precision", "fp16")
    assert code == 0 and "than FP32 against the colour truth" in out and "FP16 is " in out


def test_corpus_validation_split_is_preferred_and_never_calibrated_on(work):
    corpus(work / "data" / "corpus", 20)
    image_folder(work / "data" / "eval", 3, seed=9)
    code, out = build(work / "m.onnx", "--precision", "int8", "--calib", work / "data" / "corpus" / "images",
                      "--calib-frames", "20", "--calib-method", "max", "--json")
    assert code == 0, out
    man = json.loads(out)
    assert man["gate"]["frames_source"] == "data/corpus (corpus validation split)" and man["gate"]["frames"] == 2
    assert man["calibration"]["calibration_frames"] == 18  # the 2 validation photos were left out
    assert man["calibration"]["holdout_frames"] == 0


def test_validation_files_follow_the_training_split(tmp_path):
    root = corpus(tmp_path / "c", 23)
    got = [p.name for p in corpus_validation_files(root)]
    assert got == ["f000.png", "f010.png", "f020.png"]
    train_colorizer = pytest.importorskip("edgecolor.models.train_colorizer")  # needs torch
    entries = json.loads((root / "manifest.json").read_text())["entries"]
    assert [Path(e["file"]).name for e in train_colorizer.split_corpus(entries)[1]] == got


def test_no_gate_is_explicit_and_recorded(work):
    code, out = build(work / "m.onnx", "--precision", "fp16", "--no-gate", "--json")
    assert code == 0, out
    man = json.loads(out)
    assert man["gate"] == {"verdict": "skipped", "reason": "--no-gate"} and "--no-gate" in man["rebuild_command"]
    code, out = build(work / "m.onnx", "--precision", "fp16", "--no-gate")
    assert code == 0 and "accuracy gate skipped (--no-gate)" in out


def test_max_loss_db_sets_the_limit(work):
    truth = image_folder(work / "truth", 3, seed=4)
    code, out = build(work / "m.onnx", "--precision", "fp16", "--gate-data", truth, "--max-loss-db", "0.05", "--json")
    assert code == 0 and json.loads(out)["gate"]["limit_db"] == 0.05
    assert "--max-loss-db 0.05" in json.loads(out)["rebuild_command"]


@pytest.mark.parametrize("args", [["--no-gate", "--max-loss-db", "0.2"], ["--max-loss-db", "-1"],
                                  ["--gate-data", "nope"]])
def test_bad_gate_options_exit_2(work, args):
    code, out = build(work / "m.onnx", "--precision", "fp16", *args)
    assert code == 2 and one_error(out)


def test_style_model_gates_on_calibration_holdout_and_refuses_max_loss(work):
    style = tiny_style(work / "s.onnx")
    code, out = build(style, "--precision", "fp16", "--calib", work / "frames", "--gate-frames", "2", "--json")
    assert code == 0, out
    gate = json.loads(out)["gate"]
    assert gate["frames_source"].endswith("(calibration hold-out)") and gate["criterion"] == "psnr_vs_fp32 floor"
    code, out = build(style, "--precision", "fp16", "--calib", work / "frames", "--max-loss-db", "0.2")
    assert code == 2 and "colour truth" in one_error(out)


def test_exclude_keeps_gate_frames_out_of_calibration(tmp_path):
    folder = image_folder(tmp_path / "f", 12)
    gate = load_gate_frames("colorize", folder, None, count=2)
    frames = load_frames(folder, count=12, holdout=0, exclude=gate.digests)
    assert len(frames.calib) == 10 and not {i.split("#")[1] for i in frames.ids} & gate.digests


def test_colorizer_gate_falls_back_to_the_bundled_photos_and_needs_a_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for fold in (0, None):  # a fold model and a refit on every source alike
        gate = load_gate_frames("colorize", None, None, count=4, fold=fold)
        assert gate.source == str(gate_frames.BUNDLED) and len(gate.frames) == 4
    monkeypatch.setattr(gate_frames, "BUNDLED", tmp_path / "removed")
    with pytest.raises(InputError, match="no colour photos"):
        load_gate_frames("colorize", None, None, count=4)


def test_a_refit_on_every_source_is_gated_on_photos_it_never_trained_on(work):
    """A colorizer whose training record says it trained on every source (``val_fold`` null) holds no corpus
    photo out: its gate skips the corpus for data/eval, and refuses the corpus named explicitly."""
    import onnx

    corpus(work / "data" / "corpus", 20)
    image_folder(work / "data" / "eval", 3, seed=9)
    model = onnx.load(work / "m.onnx")
    meta = {p.key: p.value for p in model.metadata_props}
    onnx.helper.set_model_props(model, meta | {"edgecolor.training": json.dumps({"config": {"val_fold": None}})})
    onnx.save(model, work / "refit.onnx")
    code, out = build(work / "refit.onnx", "--precision", "fp16", "--json")
    assert code == 0 and json.loads(out)["gate"]["frames_source"] == "data/eval", out
    code, out = build(work / "refit.onnx", "--precision", "fp16", "--gate-data", work / "data" / "corpus")
    assert code == 2 and "the model trained on all its sources" in one_error(out)
    code, out = build(work / "m.onnx", "--precision", "fp16", "--json")  # no training record: fold 0's split
    assert code == 0 and json.loads(out)["gate"]["frames_source"] == "data/corpus (corpus validation split)"


@pytest.mark.parametrize("training, fold", [
    (None, 0), ({"config": {"val_fold": 2}}, 2), ({"config": {"val_fold": None}}, None),
    ({"config": {"val_fold": 7}}, 0), ({"config": {}}, 0), ([1, 2], 0),
])
def test_held_out_fold_reads_the_training_record(training, fold):
    from edgecolor.builder.gate_frames import held_out_fold

    meta = {} if training is None else {"edgecolor.training": json.dumps(training)}
    assert held_out_fold(FrameModelInfo.from_props(meta), "m.onnx") == fold


def test_a_corrupt_training_record_is_a_model_error():
    from edgecolor.builder.gate_frames import held_out_fold
    from edgecolor.errors import ModelError

    with pytest.raises(ModelError, match="m.onnx's edgecolor.training metadata"):
        held_out_fold(FrameModelInfo(training="{not json"), "m.onnx")
