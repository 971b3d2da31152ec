"""``edgecolor colorize``: colour grayscale photos, folders and videos on ONNX Runtime (CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.choices import CpuPath, On, Task
from edgecolor.cli._common import JsonOpt, NoOverwriteOpt, OverwriteOpt
from edgecolor.cli._numbers import THREADS, CpuPathOpt, StreamsOpt, bounded
from edgecolor.cli._oneshot import (
    AddressOpt,
    BitrateOpt,
    CodecOpt,
    CrfOpt,
    FailFastOpt,
    GpusOpt,
    KeepColourOpt,
    MaxPixelsOpt,
    OnOpt,
    StabilizeOpt,
    WorkersOpt,
    encoding_options,
    ray_options,
    run_frame_model,
)
from edgecolor.overwrite import overwrite_policy


def colorize(
    inputs: Annotated[list[Path], typer.Argument(
        help="Images, videos or folders (colour inputs are re-coloured from their luma).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file for one input, else a folder.")],
    model: Annotated[str, typer.Option(help="Shipped model name or frame-model .onnx path.")] = "colorizer",
    colour_strength: Annotated[float | None, typer.Option(
        "--colour-strength", callback=bounded(0, 4),
        help="Chroma scale: 0 = gray, 1 = as trained (after the model's chroma curve, if any); default = the "
             "model's validated value (the shipped colorizer: 0.3125).")] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores; at most 256).",
                                         callback=THREADS)] = 0,
    cpu_path: CpuPathOpt = CpuPath.AUTO,
    streams: StreamsOpt = 1,
    on: OnOpt = On.LOCAL,
    address: AddressOpt = None,
    workers: WorkersOpt = 2,
    gpus_per_worker: GpusOpt = 0.0,
    codec: CodecOpt = None,
    crf: CrfOpt = None,
    bitrate: BitrateOpt = None,
    max_pixels: MaxPixelsOpt = None,
    stabilize: StabilizeOpt = True,
    keep_colour: KeepColourOpt = True,
    fail_fast: FailFastOpt = False,
    overwrite: OverwriteOpt = False,
    no_overwrite: NoOverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Colorize images, folders and videos with the shipped colorizer on ONNX Runtime (CPU). A video is
    stabilised (chroma smoothed over time, reset at each cut) and its shots that already carry colour are copied
    unchanged (docs/video.md).

    \b
    Example: edgecolor colorize old_photos/ -o coloured/      (again: resumes, -y redoes all, -n keeps files)
    Example: edgecolor colorize archive/ -o coloured/ --on ray --workers 2 --json
    Example: edgecolor colorize old_film.mp4 -o coloured.mp4 --streams 2
    Example: edgecolor colorize old_film.mp4 -o coloured.mp4 --crf 18        (H.264, audio copied)
    Example: edgecolor colorize old_film.mkv -o archive.mkv --codec ffv1      (lossless)
    Example: edgecolor colorize old_film.mp4 -o web.webm                     (VP9)
    Example: edgecolor colorize long_film.mp4 -o coloured.mp4   (Ctrl+C keeps the frames done; run it again to finish)
    Example: edgecolor colorize long_film.mp4 -o coloured.mp4 --on ray --workers 8   (parts of one film on 8 actors)
    Example: edgecolor colorize documentary.mp4 -o out.mp4 --no-stabilize   (per-frame colour)
    """
    from edgecolor.stream.temporal import TemporalConfig

    extra = {} if colour_strength is None else {"colour_strength": colour_strength}
    run_frame_model(inputs, output, model, extra, threads, as_json, Task.COLORIZE, cpu_path,
                    ray=ray_options(on, address, workers, gpus_per_worker, threads), streams=streams,
                    encoding=encoding_options(codec, crf, bitrate), max_pixels=max_pixels, fail_fast=fail_fast,
                    policy=overwrite_policy(overwrite, no_overwrite),
                    temporal=TemporalConfig(stabilize=stabilize, passthrough=None if keep_colour else False))
