"""After training: export the frame model, choose its default colour strength on validation photos,
and record provenance in the ONNX metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx

from edgecolor import __version__
from edgecolor.backends import open_engine
from edgecolor.backends.base import Engine
from edgecolor.data.corpus import load_manifest
from edgecolor.data.split import source_of, split_corpus
from edgecolor.errors import InputError
from edgecolor.graph.colorizer import with_chroma_curve
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.imageio import read_image
from edgecolor.models.colorizer import ANNEAL_T, CHROMA_BINS, ClassHead
from edgecolor.models.export import export_colorizer, load_colorizer
from edgecolor.models.scoring import STRENGTH_RULE, meets_strength_limits, pick_strength, strength_table
from edgecolor.models.train_colorizer import DECODERS, TrainConfig
from edgecolor.tempdirs import work_dir

# What a fold run must share with the refit it chooses for.
RECIPE_KEYS = ("steps", "batch", "lr", "weight_decay", "neutral_weight", "loss", "cache_crops", "val_every",
               "unfreeze_top", "encoder_lr", "texture_share", "decoder", "head", "rebalance", "class_neutral_weight",
               "encoder")
REFIT_RULE = ("cross-validation by source: one run per validation fold, the recipe's own; the refit on every "
              "source ships the step with the lowest mean validation RGB MSE (relative to gray) over the folds, "
              "and the colour strength the strength rule picks on the folds' held-out photos pooled, each "
              "colorized by the fold model that never trained on its source, given the refit's chroma curve")


def export_and_calibrate(run_dir: Path, corpus: Path, install_to: Path | None = None,
                         fold_runs: list[Path] | None = None, chroma_gamma: float = 0.0,
                         anneal_t: float = ANNEAL_T) -> dict:
    """Export ``run_dir``'s weights as a frame model, with the chroma curve of exponent ``chroma_gamma``
    (:func:`~edgecolor.graph.colorizer.with_chroma_curve`; 0: none), a class head's annealed mean at temperature
    ``anneal_t``, and its default colour strength chosen on held-out sources: the run's own validation photos, or,
    for a refit on every source (``val_fold`` None), the ``fold_runs``' (:data:`REFIT_RULE`); copy it to
    ``install_to`` if given."""
    info = json.loads((run_dir / "training.json").read_text())
    fold = info["config"].get("val_fold", 0)
    onnx_path = run_dir / "colorizer.onnx"
    entries = load_manifest(corpus)
    train, val = split_corpus(entries, fold)
    meta = FrameModelInfo(
        version=__version__,
        name="colorizer",
        architecture=f"EfficientNet-{info['config'].get('encoder', 'lite0').capitalize()} encoder (ImageNet, "
                     f"{'last stage fine-tuned' if info['config'].get('unfreeze_top') else 'frozen'}) "
                     f"+ U-Net decoder {list(DECODERS[info['config'].get('decoder', 'base')])}, "
                     + ("chroma at 112x112" if info["config"].get("head", "regression") == "regression" else
                        f"chroma at 112x112 as the annealed mean (T {anneal_t:g}) of {CHROMA_BINS} quantised "
                        "chroma classes"),
        training_data=f"{len(train)} photos from {', '.join(sorted({source_of(e) for e in train}))}",
        source="trained by edgecolor train colorizer",
    )
    training = {k: info.get(k) for k in ("steps_done", "train_seconds", "device", "torch_threads", "config",
                                         "train_sources", "val_sources", "selection", "val_rgb_mse_best",
                                         "val_gray_rgb_mse")}
    record: dict = {"rule": STRENGTH_RULE, "chroma_gamma": chroma_gamma}
    if fold is None:
        folds = fold_validation(fold_runs or [], info["config"], corpus, entries, chroma_gamma)
        step, curve = refit_step(folds)
        training |= {"exported_step": step, "folds": [f["run"] for f in folds]}
        shutil.copyfile(run_dir / f"step_{step}.pt", run_dir / "colorizer.pt")
        groups = [(lambda frame, s, e=run["engine"]: e(frame, colour_strength=s), run["photos"]) for run in folds]
        record |= {"rule": f"{REFIT_RULE}; strength rule: {STRENGTH_RULE}", "export_step": step,
                   "step_curve": curve}
    meta = meta.replace(training=json.dumps(training))
    model = load_colorizer(run_dir / "colorizer.pt")
    if isinstance(model.head, ClassHead):
        model.head.temperature = anneal_t
    export_colorizer(model, onnx_path, meta, colour_strength=1.0, chroma_gamma=chroma_gamma)
    if fold is not None:
        engine = open_engine(onnx_path, cpu_path="graph")
        photos = [(e["file"], read_image(corpus / e["file"])) for e in val]
        groups, folds = [(lambda f, s: engine(f, colour_strength=s), photos)], []
    table = strength_table(groups, per_group=bool(folds))
    strength = pick_strength(table)
    chosen = next(r for r in table if r["strength"] == strength)
    by_fold = chosen.get("groups", [])
    table = [{k: v for k, v in r.items() if k != "groups"} for r in table]
    rounded = [{k: round(v, 3) for k, v in r.items()} for r in table]
    record |= {"chosen": strength, "meets_every_limit": meets_strength_limits(chosen),
               "photos": sum(len(p) for _, p in groups), "table": rounded}
    if folds:
        record["folds"] = [{"run": f["run"], "val_fold": f["val_fold"], "val_sources": f["val_sources"],
                            "photos": len(f["photos"]), **{k: round(v, 3) for k, v in row.items()}}
                           for f, row in zip(folds, by_fold, strict=True)]
    meta = meta.replace(colour_strength_validation=json.dumps(record))
    export_colorizer(model, onnx_path, meta, colour_strength=strength, chroma_gamma=chroma_gamma)
    onnx.checker.check_model(str(onnx_path))
    if install_to is not None:
        install_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(onnx_path, install_to)
    return {"onnx": str(onnx_path), "colour_strength": strength, "chroma_gamma": chroma_gamma, "validation": table,
            **({"folds": record["folds"], "export_step": record["export_step"]} if folds else {})}


def fold_validation(fold_runs: list[Path], recipe: dict, corpus: Path, entries: list[dict],
                    chroma_gamma: float = 0.0) -> list[dict]:
    """Each finished fold run's model (given the chroma curve of exponent ``chroma_gamma`` in place of its
    own), held-out photos and validation curve; refuses runs that do not cover every fold once or that
    trained another recipe than ``recipe``."""
    from edgecolor.data.split import FOLDS

    folds = []
    for run in fold_runs:
        path, log_path = run / "training.json", run / "train_log.jsonl"
        if not (path.is_file() and (run / "colorizer.onnx").is_file() and log_path.is_file()):
            raise InputError(f"fold run {run} is not finished (no training.json, train_log.jsonl or colorizer.onnx)",
                             "let it finish, then re-run this command with --resume")
        info = json.loads(path.read_text())
        config = info["config"]
        default = {k: TrainConfig.__dataclass_fields__[k].default for k in RECIPE_KEYS}
        differs = [k for k in RECIPE_KEYS if config.get(k, default[k]) != recipe.get(k, default[k])]
        if differs:
            raise InputError(f"fold run {run} trained another recipe ({', '.join(differs)} differ)",
                             "train each fold with the same settings as the refit")
        fold = config.get("val_fold", 0)
        val = split_corpus(entries, fold)[1]
        curve = {r["step"]: r["val_rgb_mse"] / info["val_gray_rgb_mse"]
                 for r in map(json.loads, log_path.read_text().splitlines()) if "val_rgb_mse" in r}
        folds.append({"run": run.name, "val_fold": fold, "val_sources": sorted({source_of(e) for e in val}),
                      "photos": [(e["file"], read_image(corpus / e["file"])) for e in val], "curve": curve,
                      "engine": _curved_engine(run / "colorizer.onnx", chroma_gamma)})
    if sorted(f["val_fold"] for f in folds) != list(range(FOLDS)):
        raise InputError(f"the fold runs cover folds {sorted(f['val_fold'] for f in folds)}, not each of "
                         f"0..{FOLDS - 1} once", f"pass one finished run per fold (--val-fold 0 .. {FOLDS - 1})")
    return folds


def _curved_engine(path: Path, chroma_gamma: float) -> Engine:
    """The frame model at ``path`` with the chroma curve ``chroma_gamma`` (the file is left as it is)."""
    with work_dir("curve") as scratch:
        copy = scratch / path.name
        onnx.save(with_chroma_curve(onnx.load(str(path)), chroma_gamma), str(copy))
        return open_engine(copy, cpu_path="graph")  # the session holds the graph; the copy can go


def refit_step(folds: list[dict]) -> tuple[int, list[dict]]:
    """The validated step every fold logged with the lowest mean validation MSE relative to gray, and the curve."""
    steps = sorted(set.intersection(*(set(f["curve"]) for f in folds)))
    if not steps:
        raise InputError("the fold runs logged no validation step in common", "train them with the same --steps")
    curve = [{"step": s, "mean_val_mse_vs_gray": round(float(sum(f["curve"][s] for f in folds) / len(folds)), 4)}
             for s in steps]
    return min(curve, key=lambda r: r["mean_val_mse_vs_gray"])["step"], curve


RUN_RULE = ("among training runs, the one whose exported model has the best validation PSNR at its own default "
            "strength, of those meeting every strength-rule limit there (ratio >= 0.5, dE76 below gray, <= 10% of "
            "photos more than 2 dB below gray, false colour <= 0.04); validation = held-out sources, never the "
            "evaluation set")


def choose_run(run_dirs: list[Path], install_to: Path | None = None) -> dict:
    """Pick the run to ship by :data:`RUN_RULE`, from what each run's export recorded on the validation photos
    (its ``colour_strength_validation`` metadata); record every candidate in the chosen model's
    ``model_selection`` metadata and, with ``install_to``, copy the model there."""
    candidates = []
    for run in run_dirs:
        path = run / "colorizer.onnx"
        if not path.is_file():
            raise InputError(f"{run} has no exported colorizer.onnx", "finish or export the run first")
        recorded = FrameModelInfo.read_file(path)
        record = recorded.record("colour_strength_validation", str(path))
        # The recorded table's strengths are rounded to 3 decimals (0.3125 reads 0.312): the nearest row is the one.
        row = min(record["table"], key=lambda r: abs(r["strength"] - record["chosen"]))
        if "false_colour" not in row:  # exported before the false-colour limit: cannot be judged on it
            raise InputError(f"{path}'s validation record has no false colour (exported before that limit)",
                             "re-export the run with this version of edgecolor, which measures it on validation")
        config = (recorded.record("training", str(path)) or {}).get("config", {})
        candidates.append({
            "run": run.name, "neutral_weight": config.get("neutral_weight"), "steps": config.get("steps"),
            "seed": config.get("seed"), "lr": config.get("lr"), "unfreeze_top": config.get("unfreeze_top", False),
            "texture_share": config.get("texture_share"), "decoder": config.get("decoder", "base"),
            "head": config.get("head", "regression"), "strength": record["chosen"],
            "val_psnr_db": row["psnr_db"], "val_gray_psnr_db": row["gray_psnr_db"],
            "val_colourfulness_ratio": row["colourfulness_ratio"], "val_bad_fraction": row["bad_fraction"],
            "val_false_colour": row.get("false_colour"),
            "qualifies": meets_strength_limits(row)})
    pool = [c for c in candidates if c["qualifies"]] or candidates
    best = max(pool, key=lambda c: c["val_psnr_db"])
    chosen = next(run for run in run_dirs if run.name == best["run"]) / "colorizer.onnx"
    selection = {"rule": RUN_RULE, "chosen": best["run"], "candidates": candidates}
    if install_to is not None:
        model = onnx.load(str(chosen))
        FrameModelInfo.read(model).replace(model_selection=json.dumps(selection)).write(model)
        onnx.checker.check_model(model)
        install_to.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(install_to))
    return selection
