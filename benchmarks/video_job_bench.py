"""What the video stage costs: ``colorize`` of a 720p clip (the pipeline bench's, 120 frames, H.264 output) with
the default stage (stabiliser, colour test) against ``--no-stabilize --recolour`` (frames one by one).

Usage: PYTHONPATH=. python benchmarks/video_job_bench.py [--rounds 3] > results/NAME.json

Rows alternate round by round, so a neighbour's load falls on both alike; frames/s is frames over the job's wall
time (decode, engine, stage, encode).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from edgecolor.backends import open_engine
    from edgecolor.bench.runner import make_clip
    from edgecolor.jobs.files import Job, run_job
    from edgecolor.registry import resolve_model
    from edgecolor.stream.temporal import TemporalConfig
    from edgecolor.system import describe_machine

    variants = {"default": TemporalConfig(), "no_stabilize_recolour": TemporalConfig(stabilize=False,
                                                                                     passthrough=False)}
    rows: dict[str, list[float]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(720, 1280, Path(tmp))
        engine = open_engine(resolve_model("colorizer"))
        for r in range(args.rounds):
            for name, config in variants.items():
                res = run_job(Job(clip, Path(tmp) / f"{name}-{r}.mp4", "video"), engine, temporal=config)
                rows[name].append(round(res.frames / res.seconds, 2))
                print(name, rows[name], file=sys.stderr)
    median = {k: float(np.median(v)) for k, v in rows.items()}
    json.dump({"machine": describe_machine(), "clip": "bundled clip at 1280x720, 120 frames (bench's make_clip)",
               "frames_per_s": rows, "median": median,
               "default_over_plain": round(median["default"] / median["no_stabilize_recolour"], 3)},
              sys.stdout, indent=1)


if __name__ == "__main__":
    main()
