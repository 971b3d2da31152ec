"""A colorizer's strength table on one validation fold's held-out photos, and the strength the strength rule
picks there (issue 32: the shipped model scored at the strength the same rule picks for it on the indoor fold,
so a retrained candidate and the shipped model get the same tuning). Not a test.

    PYTHONPATH=. .venv/bin/python benchmarks/colorizer_fold_strengths.py --corpus data/corpus --fold 2 \\
        --model edgecolor/assets/colorizer.onnx --out benchmarks/results/NAME.json

Refuses a model that trained on any of the fold's sources (as ``edgecolor eval colorizer --validation`` does).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgecolor.backends import open_engine
from edgecolor.evaluation.colorizer import load_validation_photos, refuse_trained_on
from edgecolor.models.scoring import STRENGTH_RULE, meets_strength_limits, pick_strength, strength_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    ap.add_argument("--fold", type=int, default=2)
    ap.add_argument("--model", type=Path, default=Path("edgecolor/assets/colorizer.onnx"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    photos = load_validation_photos(args.corpus, args.fold)
    engine = open_engine(args.model, cpu_path="graph")
    refuse_trained_on(engine.info, args.fold, str(args.model), {name.split("/")[0] for name, _ in photos})
    table = strength_table([(lambda f, s: engine(f, colour_strength=s), photos)])
    chosen = pick_strength(table)
    row = next(r for r in table if r["strength"] == chosen)
    result = {"model": str(args.model), "corpus": str(args.corpus), "fold": args.fold, "photos": len(photos),
              "rule": STRENGTH_RULE, "chosen": chosen, "meets_every_limit": meets_strength_limits(row),
              "default_strength": engine.defaults.get("colour_strength"),
              "table": [{k: round(v, 4) for k, v in r.items()} for r in table]}
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "table"} | {"chosen_row": row}, indent=1))


if __name__ == "__main__":
    main()
