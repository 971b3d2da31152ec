"""The streaming pipeline: capture thread -> bounded queue -> engine -> stabiliser -> sinks.

Queue policy: a live source (camera, RTSP, or a file paced with ``--realtime``) never waits for the
consumer; when the queue is full the *oldest* frame is dropped, so latency stays bounded and what is shown
is always recent. A file read as fast as possible blocks instead, so no frame is lost.

Stopping: end of input (the capture thread puts a sentinel), :meth:`Pipeline.stop` (SIGINT/SIGTERM via
:func:`signals_stop`), or the ``quit`` control. Sinks are closed on every clean stop (files flushed and
playable) and aborted on an error (no partial files).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.stream.controls import Controls
from edgecolor.stream.sinks import Output, Sink
from edgecolor.stream.sources import Frame, Source
from edgecolor.stream.stabilize import Stabilizer

log = logging.getLogger(__name__)

_END = object()  # sentinel: the source has no more frames
LATENCY_WINDOW = 10_000  # latencies kept for the percentiles (5.5 min at 30 frames/s)


class FrameQueue:
    """A bounded FIFO; full + ``drop_oldest`` discards the oldest item, full + blocking waits for space."""

    def __init__(self, size: int, drop_oldest: bool) -> None:
        if size < 1:
            raise ValueError(f"queue size must be >= 1, got {size}")
        self.size, self.drop_oldest = size, drop_oldest
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item: Any, force: bool = False) -> bool:
        """Queue ``item``; False if the queue was closed. ``force`` (the end sentinel) neither waits nor
        drops: it may exceed the size by one, so the end of a file never costs its last frame."""
        with self._cond:
            if not (self.drop_oldest or force):
                self._cond.wait_for(lambda: len(self._items) < self.size or self.closed)
            if self.closed:
                return False
            if len(self._items) >= self.size and not force:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float) -> Any:
        """The oldest item, or ``None`` after ``timeout`` seconds without one."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout):
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Wake every waiter; later puts are refused."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


@dataclass(frozen=True)
class PipelineConfig:
    queue_size: int = 2  # live latency is about (queue_size + 1) inference times
    drop_oldest: bool | None = None  # None: drop for live sources, block for files
    max_frames: int | None = None  # stop after this many outputs


@dataclass
class Stats:
    """Counters of one run. While it runs (``started`` set, ``stopped_by`` None) :meth:`summary` reports the
    values so far, so the browser view's ``/status`` is live; after the run, the final ones."""

    frames: int = 0
    dropped: int = 0
    skipped: int = 0
    seconds: float = 0.0
    stopped_by: str | None = None  # None while running
    started: float | None = None  # perf_counter() at the start of the run
    recent_fps: float | None = None  # over the last 30 frames, as the window's overlay shows
    # The most recent latencies only: a kiosk runs for weeks, and an unbounded list grew ~32 bytes a frame
    # (about 80 MB a month at 30 frames/s). Percentiles are over these.
    latencies_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=LATENCY_WINDOW))

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_ms.copy() or [np.nan])  # copy(): atomic while the pipeline appends
        pct = {f"p{p}": round(float(np.percentile(lat, p)), 2) for p in (50, 90, 99)}
        running = self.stopped_by is None and self.started is not None
        seconds = time.perf_counter() - (self.started or 0.0) if running else self.seconds
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "seconds": round(seconds, 3),
            "stopped_by": self.stopped_by,
            "frames_per_s": round(self.frames / seconds, 2) if seconds else None,
            "recent_frames_per_s": None if self.recent_fps is None else round(self.recent_fps, 2),
            "latency_ms": pct | {"max": round(float(np.max(lat)), 2)},
        }


