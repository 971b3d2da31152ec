"""A colorizer with the corpus's luma prior inside its network, and its strength table on one validation fold.

The prior is the luma-lookup table of the photos the fold trains on (``edgecolor eval colorizer --lookup-from``
builds the same one), times ``--gain``, added to the network's chroma before the chroma curve by
:func:`edgecolor.models.tune_graph.with_site_prior` (the graph ``edgecolor tune`` gives a site's table). The model
is written with the strength the strength rule picks on the fold's held-out photos as its default, and how it was
chosen in its metadata, as an export records it. Not a test.

    PYTHONPATH=. .venv/bin/python benchmarks/colorizer_with_corpus_prior.py --corpus data/corpus --fold 2 \\
        --model runs/colorizer-indoor-i4/colorizer.onnx --gain 0.5 --out-model runs/prior/i4-p05.onnx \\
        --out benchmarks/results/NAME.json

Refuses a base model that trained on any of the fold's sources (as ``edgecolor eval colorizer --validation`` does).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import onnx

from edgecolor.backends import open_engine
from edgecolor.evaluation.colorizer import load_validation_photos, lookup_baseline, refuse_trained_on
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import with_extra_default
from edgecolor.models.scoring import STRENGTH_RULE, meets_strength_limits, pick_strength, strength_table
from edgecolor.models.tune_graph import with_site_prior


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    ap.add_argument("--fold", type=int, default=2)
    ap.add_argument("--model", type=Path, required=True, help="the base colorizer, trained with --val-fold FOLD")
    ap.add_argument("--gain", type=float, required=True, help="the prior's table is multiplied by this")
    ap.add_argument("--out-model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="the record (JSON)")
    args = ap.parse_args()
    started = time.monotonic()
    photos = load_validation_photos(args.corpus, args.fold)
    base = onnx.load(str(args.model))
    refuse_trained_on(FrameModelInfo.read(base), args.fold, str(args.model), {n.split("/")[0] for n, _ in photos})
    lookup, built = lookup_baseline(args.corpus, photos, args.fold)
    model = with_site_prior(base, args.gain * lookup.chroma)
    args.out_model.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out_model))
    engine = open_engine(args.out_model, cpu_path="graph")
    table = strength_table([(lambda f, s: engine(f, colour_strength=s), photos)])
    chosen = pick_strength(table)
    row = next(r for r in table if r["strength"] == chosen)
    prior = {"what": "luma-lookup table (mean centred chroma per luma level) of the photos the fold trains on, times "
                     "the gain, added to the network's chroma before the chroma curve", "gain": args.gain} | built
    strength_record = {"rule": f"{STRENGTH_RULE}; fold {args.fold}", "chosen": chosen,
                       "meets_every_limit": meets_strength_limits(row), "photos": len(photos),
                       "table": [{k: round(v, 4) for k, v in r.items()} for r in table]}
    info = FrameModelInfo.read(model)
    model = with_extra_default(model, "colour_strength", chosen)
    info.replace(source=f"{info.source}; plus the corpus's luma prior (gain {args.gain:g})",
                 colour_strength_validation=json.dumps(strength_record)).write(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(args.out_model))
    result = {"base_model": str(args.model), "model": str(args.out_model), "corpus": str(args.corpus),
              "fold": args.fold, "prior": prior, "seconds": round(time.monotonic() - started, 1)} | strength_record
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "table"} | {"chosen_row": row}, indent=1))


if __name__ == "__main__":
    main()
