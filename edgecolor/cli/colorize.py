"""``edgecolor colorize``: colour grayscale photos, folders and videos on ONNX Runtime (CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgecolor.cli._common import JsonOpt, console, emit_json, progress
from edgecolor.cli._numbers import THREADS, bounded
from edgecolor.errors import InputError
from edgecolor.oneshot import Job, count_frames, plan, run_job

if TYPE_CHECKING:
    from edgecolor.batch.ray_jobs import RayOptions

# --on ray: the same command over a Ray cluster (edgecolor.batch.ray_jobs); shared by colorize and stylize.
OnOpt = Annotated[str, typer.Option("--on", help="local: this process; ray: Ray Data actors, one engine each "
                                                 "(pip install 'edgecolor[ray]').")]
AddressOpt = Annotated[str | None, typer.Option(help="With --on ray: the cluster to join (e.g. ray://head:10001 or "
                                                     "auto); default: start a local Ray on this machine.")]
WorkersOpt = Annotated[int, typer.Option(callback=bounded(1, 4096),
                                         help="With --on ray: actors (one engine each); 1..4096.")]
GpusOpt = Annotated[float, typer.Option(callback=bounded(0, 64),
                                        help="With --on ray: GPUs per actor (0 = CPU); 0..64.")]


def ray_options(on: str, address: str | None, workers: int, gpus_per_worker: float,
                threads: int) -> RayOptions | None:
    """``RayOptions`` for ``--on ray``, None for ``--on local``; refuses anything else."""
    if on == "local":
        return None
    if on != "ray":
        raise InputError(f"unknown --on '{on}'", "use --on local or --on ray")
    from edgecolor.batch.ray_jobs import RayOptions

    return RayOptions(address=address, workers=workers, gpus_per_worker=gpus_per_worker, threads=threads or 1)


def run_on_ray_cli(jobs: list[Job], model: Path, extra: dict[str, float], cpu_path: str, opts: RayOptions,
                   as_json: bool, verb: str) -> None:
    from edgecolor.batch.ray_jobs import run_on_ray

    with progress(not as_json) as bar:
        task = bar.add_task(f"{verb} on ray", total=len(jobs))
        summary = run_on_ray(jobs, model, extra, cpu_path, opts,
                             on_done=lambda s: bar.update(task, completed=s["skipped"] + len(s["outputs"])))
    if as_json:
        emit_json(summary)
    else:
        console.print(f"{verb} on ray ({summary['workers']} workers): written {summary['written']}, skipped "
                      f"{summary['skipped']}, failed {len(summary['failed'])} ({summary['frames_per_s']} frames/s)")
        for f in summary["failed"]:
            console.print(f"failed: {f['input']}: {f['error']}", markup=False)
    if summary["failed"]:
        raise typer.Exit(1)


def run_frame_model(inputs: list[Path], output: Path, model: str, extra: dict[str, float], threads: int,
                    as_json: bool, verb: str, cpu_path: str = "auto", ray: RayOptions | None = None) -> None:
    """Shared body of ``colorize`` and ``stylize``: plan, load the engine, process with a progress bar
    (or hand the plan to Ray with ``ray``, a ``RayOptions``)."""
    from edgecolor.backends import open_engine
    from edgecolor.registry import resolve_model

    jobs = plan(inputs, output)
    if ray is not None:
        run_on_ray_cli(jobs, Path(resolve_model(model)), extra, cpu_path, ray, as_json, verb)
        return
    engine = open_engine(resolve_model(model), cpu_path=cpu_path, threads=threads)
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
    on: OnOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = 2,
    gpus_per_worker: GpusOpt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Colorize images, folders and videos with the shipped colorizer on ONNX Runtime (CPU).

    \b
    Example: edgecolor colorize old_photos/ -o coloured/
    Example: edgecolor colorize archive/ -o coloured/ --on ray --workers 2 --json
    """
    extra = {} if colour_strength is None else {"colour_strength": colour_strength}
    run_frame_model(inputs, output, model, extra, threads, as_json, "colorize", cpu_path,
                    ray=ray_options(on, address, workers, gpus_per_worker, threads))
