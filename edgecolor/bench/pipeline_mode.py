"""``bench --mode pipeline``: the real streaming path, timed end to end and split by stage.

File source (decode thread) -> bounded blocking queue -> engine (frame k+1 submitted before k is collected)
-> sink writer thread. The sink is ``null`` or ``http``: the browser view with one client watching (a thread
here that reads the MJPEG stream as a browser tab would), so the JPEG encoding and the socket writes are
measured too. The clip (the bundled one, resized) loops until ``duration_s`` or ``iterations`` outputs.

Throughput is outputs / wall time of the run; latency is capture-to-output per frame (queue wait included);
``stages_ms`` is the split the pipeline records (:data:`edgecolor.stream.pipeline.STAGES`), like trtexec's
H2D / compute / D2H.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgecolor.backends.base import Engine
from edgecolor.bench.runner import check_budget, make_clip, test_frame, warm_up
from edgecolor.bench.stats import PERCENTILES, LatencyStats, summarise
from edgecolor.errors import InputError

log = logging.getLogger(__name__)

SINKS = ("null", "http")
CLIENT_WAIT_S = 5.0


class Watcher:
    """One client reading the browser view's MJPEG stream until the view stops; counts bytes and parts."""

    def __init__(self, url: str) -> None:
        self.url, self.bytes, self.parts = url + "stream.mjpg", 0, 0
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._read, name="edgecolor-bench-watcher", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=10) as stream:  # noqa: S310 - our own loopback view
                self.connected.set()
                while chunk := stream.read1(1 << 16):
                    self.bytes += len(chunk)
                    self.parts += chunk.count(b"Content-Type: image/jpeg")
        except OSError as exc:  # the view closing mid-read ends the stream too
            log.debug("watcher stopped: %s", exc)
        finally:
            self.connected.set()

    def join(self) -> None:
        self._thread.join(timeout=5)


def time_pipeline(engine: Engine, h: int, w: int, warmup_s: float, folder: Path, duration_s: float | None = None,
                  iterations: int | None = None, sink: str = "null",
                  percentiles: tuple[float, ...] | list[float] = PERCENTILES,
                  record: dict[str, Any] | None = None,
                  tick: Callable[[float], None] | None = None) -> tuple[LatencyStats, dict[str, Any]]:
    """Run the pipeline at ``w x h`` (see the module docstring). Returns the statistics and the row's extra
    fields (drops, the stage split, the client's share); ``record`` receives per-frame times for
    ``--export-times``."""
    from edgecolor.stream.controls import Controls, Style
    from edgecolor.stream.http_view import HttpView
    from edgecolor.stream.pipeline import Pipeline, PipelineConfig
    from edgecolor.stream.sinks import HttpViewSink, NullSink, Sink
    from edgecolor.stream.sources import VideoFileSource
    from edgecolor.stream.stabilize import Stabilizer

    if sink not in SINKS:
        raise InputError(f"unknown bench sink '{sink}'", f"use one of: {', '.join(SINKS)}")
    check_budget(duration_s, iterations)
    source = VideoFileSource(make_clip(h, w, folder), loop=True)
    first = test_frame(h, w)
    warm_up(lambda: engine(first), warmup_s)
    view = HttpView("127.0.0.1", 0) if sink == "http" else None
    watcher = None
    try:
        sinks: list[Sink] = [NullSink()]
        if view is not None:
            sinks = [HttpViewSink(view)]
            watcher = Watcher(view.url)
            if not watcher.connected.wait(CLIENT_WAIT_S) or view.stream_clients != 1:
                raise RuntimeError("the bench's browser-view client did not connect")
        pipeline = Pipeline(source, {"m": engine}, Controls([Style("m", "m")], stabilize=False), sinks,
                            Stabilizer(enabled=False), PipelineConfig(max_frames=iterations))
        timer = _stopper(pipeline, duration_s, iterations, tick)
        try:
            stats = pipeline.run()
        finally:
            timer.set()
    finally:
        if view is not None:
            view.stop()
        if watcher is not None:
            watcher.join()
    lat = list(stats.latencies_ms)
    extra: dict[str, Any] = {"sink": sink, "dropped": stats.dropped, "skipped": stats.skipped,
                             "sink_dropped": stats.sink_dropped, "stages_ms": stats.stage_summary()}
    if watcher is not None:
        extra["client"] = {"frames_received": watcher.parts, "bytes": watcher.bytes}
    if record is not None:
        record["latency_ms"] = [round(x, 3) for x in lat]
        record["stages_ms"] = {k: [round(x, 3) for x in v] for k, v in stats.stages_ms.items()}
    return summarise(lat, stats.seconds, stats.frames, percentiles), extra


def _stopper(pipeline: Any, duration_s: float | None, iterations: int | None,
             tick: Callable[[float], None] | None) -> threading.Event:
    """A thread that stops ``pipeline`` after ``duration_s`` and reports progress once a second; set the
    returned event to end it."""
    done = threading.Event()

    def watch() -> None:
        start = time.perf_counter()
        while True:
            left = start + duration_s - time.perf_counter() if duration_s is not None else 1.0
            if done.wait(max(0.0, min(1.0, left))):
                return
            elapsed = time.perf_counter() - start
            if tick is not None:
                tick(min(1.0, pipeline.stats.frames / iterations if iterations else elapsed / (duration_s or 1.0)))
            if duration_s is not None and elapsed >= duration_s:
                pipeline.stop("bench duration")
                return

    threading.Thread(target=watch, name="edgecolor-bench-timer", daemon=True).start()
    return done
