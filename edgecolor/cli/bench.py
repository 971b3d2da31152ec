"""``edgecolor bench``: throughput and latency percentiles (trtexec definitions) per model and resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from edgecolor.cli._common import JsonOpt, console, emit_json, out


def bench(
    models: Annotated[list[str] | None, typer.Argument(help="Shipped model names or frame-model .onnx files.")] = None,
    resolutions: Annotated[str, typer.Option(help="Comma list: 360p,480p,720p,1080p,4k or WxH.")] = "480p,720p,1080p",
    warmup: Annotated[float, typer.Option(help="Untimed warm-up seconds per row.", min=0.0)] = 2.0,
    duration: Annotated[float | None, typer.Option(help="Timed seconds per row (default 10).")] = None,
    iterations: Annotated[int | None, typer.Option(help="Timed frames per row, instead of --duration.")] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores).")] = 0,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of throughput and p99 per resolution "
                                                    "(needs matplotlib).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark frame models on ONNX Runtime (engine mode: one inference per frame, colour math included).

    Example: edgecolor bench colorizer --resolutions 720p,1080p --duration 10 --json
    """
    from edgecolor.backends.onnxruntime import OrtEngine
    from edgecolor.bench.machine import describe_machine
    from edgecolor.bench.runner import parse_resolutions, test_frame, time_calls
    from edgecolor.registry import resolve_model

    if duration is None and iterations is None:
        duration = 10.0
    res = parse_resolutions(resolutions)
    paths = [resolve_model(m) for m in (models or ["colorizer"])]
    engines = {p: OrtEngine(p, threads=threads) for p in paths}
    rows = []
    for path, engine in engines.items():
        for name, h, w in res:
            frame = test_frame(h, w)
            stats = time_calls(lambda f=frame, e=engine: e(f), warmup, duration, iterations)
            rows.append({"model": path.stem, "path": str(path), "backend": "onnxruntime-cpu", "mode": "engine",
                         "resolution": name, "height": h, "width": w, **stats.as_dict()})
            if not as_json:
                console.print(f"{path.stem} {name}: {stats.throughput_fps:.1f} frames/s, p99 {stats.p99_ms:.1f} ms")
    report = {"machine": describe_machine(), "settings": {"warmup_s": warmup, "duration_s": duration,
                                                         "iterations": iterations, "threads": threads}, "rows": rows}
    if plot is not None:
        from edgecolor.bench.report import plot_rows

        plot_rows(rows, plot)
    if as_json:
        emit_json(report)
        return
    table = Table(title=f"edgecolor bench on {report['machine']['cpu']} ({report['machine']['cores']} cores)")
    for col in ("model", "resolution", "frames/s", "mean ms", "p50", "p90", "p95", "p99", "max"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["model"], r["resolution"], f"{r['throughput_fps']:.1f}", f"{r['mean_ms']:.1f}",
                      f"{r['p50_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}",
                      f"{r['max_ms']:.1f}")
    out.print(table)
