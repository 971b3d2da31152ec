"""One ``edgecolor bench`` run: engines x resolutions x modes (x sinks), as rows of the report.

The CLI (``edgecolor.cli.bench``) parses options into a :class:`BenchPlan` and prints; this module opens the
engines, times every row and computes the pipeline/engine ratios, so the bench can be driven from Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine

TRT_SUFFIXES = (".engine", ".plan")


@dataclass(frozen=True)
class BenchPlan:
    modes: list[str]  # engine | pipeline
    sinks: list[str]  # pipeline mode's sinks: null | http
    resolutions: list[tuple[str, int, int]]
    warmup_s: float
    duration_s: float | None
    iterations: int | None
    percentiles: list[float]
    export_times: bool = False

    @property
    def rows_per_engine(self) -> int:
        per_res = ("engine" in self.modes) + ("pipeline" in self.modes) * len(self.sinks)
        return per_res * len(self.resolutions)


def open_engines(chosen: list[tuple[Path, str]], threads: int) -> dict[tuple[Path, str], Engine]:
    """One engine per (model file, CPU path): TensorRT plans (``.engine``/``.plan`` with their manifest) run on
    TensorRT, everything else (frame models, ``edgecolor build``'s CPU engines) on the CPU path asked for."""
    from edgecolor.backends import open_cpu_engine

    engines: dict[tuple[Path, str], Engine] = {}
    try:
        for path, cpu_path in chosen:
            if path.suffix.lower() in TRT_SUFFIXES:
                from edgecolor.backends.tensorrt_runtime import TrtEngine

                engines[(path, "tensorrt")] = TrtEngine(path)
            else:
                engines[(path, cpu_path)] = open_cpu_engine(path, cpu_path, threads)
    except BaseException:
        for engine in engines.values():
            engine.close()
        raise
    return engines


def run_rows(engines: dict[tuple[Path, str], Engine], plan: BenchPlan, folder: Path,
             describe: Callable[[str], None], done: Callable[[dict], None]) -> tuple[list[dict], list[dict]]:
    """Time every row; ``describe`` gets a progress line (about once a second), ``done`` each finished row.
    Returns the rows and, with ``plan.export_times``, every iteration's times."""
    from edgecolor.bench.pipeline_mode import time_pipeline
    from edgecolor.bench.runner import test_frame, time_calls

    rows: list[dict] = []
    exported: list[dict] = []
    for (path, row_cpu_path), engine in engines.items():
        for name, h, w in plan.resolutions:
            jobs = ([("engine", None)] if "engine" in plan.modes else []) + (
                [("pipeline", s) for s in plan.sinks] if "pipeline" in plan.modes else [])
            for mode, sink in jobs:
                label = f"bench {path.stem} {name} {mode}{' -> ' + sink if sink else ''}"
                describe(label)

                def tick(fraction: float, label: str = label) -> None:
                    describe(f"{label} {fraction:4.0%}")

                extra: dict[str, Any] = {}
                record: Any = [] if mode == "engine" else {}
                if mode == "engine":
                    frame = test_frame(h, w)

                    def once(f: np.ndarray = frame, e: Engine = engine) -> object:
                        return e(f)

                    stats = time_calls(once, plan.warmup_s, plan.duration_s, plan.iterations, plan.percentiles,
                                       record, tick)
                    times: dict[str, Any] = {"iterations": [{"start_ms": round(s, 3), "latency_ms": round(x, 3)}
                                                            for s, x in record]}
                else:
                    stats, extra = time_pipeline(engine, h, w, plan.warmup_s, folder, plan.duration_s,
                                                 plan.iterations, sink or "null", plan.percentiles, record, tick)
                    times = record
                row = {"model": path.stem, "path": str(path), "backend": engine.backend, "cpu_path": row_cpu_path,
                       "mode": mode, "resolution": name, "height": h, "width": w, **stats.as_dict(), **extra}
                rows.append(row)
                if plan.export_times:
                    exported.append({k: row[k] for k in ("model", "backend", "mode", "resolution")}
                                    | {"sink": sink} | times)
                done(row)
    return rows, exported


def pipeline_ratios(rows: list[dict]) -> list[dict]:
    """Pipeline-mode frames/s over engine-mode frames/s of the same engine and resolution, in this run."""
    engine_fps = {(r["path"], r["cpu_path"], r["resolution"]): r["throughput_fps"] for r in rows
                  if r["mode"] == "engine"}
    out = []
    for r in rows:
        base = engine_fps.get((r["path"], r["cpu_path"], r["resolution"]))
        if r["mode"] == "pipeline" and base:
            out.append({"model": r["model"], "cpu_path": r["cpu_path"], "resolution": r["resolution"],
                        "sink": r["sink"], "pipeline_vs_engine": round(r["throughput_fps"] / base, 3)})
    return out


def write_times(path: Path, report: dict) -> None:
    """``--export-times``: the per-iteration record, written atomically."""
    from edgecolor.imageio import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