class Pipeline:
    """Runs ``source`` through the engine of the current style into every sink (see module docstring)."""

    def __init__(
        self,
        source: Source,
        engines: dict[str, Engine],
        controls: Controls,
        sinks: list[Sink],
        stabilizer: Stabilizer | None = None,
        config: PipelineConfig = PipelineConfig(),
    ) -> None:
        missing = {s.engine for s in controls.styles} - set(engines)
        if missing:
            raise ValueError(f"styles use engines that are not loaded: {sorted(missing)}")
        self.source, self.engines, self.controls, self.sinks = source, engines, controls, sinks
        self.stabilizer = stabilizer or Stabilizer(enabled=False)
        self.config = config
        drop = source.live if config.drop_oldest is None else config.drop_oldest
        self.queue = FrameQueue(config.queue_size, drop)
        self.stats = Stats()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._recent: collections.deque[float] = collections.deque(maxlen=30)
        self._last_style = controls.state.style

    def stop(self, reason: str = "stopped") -> None:
        """Ask the pipeline to stop after the current frame (safe from signal handlers and other threads)."""
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    def _capture(self) -> None:
        try:
            for frame in self.source.frames():
                if self._stop.is_set() or not self.queue.put(frame):
                    break
        except Exception:
            log.exception("capture from %s failed", self.source.name)
            self.stop("capture error")
        finally:
            self.queue.put(_END, force=True)

    def _process(self, frame: Frame) -> Output:
        state = self.controls.state
        style = self.controls.styles[state.style]
        image = self.engines[style.engine](frame.image, **style.extra)
        self.stabilizer.enabled = state.stabilize
        if state.style != self._last_style:
            self.stabilizer.reset()  # a new style must show in full at once, not fade in over frames
            self._last_style = state.style
        image = self.stabilizer(image)
        now = time.perf_counter()
        self._recent.append(now)
        span = self._recent[-1] - self._recent[0]
        fps = (len(self._recent) - 1) / span if span > 0 else 0.0
        return Output(frame, image, now - frame.captured, fps, style.name, state.split)

    def run(self) -> Stats:
        """Process until the input ends or a stop is requested; returns the statistics."""
        t0 = self.stats.started = time.perf_counter()
        capture = threading.Thread(target=self._capture, name="edgecolor-capture", daemon=True)
        capture.start()
        ok = False
        try:
            while True:
                if self.controls.quit_event.is_set():
                    self.stop("quit control")
                if self._stop.is_set():
                    break
                item = self.queue.get(timeout=0.1)
                if item is None:
                    continue
                if item is _END:
                    break
                out = self._process(item)
                for sink in self.sinks:
                    sink.write(out)
                self.stats.frames += 1
                self.stats.latencies_ms.append(out.latency_s * 1000)
                # only this thread writes the stats; /status reads them while the run goes on
                self.stats.dropped, self.stats.skipped = self.queue.dropped, self.source.skipped
                self.stats.recent_fps = out.fps if len(self._recent) > 1 else None
                if self.config.max_frames and self.stats.frames >= self.config.max_frames:
                    self.stop("max frames")
            ok = True
        finally:
            self._stop.set()
            self.source.stop()  # a source waiting to reconnect stops waiting
            self.queue.close()  # wakes a capture thread blocked on a full queue
            capture.join(timeout=5)
            self.source.close()
            self.stats.seconds = time.perf_counter() - t0
            self.stats.dropped = self.queue.dropped
            self.stats.skipped = self.source.skipped
            self.stats.stopped_by = self._stop_reason or "end of input"
            self._finish_sinks(ok)
        return self.stats

    def _finish_sinks(self, ok: bool) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.close() if ok else sink.abort()
            except Exception as exc:  # close every sink even if one fails; re-raise the first below
                errors.append(exc)
        if errors and ok:
            raise errors[0]


def signals_stop(pipeline: Pipeline) -> contextlib.AbstractContextManager[None]:
    """While active, SIGINT and SIGTERM stop ``pipeline`` cleanly instead of killing the process."""
    from edgecolor.signals import handling

    def handler(signum: int, _frame: object) -> None:
        pipeline.stop(signal.Signals(signum).name)

    return handling((signal.SIGINT, signal.SIGTERM), handler)
