"""What ``colorize`` and ``stylize`` share: the ``--on ray`` options and the body that plans the outputs, opens
the engine and processes the files with a progress bar (the library halves are in :mod:`edgecolor.jobs`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgecolor.choices import CpuPath, On, Overwrite, Task, VideoCodec
from edgecolor.cli._common import console, emit_json, print_line, progress
from edgecolor.cli._numbers import bounded
from edgecolor.jobs.files import (
    Failure,
    Job,
    JobsStopped,
    count_frames,
    failed_line,
    keeps_going,
    plan,
    run_jobs,
    summarise,
)
from edgecolor.signals import stopping

if TYPE_CHECKING:
    from edgecolor.batch.ray_jobs import RayOptions
    from edgecolor.stream.temporal import TemporalConfig
    from edgecolor.video_encode import Encoding

# --on ray: the same command over a Ray cluster (edgecolor.batch.ray_jobs); shared by colorize and stylize.
OnOpt = Annotated[On, typer.Option("--on", help="local: this process; ray: Ray Data actors, one engine each "
                                                 "(pip install 'edgecolor[ray]').")]
AddressOpt = Annotated[str | None, typer.Option(help="With --on ray: the cluster to join (e.g. ray://head:10001 or "
                                                     "auto); default: start a local Ray on this machine.")]
WorkersOpt = Annotated[int, typer.Option(callback=bounded(1, 4096),
                                         help="With --on ray: actors (one engine each); 1..4096.")]
GpusOpt = Annotated[float, typer.Option(callback=bounded(0, 64),
                                        help="With --on ray: GPUs per actor (0 = CPU); 0..64.")]

# Video outputs (edgecolor.video_encode): shared by colorize and stylize.
CodecOpt = Annotated[VideoCodec | None, typer.Option(
    "--codec", help="Video codec. Default: h264 (yuv420p, plays in browsers) in .mp4/.mov/.mkv, vp9 in .webm; "
                    "ffv1 in .mkv is lossless (archives); .avi is OpenCV's MPEG-4 Part 2 or mjpeg. Audio and "
                    "subtitle streams are copied unchanged.")]
CrfOpt = Annotated[int | None, typer.Option(
    "--crf", callback=bounded(0, 63), help="Constant quality, lower is better (h264 default 23, 0..51; hevc 28; "
                                          "vp9 32 and av1 35, 0..63).")]
BitrateOpt = Annotated[str | None, typer.Option(
    "--bitrate", help="Target video bit rate instead of --crf, e.g. 4M or 800k.")]


# Temporal consistency of videos (edgecolor.stream.temporal; docs/video.md): shared by colorize and stylize.
StabilizeOpt = Annotated[bool, typer.Option(
    "--stabilize/--no-stabilize", help="Videos: smooth chroma over time (flicker), reset at each cut.")]
KeepColourOpt = Annotated[bool, typer.Option(
    "--keep-colour/--recolour", help="Videos: shots that already carry colour (a chroma test per shot, "
                                     "docs/video.md) are copied unchanged; --recolour colorizes them too.")]


# Bad files in a folder: skipped and reported (exit 1) unless --fail-fast; the pixel limit: shared by both.
FailFastOpt = Annotated[bool, typer.Option(
    "--fail-fast", help="Stop at the first bad input file (unreadable, corrupt, too many pixels) and write nothing "
                        "(exit 2). Default: skip it, write the rest, name it in the summary and exit 1.")]
def left_line(n: int, policy: Overwrite) -> str:
    """What a run says of the ``n`` outputs it left as they were."""
    if policy is Overwrite.NO:
        return f"{n} existing output(s) left untouched (-n)"
    return f"{n} output(s) already complete (-y redoes them)"


# OpenCV refuses to decode past 2^30 pixels (CV_IO_MAX_IMAGE_PIXELS), so a higher limit could not be used.
MAX_PIXELS_CEILING = 1 << 30


def parse_pixels(text: str) -> int:
    """``--max-pixels``: a whole number of pixels, or with K, M or G (thousands, millions, billions): 120M."""
    from edgecolor.errors import InputError
    from edgecolor.imageio import MAX_PIXELS

    raw = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(raw[-1:], 1)
    digits = raw[:-1] if scale > 1 else raw
    try:
        value = round(float(digits) * scale) if digits.replace(".", "", 1).isdigit() else 0
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PIXELS_CEILING:
        raise InputError(f"--max-pixels {text!r} is not a pixel count from 1 to {MAX_PIXELS_CEILING} (OpenCV's "
                         "decoding limit)", f"pass e.g. --max-pixels 120M or --max-pixels 120000000 (default "
                                             f"{MAX_PIXELS})")
    return value


MaxPixelsOpt = Annotated[int | None, typer.Option(
    "--max-pixels", parser=parse_pixels, callback=bounded(1, MAX_PIXELS_CEILING), metavar="PIXELS",
    help="Largest image or video frame read, in pixels: 120M or 120000000 (default 67M, 8192x8192; an 8x10 in "
         "print scanned at 1200 dpi is 115M). Peak memory grows with it (~2.6 GiB colorizing 115M).")]


def encoding_options(codec: VideoCodec | None, crf: int | None, bitrate: str | None) -> Encoding:
    """The ``Encoding`` the video options ask for (checked against each output's container by ``plan``)."""
    from edgecolor.video_encode import Encoding, parse_bitrate

    return Encoding(codec, crf, parse_bitrate(bitrate) if bitrate is not None else None)


def ray_options(on: On | str, address: str | None, workers: int, gpus_per_worker: float,
                threads: int) -> RayOptions | None:
    """``RayOptions`` for ``--on ray``, None for ``--on local``; refuses anything else."""
    if On.parse(on, "--on") is On.LOCAL:
        return None
    from edgecolor.batch.ray_jobs import RayOptions

    return RayOptions(address=address, workers=workers, gpus_per_worker=gpus_per_worker, threads=threads or 1)


def run_on_ray_cli(jobs: list[Job], model: Path, extra: dict[str, float], cpu_path: CpuPath | str, opts: RayOptions,
                   as_json: bool, verb: str, max_pixels: int | None = None,
                   failed: list[Failure] | None = None, policy: Overwrite = Overwrite.SKIP,
                   temporal: TemporalConfig | None = None) -> None:
    from edgecolor.batch.ray_jobs import run_on_ray

    with progress(not as_json) as bar:
        task = bar.add_task(f"{verb} on ray", total=len(jobs))
        summary = run_on_ray(jobs, model, extra, cpu_path, opts,
                             on_done=lambda s: bar.update(task, completed=s["skipped"] + len(s["outputs"])),
                             max_pixels=max_pixels, failed=failed, policy=policy, temporal=temporal)
    if as_json:
        emit_json(summary)
    elif not summary["outputs"] and not summary["failed"]:  # every output was complete: Ray was not started
        console.print(f"{verb} on ray: nothing to do: {left_line(summary['skipped'], policy)}")
    else:
        if summary["outputs"]:
            console.print(f"{verb} on ray ({summary['workers']} workers): written {summary['written']}, skipped "
                          f"{summary['skipped']}, failed {len(summary['failed'])} ({summary['frames_per_s']} "
                          "frames/s)")
        if summary["failed"]:
            print_line(failed_line(f"{verb} on ray", summary["written"], summary["failed"]))
    if summary["failed"]:
        raise typer.Exit(1)


def run_frame_model(inputs: list[Path], output: Path, model: str, extra: dict[str, float], threads: int,
                    as_json: bool, task: Task, cpu_path: CpuPath | str = CpuPath.AUTO,
                    ray: RayOptions | None = None, streams: int = 1, encoding: Encoding | None = None,
                    max_pixels: int | None = None, fail_fast: bool = False,
                    policy: Overwrite = Overwrite.SKIP, temporal: TemporalConfig | None = None) -> None:
    """Shared body of ``colorize`` and ``stylize`` (``task``, also the verb it prints): plan, load the engine
    (``streams`` sessions; a model made for another task, or breaking the output contract, is refused there),
    process with a progress bar (or hand the plan to Ray with ``ray``, a ``RayOptions``); videos are encoded as
    ``encoding`` says. A folder's (or several inputs') bad files are skipped and named, exit 1, unless
    ``fail_fast``; inputs up to ``max_pixels`` are read. Existing outputs follow ``policy``
    (:func:`edgecolor.jobs.record.split`), here and on Ray alike. Videos go through ``temporal``'s stage
    (:mod:`edgecolor.stream.temporal`; default: stabilised)."""
    from edgecolor.backends import open_engine
    from edgecolor.errors import InputError
    from edgecolor.jobs.parts import Resume
    from edgecolor.jobs.record import record_done, settings_key, split
    from edgecolor.registry import resolve_model
    from edgecolor.stream.temporal import TemporalConfig

    temporal = temporal or TemporalConfig()
    if ray is not None and streams > 1:
        raise InputError("--streams is for --on local", "with --on ray, use --workers (one engine per actor)")
    if ray is not None and encoding is not None and encoding != type(encoding)():
        raise InputError("--codec, --crf and --bitrate are for --on local", "leave them out with --on ray (its "
                         "videos are H.264 in .mp4/.mov/.mkv, VP9 in .webm)")
    if ray is not None and fail_fast:
        raise InputError("--fail-fast is for --on local (Ray's workers go on past a bad file)",
                         "leave it out with --on ray: bad files are listed in its summary and the exit code is 1")
    verb = str(task)
    failed: list[Failure] | None = [] if keeps_going(inputs) and not fail_fast else None
    jobs = plan(inputs, output, encoding, max_pixels, failed)
    settings, left = "", list[Job]()
    if ray is None:  # an existing output is refused before the model loads (run_on_ray splits the same way)
        settings = settings_key(Path(resolve_model(model)), extra, cpu_path, temporal.key())
        jobs, left = split(jobs, settings, policy)
    # Opened here with --on ray too, and closed: the task and output checks refuse a wrong model before Ray starts.
    engine = open_engine(resolve_model(model), cpu_path=cpu_path, threads=threads, streams=streams, task=task)
    if ray is not None:
        engine.close()
        run_on_ray_cli(jobs, Path(resolve_model(model)), extra, cpu_path, ray, as_json, verb, max_pixels, failed,
                       policy, temporal)
        return

    def frames_in(job: Job) -> int:  # a bad video is counted as one frame here and reported when it is reached
        try:
            return count_frames(job, max_pixels)
        except InputError:
            if failed is None:
                raise
            return 1

    with stopping() as stop:  # Ctrl+C and SIGTERM end the job at the next frame, as in run
        try:
            with progress(not as_json) as bar:
                frames_done = bar.add_task(verb, total=sum(frames_in(j) for j in jobs))
                results = run_jobs(jobs, engine, extra, on_frame=lambda: bar.advance(frames_done), stop=stop,
                                   encoding=encoding, max_pixels=max_pixels, failed=failed,
                                   done=lambda job: record_done(job, settings), temporal=temporal,
                                   resume=Resume(settings, redo=policy is Overwrite.YES))
        except JobsStopped as stopped:
            print_line(stopped)  # inside stopping(): a second Ctrl+C cannot cut this line off
            raise typer.Exit(stopped.exit_code) from None
    summary = summarise(model, results, failed, len(left))
    frames, seconds = summary["frames"], sum(r.seconds for r in results)
    if as_json:
        emit_json(summary)
    else:
        if results:
            where = results[0].output if len(results) == 1 else str(output)
            resumed = summary["resumed_frames"]
            console.print(f"{verb}: {frames} frame(s) in {seconds:.1f} s ({summary['frames_per_s']} frames/s) -> "
                          f"{where}" + (f" ({resumed} of them kept from the interrupted run)" if resumed else ""))
        if left:
            console.print(f"{verb}: {'nothing to do: ' if not results and not failed else ''}"
                          f"{left_line(len(left), policy)}")
        if summary["colour_shots_kept"]:
            shots = sum(r.shots for r in results)
            console.print(f"{verb}: {summary['colour_shots_kept']} of {shots} shot(s) already in colour, copied "
                          "unchanged (--recolour colorizes them)")
        if summary["skipped_frames"]:
            console.print(f"skipped {summary['skipped_frames']} undecodable frame(s)")
        if failed:
            print_line(failed_line(verb, len(results), summary["failed"]))
    if failed:
        raise typer.Exit(1)
