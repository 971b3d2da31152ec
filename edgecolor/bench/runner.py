"""Timed loops: one engine call per frame (``engine`` mode)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.bench.stats import LatencyStats, summarise
from edgecolor.errors import InputError

NAMED = {"360p": (360, 640), "480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920), "4k": (2160, 3840)}


def parse_resolutions(text: str) -> list[tuple[str, int, int]]:
    """``"480p,720p,512x512"`` -> [(name, height, width), ...]; WxH is width x height."""
    out = []
    for item in (t.strip().lower() for t in text.split(",")):
        if item in NAMED:
            out.append((item, *NAMED[item]))
        elif m := re.fullmatch(r"(\d{1,5})x(\d{1,5})", item):
            w, h = int(m.group(1)), int(m.group(2))
            if not (0 < w <= 8192 and 0 < h <= 8192):
                raise InputError(f"resolution '{item}' is out of range", "use 1..8192 for width and height")
            out.append((item, h, w))
        else:
            raise InputError(f"unknown resolution '{item}'", f"use {', '.join(NAMED)} or WxH such as 512x512")
    if not out:
        raise InputError("no resolution given", "e.g. --resolutions 480p,720p,1080p")
    return out


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


def time_calls(fn: Callable[[], object], warmup_s: float, duration_s: float | None = None,
               iterations: int | None = None) -> LatencyStats:
    """Call ``fn`` for ``warmup_s`` untimed, then for ``duration_s`` seconds or ``iterations`` calls."""
    if (duration_s is None) == (iterations is None):
        raise InputError("give exactly one of --duration and --iterations", "e.g. --duration 10")
    if (duration_s is not None and duration_s <= 0) or (iterations is not None and iterations <= 0):
        raise InputError("--duration/--iterations must be positive", "e.g. --duration 10 or --iterations 100")
    warm_up(fn, warmup_s)
    lat: list[float] = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        now = time.perf_counter()
        lat.append((now - t) * 1000)
        done = len(lat) >= iterations if iterations is not None else now - start >= (duration_s or 0.0)
        if done:
            break
    return summarise(lat, time.perf_counter() - start)


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


def time_pipeline(engine: Engine, h: int, w: int, warmup_s: float, folder: Path) -> tuple[LatencyStats, dict]:
    """The real end-to-end path: file source (decode thread) -> bounded blocking queue -> engine -> null sink.
    Latency is capture-to-output per frame (queue wait included); throughput is frames / wall time."""
    from edgecolor.stream.controls import Controls, Style
    from edgecolor.stream.pipeline import Pipeline
    from edgecolor.stream.sinks import NullSink
    from edgecolor.stream.sources import VideoFileSource
    from edgecolor.stream.stabilize import Stabilizer

    source = VideoFileSource(make_clip(h, w, folder))
    first = test_frame(h, w)
    warm_up(lambda: engine(first), warmup_s)
    pipeline = Pipeline(source, {"m": engine}, Controls([Style("m", "m")], stabilize=False), [NullSink()],
                        Stabilizer(enabled=False))
    stats = pipeline.run()
    return summarise(list(stats.latencies_ms), stats.seconds, stats.frames), {"dropped": stats.dropped,
                                                                        "skipped": stats.skipped}
