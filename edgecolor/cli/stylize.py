"""``edgecolor stylize``: paint photos, folders and videos in a shipped (or trained) style on ONNX Runtime CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.choices import CpuPath, On, Task
from edgecolor.cli._common import JsonOpt, NoOverwriteOpt, OverwriteOpt, console, emit_json
from edgecolor.cli._numbers import THREADS, CpuPathOpt, StreamsOpt, bounded
from edgecolor.cli._oneshot import (
    AddressOpt,
    BitrateOpt,
    CodecOpt,
    CrfOpt,
    FailFastOpt,
    GpusOpt,
    MaxPixelsOpt,
    OnOpt,
    StabilizeOpt,
    WorkersOpt,
    encoding_options,
    ray_options,
    run_frame_model,
)
from edgecolor.errors import InputError
from edgecolor.overwrite import overwrite_policy


def stylize(
    inputs: Annotated[list[Path], typer.Argument(help="Images, videos or folders.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file for one input, else a folder.")] \
        = None,
    style: Annotated[list[str] | None, typer.Option(
        help="Shipped style name (see 'edgecolor models') or a style .onnx path. With --sheet: repeatable, "
             "default all shipped styles.")] = None,
    strength: Annotated[float, typer.Option(
        callback=bounded(0, 1), help="Blend with the original: 0 = unchanged, 1 = fully stylised.")] = 1.0,
    preserve_colour: Annotated[bool, typer.Option(
        "--preserve-colour", help="Keep the original colours (chroma); take the painting's light and texture.")] \
        = False,
    max_side: Annotated[int | None, typer.Option(
        callback=bounded(16, 8192),
        help="Longest side the network runs at (default: the model's, 512 when shipped); lower = faster.")] \
        = None,
    sheet: Annotated[Path | None, typer.Option(
        help="Instead of -o: write one contact sheet PNG, each image | each style.")] = None,
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
    fail_fast: FailFastOpt = False,
    overwrite: OverwriteOpt = False,
    no_overwrite: NoOverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Stylise images, folders and videos with a style network on ONNX Runtime (CPU). A video is stabilised
    (chroma smoothed over time, reset at each cut; --no-stabilize: frame by frame).

    \b
    Example: edgecolor stylize photo.jpg --style starry-night -o painted.jpg
    Example: edgecolor stylize archive/ --style starry-night -o painted/ --on ray --workers 2 -y
    Example: edgecolor stylize clip.mp4 --style great-wave -o wave.mp4 --streams 2
    Example: edgecolor stylize clip.mp4 --style great-wave -o wave.mp4 --codec hevc --bitrate 4M
    """
    from edgecolor.jobs.styles import resolve_style, write_style_sheet
    from edgecolor.stream.temporal import TemporalConfig

    extra = {"strength": strength, "preserve_colour": 1.0 if preserve_colour else 0.0}
    if max_side is not None:
        extra["max_side"] = float(max_side)
    if sheet is not None:
        if output is not None:
            raise InputError("--sheet and --output are two different outputs", "pass one of them")
        result = write_style_sheet(inputs, sheet, style or None, extra, threads)
        if as_json:
            emit_json(result)
        else:
            n_img, n_sty = len(result["images"]), len(result["styles"])
            console.print(f"contact sheet: {sheet} ({n_img} image(s) x {n_sty} style(s))")
        return
    if output is None or not style or len(style) != 1:
        raise InputError("stylize needs one --style and an --output (or --sheet)",
                         "e.g. edgecolor stylize photo.jpg --style starry-night -o painted.jpg")
    run_frame_model(inputs, output, str(resolve_style(style[0])), extra, threads, as_json, Task.STYLIZE, cpu_path,
                    ray=ray_options(on, address, workers, gpus_per_worker, threads), streams=streams,
                    encoding=encoding_options(codec, crf, bitrate), max_pixels=max_pixels, fail_fast=fail_fast,
                    policy=overwrite_policy(overwrite, no_overwrite),
                    temporal=TemporalConfig(stabilize=stabilize))
