"""``edgecolor bench``: throughput and latency percentiles (trtexec definitions) per model and resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from edgecolor.backends.base import Engine
from edgecolor.cli._common import JsonOpt, console, emit_json, out, progress
from edgecolor.cli._numbers import THREADS, bounded


def _gate(path: Path) -> dict | None:
    """The accuracy gate's record from a built engine's manifest (None for an FP32 / unbuilt model)."""
    from edgecolor.build import manifest as mf

    try:
        man = mf.read(path)
    except mf.StaleEngine:  # no or unreadable sidecar: an unbuilt model has no recorded accuracy
        return None
    return mf.accuracy(man) if man.get("precision") != "fp32" else None


def _auto(path: Path) -> dict | None:
    """What ``build --precision auto`` chose for this CPU and why (a built engine's manifest), else None."""
    from edgecolor.build import manifest as mf

    try:
        return mf.read(path).get("auto")
    except mf.StaleEngine:
        return None


def bench(
    models: Annotated[list[str] | None, typer.Argument(help="Shipped model names, frame-model .onnx files or "
                                                              "CPU engines from 'edgecolor build'; MODEL@CPU_PATH "
                                                              "runs that one on another --cpu-path.")] = None,
    resolutions: Annotated[str, typer.Option(help="Comma list: 360p,480p,720p,1080p,4k or WxH.")] = "480p,720p,1080p",
    mode: Annotated[str, typer.Option(help="engine: one inference per frame; pipeline: file source -> engine -> "
                                           "null sink, the real end-to-end path.")] = "engine",
    cpu_path: Annotated[str, typer.Option(help="auto | graph | split (colorizer colour math in OpenCV) | openvino | "
                                               "openvino-bf16 (split, network on OpenVINO).")] = "auto",
    warmup: Annotated[float, typer.Option(help="Untimed warm-up seconds per row (0..3600).",
                                          callback=bounded(0, 3600))] = 2.0,
    duration: Annotated[float | None, typer.Option(help="Timed seconds per row (engine mode; default 10; max 86400).",
                                                   callback=bounded(0, 86400, above=True))] = None,
    iterations: Annotated[int | None, typer.Option(help="Timed frames per row, instead of --duration.",
                                                   callback=bounded(1, 10**8))] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores; at most 256).",
                                         callback=THREADS)] = 0,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of throughput and p99 per resolution "
                                                    "(needs matplotlib).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark frame models on the CPU: throughput = frames / wall time after warm-up; latency p50/p90/p95/p99,
    mean, min, max. Rows of built INT8/FP16 engines carry their accuracy gate's record from the manifest.

    \b
    Example: edgecolor bench colorizer engines/colorizer-int8-cpu.onnx --resolutions 720p,1080p --json
    """
    from edgecolor.backends import open_engine
    from edgecolor.bench.machine import describe_machine
    from edgecolor.bench.runner import parse_resolutions, test_frame, time_calls, time_pipeline
    from edgecolor.errors import InputError
    from edgecolor.registry import resolve_model
    from edgecolor.tempdirs import work_dir

    if mode not in ("engine", "pipeline"):
        raise InputError(f"unknown mode '{mode}'", "use --mode engine or --mode pipeline")
    if duration is None and iterations is None:
        duration = 10.0
    res = parse_resolutions(resolutions)
    chosen = [_with_cpu_path(m, cpu_path) for m in (models or ["colorizer"])]
    paths = [resolve_model(m) for m, _ in chosen]
    if plot is not None:  # fail before minutes of timing, not after
        from edgecolor.errors import require
        from edgecolor.overwrite import refuse_overwrite

        require("matplotlib", "eval")
        refuse_overwrite([plot], paths, "plot")
    engines = {(path, p): open_engine(path, cpu_path=p, threads=threads)
               for path, (_, p) in zip(paths, chosen, strict=True)}
    rows = []
    with work_dir("bench") as tmp, progress(not as_json) as bar:
        task = bar.add_task("bench", total=len(engines) * len(res))
        for (path, row_cpu_path), engine in engines.items():
            for name, h, w in res:
                bar.update(task, description=f"bench {path.stem} {name}")
                extra: dict = {}
                if mode == "engine":
                    frame = test_frame(h, w)

                    def once(f: np.ndarray = frame, e: Engine = engine) -> object:
                        return e(f)

                    stats = time_calls(once, warmup, duration, iterations)
                else:
                    stats, extra = time_pipeline(engine, h, w, warmup, Path(tmp))
                rows.append({"model": path.stem, "path": str(path), "backend": engine.backend,
                             "cpu_path": row_cpu_path, "mode": mode,
                             "resolution": name, "height": h, "width": w, **stats.as_dict(), **extra,
                             "gate": _gate(path), "auto": _auto(path)})
                bar.advance(task)
                if not as_json:
                    console.print(f"{path.stem} {name}: {stats.throughput_fps:.1f} frames/s, p99 {stats.p99_ms:.1f} ms")
    machine = describe_machine()
    report = {"machine": machine, "settings": {"mode": mode, "cpu_path": cpu_path, "warmup_s": warmup,
                                                         "duration_s": duration, "iterations": iterations,
                                                         "threads": threads}, "rows": rows}
    if plot is not None:
        from edgecolor.bench.report import plot_rows

        plot_rows(rows, plot)
    if as_json:
        emit_json(report)
        return
    table = Table(title=f"edgecolor bench ({mode}) on {machine['cpu']} ({machine['cores']} cores)")
    for col in ("model", "backend", "resolution", "frames/s", "mean ms", "p50", "p90", "p95", "p99", "max",
                "gate"):
        table.add_column(col, justify="right")
    for r in rows:
        g = r["gate"]
        table.add_row(r["model"], r["backend"], r["resolution"], f"{r['throughput_fps']:.1f}", f"{r['mean_ms']:.1f}",
                      f"{r['p50_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}",
                      f"{r['max_ms']:.1f}", _gate_cell(g))
    out.print(table)


def _with_cpu_path(model: str, default: str) -> tuple[str, str]:
    """``MODEL@CPU_PATH`` benches one model on several CPU paths side by side in one run."""
    from edgecolor.backends import CPU_PATHS

    name, _, suffix = model.rpartition("@")
    return (name, suffix) if name and suffix in CPU_PATHS else (model, default)


def _gate_cell(gate: dict | None) -> str:
    if not gate:
        return "-"
    if "loss_db" in gate:
        return f"{gate['verdict']} (loss {gate['loss_db']:+.2f} dB vs colour truth)"
    if "psnr_vs_fp32_db" in gate:
        return f"{gate['verdict']} ({gate['psnr_vs_fp32_db']:.1f} dB vs FP32)"
    return str(gate.get("verdict", "-"))
