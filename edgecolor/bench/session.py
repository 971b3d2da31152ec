"""One ``edgecolor bench`` run: engines x resolutions x modes (x sinks), as rows of the report.

The CLI (``edgecolor.cli.bench``) parses options into a :class:`BenchPlan` and prints; this module opens the
engines, times every row and computes the pipeline/engine ratios, so the bench can be driven from Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.bench.stats import summarise
from edgecolor.errors import EdgecolorError


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
    rounds: int = 1

    @property
    def rows_per_engine(self) -> int:
        per_res = ("engine" in self.modes) + ("pipeline" in self.modes) * len(self.sinks)
        return per_res * len(self.resolutions)


EngineKey = tuple[Path, str, int]  # model file, CPU path ("tensorrt" for a TensorRT engine), streams


def open_engines(chosen: list[tuple[Path, str]], threads: int, streams: list[int] | None = None
                 ) -> tuple[dict[EngineKey, Engine], list[dict[str, str]]]:
    """One engine per (model file, CPU path, streams), through the one loader
    (:func:`edgecolor.backends.open_engine`): a file whose manifest says TensorRT runs on TensorRT, everything
    else (frame models, ``edgecolor build``'s CPU engines) on the CPU path asked for, with each of ``streams``
    (default: one stream). Also returns the models that could not be opened (``model``, ``path``, ``error``):
    the others are still timed; when none opens, the first one's error is raised."""
    from edgecolor.backends import open_engine

    engines: dict[EngineKey, Engine] = {}
    failed: list[dict[str, str]] = []
    first: EdgecolorError | None = None
    try:
        for path, cpu_path in chosen:
            for n in streams or [1]:
                try:
                    engine = open_engine(path, cpu_path=cpu_path, threads=threads, streams=n)
                except EdgecolorError as err:
                    first = first or err
                    failed.append({"model": Path(path).stem, "path": str(path), "error": str(err)})
                    break  # the other stream counts of this model would fail alike
                engines[(path, "tensorrt" if engine.backend == "tensorrt" else cpu_path, n)] = engine
    except BaseException:
        for engine in engines.values():
            engine.close()
        raise
    if not engines and first is not None:
        raise first
    return engines, failed


@dataclass
class _Row:
    """One row's measurements, accumulated over the rounds."""

    label: str
    fields: dict[str, Any]
    latencies: list[float] = field(default_factory=list)
    from_submit: list[float] = field(default_factory=list)  # pipeline rows: latency less the input-queue wait
    wall_s: float = 0.0
    frames: int = 0
    stages: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    times: list[dict[str, Any]] = field(default_factory=list)
    round_fps: list[float] = field(default_factory=list)


def _budget(plan: BenchPlan, round_index: int) -> tuple[float | None, int | None]:
    """This round's share of ``--duration`` or ``--iterations``."""
    if plan.iterations is not None:
        share, extra = divmod(plan.iterations, plan.rounds)
        return None, max(1, share + (round_index < extra))
    return (plan.duration_s or 10.0) / plan.rounds, None


def run_rows(engines: dict[EngineKey, Engine], plan: BenchPlan, folder: Path,
             describe: Callable[[str], None], done: Callable[[dict], None]) -> tuple[list[dict], list[dict]]:
    """Time every row, ``plan.rounds`` times round-robin (each round a share of the budget, so the load of
    other jobs on the machine spreads over the rows instead of favouring the first); ``describe`` gets a
    progress line (about once a second), ``done`` each finished row. Returns the rows and, with
    ``plan.export_times``, every iteration's times."""
    from edgecolor.bench.pipeline_mode import latency_summary, time_pipeline
    from edgecolor.bench.runner import test_frame, time_calls
    from edgecolor.stream.pipeline import stage_summary

    jobs: list[tuple[Engine, int, int, str | None, _Row]] = []
    for (path, row_cpu_path, streams), engine in engines.items():
        for name, h, w in plan.resolutions:
            for mode, sink in ([("engine", None)] if "engine" in plan.modes else []) + (
                    [("pipeline", s) for s in plan.sinks] if "pipeline" in plan.modes else []):
                label = (f"bench {path.stem}{f' x{streams} streams' if streams > 1 else ''} {name} {mode}"
                         f"{' -> ' + sink if sink else ''}")
                fields = {"model": path.stem, "path": str(path), "backend": engine.backend, "cpu_path": row_cpu_path,
                          "streams": streams, "mode": mode, "resolution": name, "height": h, "width": w}
                jobs.append((engine, h, w, sink, _Row(label, fields | ({"sink": sink} if sink else {}))))
    rows: list[dict] = []
    for round_index in range(plan.rounds):
        duration_s, iterations = _budget(plan, round_index)
        warmup_s = plan.warmup_s if round_index == 0 else 0.0  # later rounds: the engine is warm
        for last, (engine, h, w, sink, row) in ((round_index == plan.rounds - 1, j) for j in jobs):
            prefix = row.label + (f" (round {round_index + 1}/{plan.rounds})" if plan.rounds > 1 else "")
            describe(prefix)

            def tick(fraction: float, prefix: str = prefix) -> None:
                describe(f"{prefix} {fraction:4.0%}")

            if row.fields["mode"] == "engine":
                frame = test_frame(h, w)
                record: list[tuple[float, float]] = []

                def once(f: np.ndarray = frame, e: Engine = engine) -> object:
                    return e.submit(f) if e.streams > 1 else e(f)

                # a streams engine keeps every stream busy: one frame more in flight than streams (as the pipeline)
                depth = engine.streams + 1 if engine.streams > 1 else 1
                stats = time_calls(once, warmup_s, duration_s, iterations, plan.percentiles, record, tick,
                                   in_flight=depth)
                row.latencies += [x for _, x in record]
                row.times += [{"round": round_index, "start_ms": round(t, 3), "latency_ms": round(x, 3)}
                              for t, x in record]
            else:
                per_frame: dict[str, Any] = {}
                stats, extra = time_pipeline(engine, h, w, warmup_s, folder, duration_s, iterations, sink or "null",
                                             plan.percentiles, per_frame, tick)
                row.latencies += per_frame["latency_ms"]
                row.from_submit += per_frame["from_submit_ms"]
                row.counts["reads_ahead"] = extra["reads_ahead"]
                for stage, values in per_frame["stages_ms"].items():
                    row.stages.setdefault(stage, []).extend(values)
                for key in ("dropped", "skipped", "sink_dropped"):
                    row.counts[key] = row.counts.get(key, 0) + extra[key]
                if "client" in extra:
                    client = row.counts.setdefault("client", {"frames_received": 0, "bytes": 0})
                    for key in client:
                        client[key] += extra["client"][key]
                row.times.append({"round": round_index, **per_frame})
            row.wall_s += stats.wall_s
            row.frames += stats.frames
            row.round_fps.append(round(stats.frames / stats.wall_s, 3) if stats.wall_s > 0 else 0.0)
            if last:
                merged = summarise(row.latencies, row.wall_s, row.frames, plan.percentiles).as_dict()
                result = row.fields | merged | row.counts | ({"stages_ms": stage_summary(row.stages)}
                                                             if row.stages else {})
                if row.fields["mode"] == "pipeline":
                    result["latency_from_submit_ms"] = latency_summary(row.from_submit)
                result["rounds"] = plan.rounds
                result["round_fps"] = row.round_fps  # round i of every row ran in the same stretch of time
                rows.append(result)
                done(result)
    exported = [{k: j[4].fields.get(k) for k in ("model", "backend", "streams", "mode", "resolution", "sink")}
                | {"times": j[4].times} for j in jobs] if plan.export_times else []
    return rows, exported


def pipeline_ratios(rows: list[dict]) -> list[dict]:
    """Pipeline-mode frames/s over engine-mode frames/s of the same engine and resolution, in this run, and a
    watched browser view's over the null sink's. Besides the ratio of the totals, each round's ratio (round i
    of both rows ran back to back, under the same load) and their min / median / max: how far one round can
    sway the verdict on a shared or noisy machine."""
    def key(r: dict) -> tuple[str, str, int, str]:
        return r["path"], r["cpu_path"], r.get("streams", 1), r["resolution"]

    engine = {key(r): r for r in rows if r["mode"] == "engine"}
    null = {key(r): r for r in rows if r["mode"] == "pipeline" and r.get("sink") == "null"}
    out = []
    for r in rows:
        if r["mode"] != "pipeline":
            continue
        ratio = {"model": r["model"], "cpu_path": r["cpu_path"], "streams": r.get("streams", 1),
                 "resolution": r["resolution"], "sink": r["sink"]}
        found = False
        for name, base in (("pipeline_vs_engine", engine.get(key(r))),
                           ("vs_null_sink", null.get(key(r)) if r["sink"] != "null" else None)):
            if base and base["throughput_fps"]:
                ratio[name] = round(r["throughput_fps"] / base["throughput_fps"], 3)
                ratio[name + "_rounds"] = _round_spread(r.get("round_fps", []), base.get("round_fps", []))
                found = True
        if found:
            out.append(ratio)
    return out


def streams_gain(rows: list[dict]) -> list[dict]:
    """Each row of a streams engine against the same row with one stream, in this run: frames/s ratio and its
    per-round spread (as :func:`pipeline_ratios`)."""
    def key(r: dict) -> tuple[Any, ...]:
        return r["path"], r["cpu_path"], r["mode"], r.get("sink"), r["resolution"]

    one = {key(r): r for r in rows if r.get("streams", 1) == 1}
    out = []
    for r in rows:
        base = one.get(key(r))
        if r.get("streams", 1) > 1 and base and base["throughput_fps"]:
            out.append({"model": r["model"], "cpu_path": r["cpu_path"], "mode": r["mode"], "sink": r.get("sink"),
                        "resolution": r["resolution"], "streams": r["streams"],
                        "vs_one_stream": round(r["throughput_fps"] / base["throughput_fps"], 3),
                        "rounds": _round_spread(r.get("round_fps", []), base.get("round_fps", []))})
    return out


def _round_spread(fps: list[float], base: list[float]) -> dict[str, Any]:
    """Per-round ratios ``fps[i] / base[i]`` with their min, median and max."""
    per = [round(a / b, 3) for a, b in zip(fps, base, strict=True) if b > 0]
    if not per:
        return {}
    return {"each": per, "min": min(per), "median": round(float(np.median(per)), 3), "max": max(per)}


def write_times(path: Path, report: dict) -> None:
    """``--export-times``: the per-iteration record, written atomically."""
    from edgecolor.imageio import atomic_output

    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
