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
from edgecolor.jobs.eval_colorizer import STRENGTH_RULE, choose_colour_strength
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
        "edgecolor.architecture": "EfficientNet-Lite0 encoder (ImageNet, frozen) + U-Net decoder, chroma at 112x112",
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
