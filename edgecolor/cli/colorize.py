"""``edgecolor colorize``: colour grayscale photos, folders and videos on ONNX Runtime (CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.cli._common import JsonOpt, console, emit_json, progress
from edgecolor.cli._numbers import THREADS, bounded
from edgecolor.oneshot import count_frames, plan, run_job


def run_frame_model(inputs: list[Path], output: Path, model: str, extra: dict[str, float], threads: int,
                    as_json: bool, verb: str, cpu_path: str = "auto") -> None:
    """Shared body of ``colorize`` and ``stylize``: plan, load the engine, process with a progress bar."""
    from edgecolor.backends import open_cpu_engine
    from edgecolor.registry import resolve_model

    jobs = plan(inputs, output)
    engine = open_cpu_engine(resolve_model(model), cpu_path, threads)
    results = []
    with progress(not as_json) as bar:
        task = bar.add_task(verb, total=sum(count_frames(j) for j in jobs))
        for job in jobs:
            res = run_job(job, lambda f: engine(f, **extra), on_frame=lambda: bar.advance(task))
            if job.kind == "image":
                bar.advance(task)
            results.append(res)
    frames = sum(r.frames for r in results)
    seconds = sum(r.seconds for r in results)
    summary = {
        "model": model, "outputs": [r.__dict__ for r in results], "frames": frames,
        "seconds": round(seconds, 3), "frames_per_s": round(frames / seconds, 2) if seconds else None,
        "skipped_frames": sum(r.skipped_frames for r in results),
    }
    if as_json:
        emit_json(summary)
        return
    where = results[0].output if len(results) == 1 else str(output)
    console.print(f"{verb}: {frames} frame(s) in {seconds:.1f} s ({summary['frames_per_s']} frames/s) -> {where}")
    if summary["skipped_frames"]:
        console.print(f"skipped {summary['skipped_frames']} undecodable frame(s)")


def colorize(
    inputs: Annotated[list[Path], typer.Argument(
        help="Images, videos or folders (colour inputs are re-coloured from their luma).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file for one input, else a folder.")],
    model: Annotated[str, typer.Option(help="Shipped model name or frame-model .onnx path.")] = "colorizer",
    colour_strength: Annotated[float | None, typer.Option(
        "--colour-strength", callback=bounded(0, 4),
        help="Chroma scale: 0 = gray, 1 = as trained; default = the model's validated value.")] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores; at most 256).",
                                         callback=THREADS)] = 0,
    cpu_path: Annotated[str, typer.Option(help="auto/split: colour math in OpenCV (faster on CPU); graph: the "
                                               "whole frame model in ONNX Runtime. They agree within 2 LSB.")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Colorize images, folders and videos with the shipped colorizer on ONNX Runtime (CPU).

    Example: edgecolor colorize old_photos/ -o coloured/
    """
    extra = {} if colour_strength is None else {"colour_strength": colour_strength}
    run_frame_model(inputs, output, model, extra, threads, as_json, "colorize", cpu_path)
