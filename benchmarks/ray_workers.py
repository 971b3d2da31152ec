"""--on ray throughput with 1 and 2 local workers against the plain single-process command, in one run.

    python benchmarks/ray_workers.py [--photos 48] [--out benchmarks/results/ray-workers-DATE.json]

Photos: synthetic 640x480 grayscale gradients+noise written to a temporary folder (the speed does not depend
on content). Ray is started once before timing (its start-up, ~10-20 s here, is reported separately); each
row times one whole job (plan, actors starting and loading the engine, all outputs written).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edgecolor.backends import open_engine
from edgecolor.batch.ray_jobs import RayOptions, run_on_ray
from edgecolor.jobs.files import plan, run_job
from edgecolor.registry import resolve_model


def photos(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        base = np.linspace(0, 255, 640)[None, :] * rng.uniform(0.3, 1) + rng.normal(0, 20, (480, 640))
        cv2.imwrite(str(folder / f"p{i:03d}.png"), np.clip(base, 0, 255).astype(np.uint8))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=48)
    ap.add_argument("--out", type=Path,
                    default=Path(f"benchmarks/results/ray-workers-{time.strftime('%Y-%m-%d')}.json"))
    args = ap.parse_args()
    import ray

    model = Path(resolve_model("colorizer"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = photos(Path(tmp) / "in", args.photos)
        t0 = time.perf_counter()
        engine = open_engine(model, cpu_path="auto", threads=1)
        for job in plan([src], Path(tmp) / "local"):
            run_job(job, engine)
        local = time.perf_counter() - t0
        rows.append({"run": "single process (plain colorize), 1 thread", "seconds": round(local, 2),
                     "images_per_s": round(args.photos / local, 2)})
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        rows.append({"run": "ray.init (local, once)", "seconds": round(time.perf_counter() - t0, 2)})
        for workers in (1, 2):
            t0 = time.perf_counter()
            s = run_on_ray(plan([src], Path(tmp) / f"ray{workers}"), model, {}, "auto", RayOptions(workers=workers))
            took = time.perf_counter() - t0
            rows.append({"run": f"--on ray --workers {workers} (1 ONNX Runtime thread each)", "seconds": round(took, 2),
                         "images_per_s": round(s["written"] / took, 2), "written": s["written"]})
        ray.shutdown()
    flags = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    report = {"photos": args.photos, "size": "640x480", "rows": rows,
              "lscpu_flags": next((ln for ln in flags.splitlines() if ln.startswith("Flags")), ""),
              "cpu": next((ln for ln in flags.splitlines() if ln.startswith("Model name")), "")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
