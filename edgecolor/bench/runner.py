"""Timed loops: one engine call per frame (``engine`` mode); the pipeline mode is :mod:`.pipeline_mode`."""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgecolor.bench.stats import PERCENTILES, LatencyStats, summarise
from edgecolor.errors import InputError

NAMED = {"360p": (360, 640), "480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920), "4k": (2160, 3840)}


def parse_resolutions(text: str) -> list[tuple[str, int, int]]:
    """``"480p,720p,512x512"`` -> [(name, height, width), ...]; WxH is width x height."""
    from edgecolor.bench.units import comma_list

    def resolution(item: str) -> tuple[str, int, int]:
        item = item.lower()
        if item in NAMED:
            return (item, *NAMED[item])
        if m := re.fullmatch(r"(\d{1,5})x(\d{1,5})", item):
            w, h = int(m.group(1)), int(m.group(2))
            if not (0 < w <= 8192 and 0 < h <= 8192):
                raise InputError(f"resolution '{item}' is out of range", "use 1..8192 for width and height")
            return item, h, w
        raise InputError(f"unknown resolution '{item[:30]}'", f"use {', '.join(NAMED)} or WxH such as 512x512")

    return comma_list(text, resolution, "--resolutions", "a resolution", "480p,720p,1080p")


def test_frame(h: int, w: int) -> np.ndarray:
    """A natural frame at the requested size: the bundled clip's first frame, resized (falls back to noise)."""
    from edgecolor.imageio import VideoReader
    from edgecolor.registry import SAMPLE_CLIP

    if SAMPLE_CLIP.is_file():
        reader = VideoReader(SAMPLE_CLIP)
        frame = next(iter(reader), None)
        reader.close()
        if frame is not None:
            return np.ascontiguousarray(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def warm_up(fn: Callable[[], object], seconds: float) -> None:
    """Call ``fn`` untimed for ``seconds`` (at least once: first-run allocations are not steady state)."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


def check_budget(duration_s: float | None, iterations: int | None) -> None:
    if (duration_s is None) == (iterations is None):
        raise InputError("give exactly one of --duration and --iterations", "e.g. --duration 10")
    if (duration_s is not None and duration_s <= 0) or (iterations is not None and iterations <= 0):
        raise InputError("--duration/--iterations must be positive", "e.g. --duration 10 or --iterations 100")


def time_calls(fn: Callable[[], Any], warmup_s: float, duration_s: float | None = None,
               iterations: int | None = None, percentiles: tuple[float, ...] | list[float] = PERCENTILES,
               record: list[tuple[float, float]] | None = None,
               tick: Callable[[float], None] | None = None, in_flight: int = 1) -> LatencyStats:
    """Call ``fn`` for ``warmup_s`` untimed, then for ``duration_s`` seconds or ``iterations`` calls.

    ``record`` receives ``(start_ms, latency_ms)`` per timed call (start from the timed phase's start), for
    ``--export-times``; ``tick`` is called about once a second with the fraction done (progress).

    ``in_flight`` > 1 (a streams engine): ``fn`` submits a frame and returns what collects it (a
    :class:`~edgecolor.backends.base.Pending`); that many frames are kept in flight, and a frame's latency runs
    from its submission to its collection. Frames still in flight at the end are collected untimed."""
    check_budget(duration_s, iterations)
    if in_flight > 1:
        warm_up(lambda: [collect() for collect in [fn() for _ in range(in_flight)]], warmup_s)  # every stream
    else:
        warm_up(fn, warmup_s)
    flying: collections.deque[tuple[float, Callable[[], object]]] = collections.deque()
    lat: list[float] = []
    start = next_tick = time.perf_counter()
    while True:
        t = time.perf_counter()
        if in_flight > 1:
            flying.append((t, fn()))  # fn returned the collector
            if len(flying) < in_flight:
                continue
            t, collect = flying.popleft()
            collect()
        else:
            fn()
        now = time.perf_counter()
        lat.append((now - t) * 1000)
        if record is not None:
            record.append(((t - start) * 1000, lat[-1]))
        done_frac = len(lat) / iterations if iterations is not None else (now - start) / (duration_s or 1.0)
        if tick is not None and now >= next_tick:
            tick(min(done_frac, 1.0))
            next_tick = now + 1.0
        if done_frac >= 1.0:
            break
    wall = time.perf_counter() - start
    for _, collect in flying:
        collect()
    return summarise(lat, wall, percentiles=percentiles)


def make_clip(h: int, w: int, folder: Path, frames: int = 120) -> Path:
    """The bundled clip resized to ``w x h`` (for pipeline mode at a given resolution), cached in ``folder``."""
    from edgecolor.imageio import VideoReader, VideoWriter
    from edgecolor.registry import SAMPLE_CLIP

    path = folder / f"clip_{w}x{h}.mp4"
    if path.is_file():
        return path
    reader = VideoReader(SAMPLE_CLIP)
    writer = VideoWriter(path, reader.fps)
    for i, frame in enumerate(reader):
        if i >= frames:
            break
        writer.write(cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR))
    reader.close()
    writer.close()
    return path
