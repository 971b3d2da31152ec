"""Soak: the streaming pipeline on a looping clip for a long time, sampling memory and frame times.

What a kiosk needs from weeks of running is that nothing accumulates and nothing stalls. :func:`soak` runs
source (the clip, looped, paced like a camera) -> bounded queue -> engine -> stabiliser -> sink for
``duration_s`` and reports:

- RSS growth after warm-up: mean RSS of the last 10% of samples minus RSS at the end of warm-up
  (limit 5 MB). Warm-up is ``warmup_s``: allocator arenas, ONNX Runtime buffers and OpenCV's decoder
  reach their steady size there.
- The longest gap between two outputs after warm-up (a stall; limit 1 s), and the frame-time percentiles.
- The RSS trend after warm-up (least-squares slope, MB/min): a slow leak shows there before it crosses 5 MB.

RSS is read from ``/proc/self/status`` (Linux), once per ``sample_every_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.stream.sinks import Output, Sink
from edgecolor.stream.sources import VideoFileSource

log = logging.getLogger(__name__)

RSS_LIMIT_MB = 5.0
STALL_LIMIT_S = 1.0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class LoopingSource(VideoFileSource):
    """A video file played again and again, paced at its frame rate like a camera (a live source); the
    pacing and looping are :class:`VideoFileSource`'s own."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, realtime=True, loop=True)
        self.name = f"{path} (looped)"


class TimingSink(Sink):
    """Output times and latencies in arrays allocated (and touched) up front: the instrument must not grow
    the RSS it measures. Past ``capacity`` frames it wraps around (keeps the most recent)."""

    name = "timing"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._times = np.full(capacity, np.nan)
        self._latencies = np.full(capacity, np.nan)
        self.count = 0

    def write(self, out: Output) -> None:
        i = self.count % self.capacity
        self._times[i], self._latencies[i] = time.monotonic(), out.latency_s * 1000
        self.count += 1

    def _ordered(self, values: np.ndarray) -> np.ndarray:
        if self.count <= self.capacity:
            return values[: self.count]
        start = self.count % self.capacity
        return np.concatenate([values[start:], values[:start]])

    @property
    def times(self) -> list[float]:
        return self._ordered(self._times).tolist()

    @property
    def latencies_ms(self) -> list[float]:
        return self._ordered(self._latencies).tolist()


def soak(engine: Engine, clip: Path, duration_s: float, warmup_s: float, sample_every_s: float = 1.0,
         stabilize: bool = True) -> dict[str, Any]:
    """Run the pipeline for ``duration_s`` and return the measurements (see the module docstring)."""
    from edgecolor.stream.session import RunConfig, streaming

    if warmup_s >= duration_s:
        raise ValueError(f"warm-up ({warmup_s} s) must be shorter than the run ({duration_s} s)")
    source = LoopingSource(clip)
    sink = TimingSink(int(duration_s * (source.fps or 30.0) * 1.5) + 1000)
    samples = np.full((int(duration_s / sample_every_s) + 16, 2), np.nan)  # (seconds since start, RSS MB)
    n = 0
    done = threading.Event()
    t0 = time.monotonic()
    with streaming(RunConfig(source=source, sinks=(sink,), stabilize=stabilize), {"m": engine}) as session:

        def sampler() -> None:
            nonlocal n
            while not done.wait(sample_every_s) and n < len(samples):
                samples[n] = (time.monotonic() - t0, rss_mb())
                n += 1
                if time.monotonic() - t0 >= duration_s:
                    session.pipeline.stop("soak duration reached")

        thread = threading.Thread(target=sampler, name="edgecolor-soak-sampler", daemon=True)
        samples[0], n = (0.0, rss_mb()), 1
        thread.start()
        try:
            stats = session.run(stop_on_signals=False)
        finally:
            done.set()
            thread.join(timeout=5)
    taken = [(float(t), float(m)) for t, m in samples[:n]]
    return summarise(taken, sink.times, sink.latencies_ms, t0, warmup_s) | {
        "frames": stats.frames, "dropped": stats.dropped, "skipped": stats.skipped, "loops": source.loops,
        "seconds": round(stats.seconds, 1), "stopped_by": stats.stopped_by, "clip": str(clip),
        "clip_fps": source.fps, "engine": engine.backend,
    }


def summarise(samples: list[tuple[float, float]], times: list[float], latencies_ms: list[float], t0: float,
              warmup_s: float) -> dict[str, Any]:
    """RSS growth after warm-up, the longest output gap after warm-up, and frame-time percentiles."""
    after = [(t, m) for t, m in samples if t >= warmup_s]
    if len(after) < 2 or len(times) < 2:
        raise RuntimeError(f"too few samples after warm-up ({len(after)} RSS samples, {len(times)} frames)")
    base = after[0][1]
    tail = [m for _, m in after[-max(1, len(after) // 10) :]]
    growth = float(np.mean(tail)) - base
    steady = np.asarray([t - t0 for t in times if t - t0 >= warmup_s])
    gaps = np.diff(steady) if steady.size > 1 else np.asarray([0.0])
    frame_ms = gaps * 1000
    return {
        "warmup_s": warmup_s,
        "rss_mb": {"start": round(samples[0][1], 1), "after_warmup": round(base, 1), "end": round(after[-1][1], 1),
                   "max": round(max(m for _, m in samples), 1), "growth_after_warmup": round(growth, 2)},
        "rss_samples": [(round(t, 1), round(m, 2)) for t, m in samples],
        "frame_interval_ms": {f"p{p}": round(float(np.percentile(frame_ms, p)), 1) for p in (50, 90, 99)}
        | {"max": round(float(frame_ms.max()), 1)},
        "latency_ms": {f"p{p}": round(float(np.percentile(latencies_ms, p)), 1) for p in (50, 99)},
        "rss_slope_mb_per_min": round(float(np.polyfit([t for t, _ in after], [m for _, m in after], 1)[0]) * 60, 3),
        "longest_stall_s": round(float(gaps.max()), 3),
        "passed": bool(growth <= RSS_LIMIT_MB and gaps.max() <= STALL_LIMIT_S),
        "limits": {"rss_growth_mb": RSS_LIMIT_MB, "stall_s": STALL_LIMIT_S},
    }
