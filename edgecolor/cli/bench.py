"""``edgecolor bench``: throughput, latency percentiles (trtexec definitions) and the pipeline's stage split per
model and resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from edgecolor.cli._common import JsonOpt, console, emit_json, out, print_error, progress
from edgecolor.cli._numbers import STREAMS_HELP, THREADS, bounded

MODES = ("engine", "pipeline")


def _seconds(lo: float, hi: float, above: bool = False) -> Any:
    """``bounded`` for a time option: ``200ms``, ``3s`` or plain seconds, then the shared bounds check."""
    check = bounded(lo, hi, above)

    def bounded_seconds(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> float | None:
        from edgecolor.bench.units import parse_seconds

        if value is None:
            return None
        return check(ctx, param, parse_seconds(value, max(param.opts, key=len)))  # type: ignore[no-any-return]

    return bounded_seconds


def _percentiles(ctx: typer.Context, param: typer.CallbackParam, value: str) -> list[float]:
    from edgecolor.bench.units import parse_percentiles

    return bounded(0, 100)(ctx, param, parse_percentiles(value))  # type: ignore[no-any-return]


def bounded_streams(ctx: typer.Context, param: typer.CallbackParam, value: str) -> list[int]:
    """``--streams 1,2``: whole numbers, then the shared bounds check."""
    from edgecolor.backends.streams import MAX_STREAMS
    from edgecolor.bench.units import comma_list

    counts = comma_list(value, int, "--streams", "a whole number", "1,2")
    return bounded(1, MAX_STREAMS)(ctx, param, counts)  # type: ignore[no-any-return]


def _built_facts(path: Path) -> dict[str, dict | None]:
    """From a built engine's manifest, read once: ``gate``, the accuracy gate's record (None for FP32), and
    ``auto``, what ``build --precision auto`` chose for this CPU and why. Both None for an unbuilt model."""
    from edgecolor.backends import manifest as mf

    try:
        man = mf.read(path)
    except mf.StaleEngine:  # no or unreadable sidecar: an unbuilt model has no recorded accuracy
        return {"gate": None, "auto": None}
    return {"gate": man.accuracy() if man.precision != "fp32" else None, "auto": man.auto}


def bench(
    models: Annotated[list[str] | None, typer.Argument(help="Shipped model names, frame-model .onnx files, CPU "
                                                              "engines from 'edgecolor build' (engines/*.onnx) or "
                                                              "TensorRT engines (.engine/.plan); MODEL@CPU_PATH "
                                                              "runs that one on another --cpu-path.")] = None,
    resolutions: Annotated[str, typer.Option(help="Comma list: 360p,480p,720p,1080p,4k or WxH.")] = "480p,720p,1080p",
    mode: Annotated[str, typer.Option(help="engine: one inference per frame; pipeline: file source -> engine -> "
                                           "sink, the real end-to-end path with its stage split; engine,pipeline: "
                                           "both, and their ratio.")] = "engine",
    sink: Annotated[str, typer.Option(help="Pipeline mode's sink: null, http (the browser view with one client "
                                           "watching its MJPEG stream), or null,http.")] = "null",
    cpu_path: Annotated[str, typer.Option(help="auto | graph | split (colorizer colour math in OpenCV) | openvino | "
                                               "openvino-bf16 (split, network on OpenVINO).")] = "auto",
    warmup: Annotated[str, typer.Option(help="Untimed warm-up per row: seconds, or with a unit (200ms, 3s); "
                                             "0..3600 s.", callback=_seconds(0, 3600))] = "2",
    duration: Annotated[str | None, typer.Option(help="Timed time per row: seconds or with a unit (500ms, 10s); "
                                                      "default 10 s, max 86400 s.",
                                                 callback=_seconds(0, 86400, above=True))] = None,
    iterations: Annotated[int | None, typer.Option(help="Timed frames per row, instead of --duration.",
                                                   callback=bounded(1, 10**8))] = None,
    rounds: Annotated[int, typer.Option(help="Time the rows round-robin this many times, each a share of "
                                             "--duration/--iterations, so other jobs' load spreads over all rows "
                                             "(1..100).", callback=bounded(1, 100))] = 1,
    percentile: Annotated[str, typer.Option(help="Latency percentiles to report, comma list in 0..100 (e.g. "
                                                 "50,90,99,99.9); a warning says when one rests on too few samples.",
                                            callback=_percentiles)] = "50,90,95,99",
    export_times: Annotated[Path | None, typer.Option(help="Write every timed iteration's start and latency (and, "
                                                           "in pipeline mode, each stage's times) to this JSON file.")
                            ] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores; at most 256).",
                                         callback=THREADS)] = 0,
    streams: Annotated[str, typer.Option(help=STREAMS_HELP + " A comma list (1,2) times each, in one run; engine "
                                              "mode then keeps streams + 1 frames in flight. 1..64.",
                                         callback=bounded_streams)] = "1",
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of throughput and p99 per resolution "
                                                    "(needs matplotlib).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark frame models: throughput = frames / wall time after warm-up; latency mean, min, max and the
    --percentile list; in pipeline mode each stage (decode, queue, infer, post, sink). Pipeline mode reads a
    file ahead of the engine, so its frames wait in the queue stage, which a camera's never do: it also reports
    the latency less that wait (latency_from_submit_ms), about what a live source sees. The JSON records the
    time, the machine (CPU, INT8/BF16 flags, threads) and its load average before and after. Rows of built
    INT8/FP16 engines carry their accuracy gate's record from the manifest. A model that cannot be opened is
    named in one error line (and in the JSON's failed list) while the others are timed; the exit status is 1.

    \b
    Example: edgecolor bench colorizer engines/colorizer-int8-cpu.onnx --resolutions 720p,1080p --json
    Example: edgecolor bench colorizer --mode engine,pipeline --sink null,http --resolutions 720p --duration 10s
    Example: edgecolor bench colorizer --streams 1,2 --mode engine,pipeline --resolutions 720p --rounds 5
    """
    from edgecolor.bench.pipeline_mode import SINKS
    from edgecolor.bench.runner import parse_resolutions
    from edgecolor.bench.session import BenchPlan, open_engines, pipeline_ratios, run_rows, streams_gain
    from edgecolor.bench.units import parse_choices
    from edgecolor.registry import resolve_model
    from edgecolor.system import describe_machine, load_average, utc_now
    from edgecolor.tempdirs import work_dir

    modes = parse_choices(mode, MODES, "--mode", "mode")
    sinks = parse_choices(sink, SINKS, "--sink", "bench sink")
    seconds: float | None = duration  # type: ignore[assignment]  # the callback turned the text into seconds
    if seconds is None and iterations is None:
        seconds = 10.0
    res = parse_resolutions(resolutions)
    chosen = [_with_cpu_path(m, cpu_path) for m in (models or ["colorizer"])]
    paths = [resolve_model(m) for m, _ in chosen]
    if plot is not None or export_times is not None:  # fail before minutes of timing, not after
        from edgecolor.overwrite import refuse_overwrite

        if plot is not None:
            from edgecolor.errors import require

            require("matplotlib", "eval")
        refuse_overwrite([p for p in (plot, export_times) if p is not None], paths, "output")
    plan = BenchPlan(modes, sinks, res, float(warmup), seconds, iterations,  # type: ignore[arg-type]
                     list(percentile), export_times is not None, rounds)  # type: ignore[arg-type]
    started, load_before = utc_now(), load_average()
    engines, failed = open_engines([(p, c) for p, (_, c) in zip(paths, chosen, strict=True)], threads,
                                   streams)  # type: ignore[arg-type]  # the callback turned the text into counts
    for failure in failed:  # the others are still timed; the exit status says one failed
        print_error(f"{failure['model']} ({failure['path']}): {failure['error']}")
    with work_dir("bench") as tmp, progress(not as_json) as bar:
        task = bar.add_task("bench", total=len(engines) * plan.rows_per_engine)

        def report_row(row: dict) -> None:
            bar.advance(task)
            for warning in row["warnings"]:
                console.print(f"warning: {row['model']} {row['resolution']} {row['mode']}: {warning}")
            if not as_json:
                console.print(f"{row['model']} {row['resolution']} {row['mode']}"
                              f"{' -> ' + row['sink'] if row.get('sink') else ''}: {row['throughput_fps']:.1f} "
                              f"frames/s, p99 {row['p99_ms']:.1f} ms")

        def describe(text: str) -> None:
            bar.update(task, description=text)

        rows, times = run_rows(engines, plan, Path(tmp), describe, report_row)
    facts = {path: _built_facts(Path(path)) for path in {row["path"] for row in rows}}
    for row in rows:
        row |= facts[row["path"]]
    machine = describe_machine() | {"load_average_before": load_before, "load_average_after": load_average(),
                                    "threads": threads or machine_threads()}
    report = {"timestamp": started, "finished": utc_now(), "machine": machine,
              "settings": {"mode": modes, "sink": sinks, "cpu_path": cpu_path, "warmup_s": plan.warmup_s,
                           "duration_s": seconds, "iterations": iterations, "rounds": rounds, "threads": threads,
                           "streams": streams, "percentiles": plan.percentiles},
              "rows": rows, "ratios": pipeline_ratios(rows), "streams_gain": streams_gain(rows), "failed": failed}
    if export_times is not None:
        from edgecolor.bench.session import write_times

        write_times(export_times, {"timestamp": started, "machine": machine["cpu"], "rows": times})
    if plot is not None:
        from edgecolor.bench.report import plot_rows

        plot_rows([r for r in rows if r["mode"] == modes[0]], plot)
    if as_json:
        emit_json(report)
    else:
        _print_tables(report, plan.percentiles)
    if failed:
        raise typer.Exit(1)


