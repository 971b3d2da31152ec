"""After training: export the frame model, choose its default colour strength on validation photos,
and record provenance in the ONNX metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx

from edgecolor import __version__
from edgecolor.backends import open_engine
from edgecolor.data.corpus import load_manifest
from edgecolor.data.split import source_of, split_corpus
from edgecolor.imageio import read_image
from edgecolor.jobs.eval_colorizer import STRENGTH_RULE, choose_colour_strength, meets_strength_limits
from edgecolor.models.export import export_colorizer, load_colorizer


def export_and_calibrate(run_dir: Path, corpus: Path, install_to: Path | None = None) -> dict:
    info = json.loads((run_dir / "training.json").read_text())
    model = load_colorizer(run_dir / "colorizer.pt")
    onnx_path = run_dir / "colorizer.onnx"
    entries = load_manifest(corpus)
    train, val = split_corpus(entries)
    sources = sorted({source_of(e) for e in train})
    meta = {
        "edgecolor.version": __version__,
        "edgecolor.name": "colorizer",
        "edgecolor.architecture": "EfficientNet-Lite0 encoder (ImageNet, "
                                  f"{'last stage fine-tuned' if info['config'].get('unfreeze_top') else 'frozen'}) "
                                  "+ U-Net decoder, chroma at 112x112",
        "edgecolor.training_data": f"{len(train)} photos from {', '.join(sources)}",
        "edgecolor.training": json.dumps({k: info.get(k) for k in (
            "steps_done", "train_seconds", "device", "torch_threads", "config", "train_sources", "val_sources",
            "selection", "val_rgb_mse_best", "val_gray_rgb_mse")}),
        "edgecolor.source": "trained by edgecolor train colorizer",
    }
    export_colorizer(model, onnx_path, meta, colour_strength=1.0)
    engine = open_engine(onnx_path, cpu_path="graph")
    photos = [(e["file"], read_image(corpus / e["file"])) for e in val]
    strength, table = choose_colour_strength(lambda f, s: engine(f, colour_strength=s), photos)
    meta["edgecolor.colour_strength_validation"] = json.dumps(
        {"chosen": strength, "rule": STRENGTH_RULE,
         "photos": len(photos), "table": [{k: round(v, 3) for k, v in r.items()} for r in table]})
    export_colorizer(model, onnx_path, meta, colour_strength=strength)
    onnx.checker.check_model(str(onnx_path))
    if install_to is not None:
        install_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(onnx_path, install_to)
    return {"onnx": str(onnx_path), "colour_strength": strength, "validation": table}


RUN_RULE = ("among training runs, the one whose exported model has the best validation PSNR at its own default "
            "strength, of those meeting every strength-rule limit there (ratio >= 0.5, dE76 below gray, <= 10% of "
            "photos more than 2 dB below gray); validation = held-out sources, never the evaluation set")


def choose_run(run_dirs: list[Path], install_to: Path | None = None) -> dict:
    """Pick the run to ship by :data:`RUN_RULE`, from what each run's export recorded on the validation photos
    (``edgecolor.colour_strength_validation``); record every candidate in the chosen model's
    ``edgecolor.model_selection`` metadata and, with ``install_to``, copy the model there."""
    from onnx import helper

    from edgecolor import jsonio
    from edgecolor.errors import InputError, ModelError

    candidates = []
    for run in run_dirs:
        path = run / "colorizer.onnx"
        if not path.is_file():
            raise InputError(f"{run} has no exported colorizer.onnx", "finish or export the run first")
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        record = jsonio.loads(meta["edgecolor.colour_strength_validation"], f"{path}'s validation record", ModelError)
        row = next(r for r in record["table"] if r["strength"] == record["chosen"])
        config = jsonio.loads(meta["edgecolor.training"], f"{path}'s training record", ModelError).get("config", {})
        candidates.append({
            "run": run.name, "neutral_weight": config.get("neutral_weight"), "steps": config.get("steps"),
            "seed": config.get("seed"), "lr": config.get("lr"), "unfreeze_top": config.get("unfreeze_top", False),
            "strength": record["chosen"],
            "val_psnr_db": row["psnr_db"], "val_gray_psnr_db": row["gray_psnr_db"],
            "val_colourfulness_ratio": row["colourfulness_ratio"], "val_bad_fraction": row["bad_fraction"],
            "qualifies": meets_strength_limits(row)})
    pool = [c for c in candidates if c["qualifies"]] or candidates
    best = max(pool, key=lambda c: c["val_psnr_db"])
    chosen = next(run for run in run_dirs if run.name == best["run"]) / "colorizer.onnx"
    selection = {"rule": RUN_RULE, "chosen": best["run"], "candidates": candidates}
    if install_to is not None:
        model = onnx.load(str(chosen))
        meta = {p.key: p.value for p in model.metadata_props}
        helper.set_model_props(model, meta | {"edgecolor.model_selection": json.dumps(selection)})
        onnx.checker.check_model(model)
        install_to.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(install_to))
    return selection
