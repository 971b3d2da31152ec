"""``bench --mode pipeline``: the real streaming path, timed end to end and split by stage.

File source (decode thread) -> bounded blocking queue -> engine (frame k+1 submitted before k is collected)
-> sink writer thread. The sink is ``null`` or ``http``: the browser view with one client watching (a thread
that reads the MJPEG stream as a browser tab would), so the JPEG encoding (on the view's client thread) and the
socket writes are measured too. The clip (the bundled one, resized) loops until ``duration_s`` or
``iterations`` outputs.

Throughput is outputs / wall time of the run; latency is capture-to-output per frame (queue wait included);
``stages_ms`` is the split the pipeline records (:data:`edgecolor.stream.pipeline.STAGES`), like trtexec's
H2D / compute / D2H, plus ``view_encode`` with the browser view: its JPEG encoding, on the client's thread.

The file is read as fast as possible into a blocking queue (no frame lost, so throughput is the pipeline's),
which means it is decoded *ahead*: each frame waits in the ``queue`` stage for the frames before it, and that
wait is in its capture-to-output latency. A camera's frames never wait so (a live source's queue drops the
oldest instead), so the row also reports ``latency_from_submit_ms``: each frame's latency less its queue wait,
about what a live source at this frame rate sees (a slower camera sees less, down to one inference and post).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgecolor.backends.base import Engine
from edgecolor.bench.runner import check_budget, make_clip, test_frame, warm_up
from edgecolor.bench.stats import PERCENTILES, LatencyStats, percentile, summarise
from edgecolor.errors import InputError
from edgecolor.stream.pipeline import STAGES

log = logging.getLogger(__name__)

SINKS = ("null", "http")
BENCH_STAGES = (*STAGES, "view_encode")  # what the bench prints: the pipeline's stages and the view's encoding
CLIENT_WAIT_S = 5.0


# The watching client, run as its own process like a browser tab (in this process its socket reads would
# compete for the GIL with the pipeline's threads, which no real viewer does): reads the MJPEG stream until
# the view closes it, then prints the parts and bytes it received.
_CLIENT = """
import sys, urllib.request
parts = size = 0
try:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as stream:
        while chunk := stream.read1(1 << 16):
            size += len(chunk)
            parts += chunk.count(b"Content-Type: image/jpeg")
except OSError:
    pass
print(parts, size)
"""


class Watcher:
    """One client process reading the browser view's MJPEG stream until the view stops."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.frames_received = self.bytes = 0
        self._proc = subprocess.Popen([sys.executable, "-c", _CLIENT, view.url + "stream.mjpg"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def wait_connected(self, timeout_s: float = CLIENT_WAIT_S) -> None:
        deadline = time.perf_counter() + timeout_s
        while self.view.stream_clients < 1:
            if time.perf_counter() > deadline or self._proc.poll() is not None:
                self.stop()
                raise RuntimeError("the bench's browser-view client did not connect")
            time.sleep(0.01)

    def stop(self) -> None:
        """After the view stopped (its stream ends): the client's counts."""
        if self._proc.returncode is not None:
            return
        try:
            text, _ = self._proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            text, _ = self._proc.communicate()
        parts, _, size = (text or "0 0").strip().partition(" ")
        self.frames_received, self.bytes = int(parts or 0), int(size or 0)


def time_pipeline(engine: Engine, h: int, w: int, warmup_s: float, folder: Path, duration_s: float | None = None,
                  iterations: int | None = None, sink: str = "null",
                  percentiles: tuple[float, ...] | list[float] = PERCENTILES,
                  record: dict[str, Any] | None = None,
                  tick: Callable[[float], None] | None = None) -> tuple[LatencyStats, dict[str, Any]]:
    """Run the pipeline at ``w x h`` (see the module docstring). Returns the statistics and the row's extra
    fields (drops, the stage split, the client's share); ``record`` receives per-frame times for
    ``--export-times``."""
    from edgecolor.stream.pipeline import stage_summary
    from edgecolor.stream.session import RunConfig, streaming
    from edgecolor.stream.sinks import NullSink
    from edgecolor.stream.sources import VideoFileSource

    if sink not in SINKS:
        raise InputError(f"unknown bench sink '{sink}'", f"use one of: {', '.join(SINKS)}")
    check_budget(duration_s, iterations)
    first = test_frame(h, w)
    warm_up(lambda: engine(first), warmup_s)
    cfg = RunConfig(source=VideoFileSource(make_clip(h, w, folder), loop=True),
                    sinks=(NullSink(),) if sink == "null" else (), serve=("127.0.0.1", 0) if sink == "http" else None,
                    stabilize=False, max_frames=iterations)
    watcher = None
    try:
        with streaming(cfg, {"m": engine}) as session:
            view = session.view
            if view is not None:
                watcher = Watcher(view)
                watcher.wait_connected()
            timer = _stopper(session.pipeline, duration_s, iterations, tick)
            try:
                stats = session.run(stop_on_signals=False)
            finally:
                timer.set()
    finally:
        if watcher is not None:
            watcher.stop()  # after the view stopped: its stream has ended
    lat = list(stats.latencies_ms)
    stages = {k: list(v) for k, v in stats.stages_ms.items()}
    if view is not None:  # the view's JPEG work runs on its client's thread, once per frame the client takes
        stages["view_encode"] = list(view.hub.encode_ms)
    from_submit = list(stats.from_submit_ms)
    extra: dict[str, Any] = {"sink": sink, "dropped": stats.dropped, "skipped": stats.skipped,
                             "sink_dropped": stats.sink_dropped, "stages_ms": stage_summary(stages),
                             "reads_ahead": True, "latency_from_submit_ms": latency_summary(from_submit)}
    if watcher is not None:
        extra["client"] = {"frames_received": watcher.frames_received, "bytes": watcher.bytes}
    if record is not None:
        record["latency_ms"] = [round(x, 3) for x in lat]
        record["from_submit_ms"] = [round(x, 3) for x in from_submit]
        record["stages_ms"] = {k: [round(x, 3) for x in v] for k, v in stages.items()}
    return summarise(lat, stats.seconds, stats.frames, percentiles), extra


def latency_summary(ms: list[float]) -> dict[str, float]:
    """Mean, min, p50, p99 and max of per-frame milliseconds (nearest-rank percentiles, as the rows'); ``{}``
    without samples."""
    if not ms:
        return {}
    s = sorted(ms)
    return {"mean": round(sum(s) / len(s), 3), "min": round(s[0], 3), "p50": round(percentile(s, 50), 3),
            "p99": round(percentile(s, 99), 3), "max": round(s[-1], 3)}


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