def machine_threads() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _print_tables(report: dict, percentiles: list[float]) -> None:
    from edgecolor.bench.pipeline_mode import BENCH_STAGES
    from edgecolor.bench.units import percentile_key

    machine, rows = report["machine"], report["rows"]
    load = machine["load_average_before"]
    title = (f"edgecolor bench on {machine['cpu']} ({machine['cores']} cores, {machine['threads']} threads; "
             f"load {load[0] if load else '?'} before, {machine['load_average_after'][0] if load else '?'} after)")
    table = Table(title=title)
    keys = [percentile_key(p) for p in percentiles]
    for col in ("model", "backend", "streams", "mode", "resolution", "frames/s", "mean ms", "min", *keys, "max",
                "gate"):
        table.add_column(col, justify="right")
    for r in rows:
        mode = r["mode"] + (f" -> {r['sink']}" if r.get("sink") else "")
        table.add_row(r["model"], r["backend"], str(r["streams"]), mode, r["resolution"], f"{r['throughput_fps']:.1f}",
                      f"{r['mean_ms']:.1f}", f"{r['min_ms']:.1f}", *(f"{r['percentiles_ms'][k]:.1f}" for k in keys),
                      f"{r['max_ms']:.1f}", _gate_cell(r["gate"]))
    out.print(table)
    staged = [r for r in rows if r.get("stages_ms")]
    if staged:
        _print_stages(staged, BENCH_STAGES)
    for ratio in report["ratios"]:
        for name, against in (("pipeline_vs_engine", "engine mode's"), ("vs_null_sink", "the null sink's")):
            if name in ratio:
                rounds = _spread_note(ratio[name + "_rounds"])
                streams = f" ({ratio['streams']} streams)" if ratio["streams"] > 1 else ""
                out.print(f"{ratio['model']} {ratio['resolution']}{streams}: pipeline -> {ratio['sink']} runs at "
                          f"{ratio[name]:.3f}x {against} frames/s{rounds}")
    for gain in report["streams_gain"]:
        out.print(f"{gain['model']} {gain['resolution']} {gain['mode']}{' -> ' + gain['sink'] if gain['sink'] else ''}"
                  f": {gain['streams']} streams run at {gain['vs_one_stream']:.3f}x one stream's frames/s"
                  f"{_spread_note(gain['rounds'])}")


