"""Soak the streaming pipeline: a looping clip for N minutes, sampling RSS and frame times.

Pass: RSS growth after warm-up <= 5 MB and no gap between outputs longer than 1 s (see edgecolor/bench/soak.py).
The full run (30 minutes, the shipped colorizer on the bundled clip):

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/soak.py --minutes 30 --warmup 60 --json out/soak.json

Results are recorded in benchmarks/soak_results.md with the date and machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from edgecolor.backends import open_engine
from edgecolor.bench.soak import soak
from edgecolor.registry import SAMPLE_CLIP, resolve_model
from edgecolor.system import describe_machine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS growth is counted")
    ap.add_argument("--model", default="colorizer", help="shipped model name or frame-model .onnx")
    ap.add_argument("--clip", type=Path, default=SAMPLE_CLIP)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the full result (with every RSS sample) here")
    args = ap.parse_args()
    engine = open_engine(resolve_model(args.model), cpu_path="auto", threads=args.threads)
    result = soak(engine, args.clip, args.minutes * 60, args.warmup)
    result |= {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "model": args.model, "machine": describe_machine()}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    short = {k: v for k, v in result.items() if k not in ("rss_samples", "machine")}
    print(json.dumps(short, indent=1))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