def _print_stages(staged: list[dict], stages: tuple[str, ...]) -> None:
    """The stage split of the pipeline rows (the stages any row has), then what a file source's read-ahead
    does to the queue stage and the latency a live source would see instead."""
    shown = [s for s in stages if any(s in r["stages_ms"] for r in staged)]
    ahead = any(r.get("reads_ahead") for r in staged)
    split = Table(title="pipeline stages, ms per frame: mean (p99)")
    for col in ("model", "streams", "resolution", "sink", *shown):
        split.add_column("queue (read-ahead)" if col == "queue" and ahead else col, justify="right")
    for r in staged:
        st = r["stages_ms"]
        split.add_row(r["model"], str(r["streams"]), r["resolution"], r["sink"],
                      *(f"{st[s]['mean']:.1f} ({st[s]['p99']:.1f})" if s in st else "-" for s in shown))
    out.print(split)
    if not ahead:
        return
    out.print("queue (read-ahead): the bench reads a file as fast as it decodes, so each frame waits in the queue "
              "for the frames before it, and its latency above includes that wait. A camera's frames never wait so "
              "(a live source drops the oldest frame instead). Latency less that wait, about what a live source at "
              "these frames/s sees:")
    for r in staged:
        live = r.get("latency_from_submit_ms") or {}
        if live:
            out.print(f"  {r['model']} {r['resolution']} -> {r['sink']}: p50 {live['p50']:.1f} ms, p99 "
                      f"{live['p99']:.1f} ms (with the read-ahead wait: p50 {r['p50_ms']:.1f} ms, p99 "
                      f"{r['p99_ms']:.1f} ms)")


def _spread_note(spread: dict) -> str:
    """`` (rounds: min, median, max)`` of a ratio's per-round values, when there was more than one round."""
    if len(spread.get("each", [])) < 2:
        return ""
    return f" (rounds: min {spread['min']:.3f}, median {spread['median']:.3f}, max {spread['max']:.3f})"


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
