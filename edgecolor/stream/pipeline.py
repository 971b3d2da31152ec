"""The streaming pipeline: capture thread -> bounded queue -> engine -> stabiliser -> sink writer threads.

Stages overlap (supervision's reader thread -> queue -> callback -> writer thread, plus the engine's own
:meth:`~edgecolor.backends.base.Engine.submit`): the capture thread decodes ahead; the pipeline thread
submits frame k+1 to the engine *before* it collects frame k (TensorRT: two CUDA-stream slots; the CPU split
path: a worker per stage, so frame k+1's network runs beside frame k's colour math; other CPU engines: the
engine's worker thread), then stabilises frame k and hands it to each sink's writer thread
(:mod:`edgecolor.stream.writers`), which hands the browser view its frame (encoded when a client asks) or writes
the file while inference goes on. At most two frames are in the engine at once (a streams engine of N: N + 1),
so live latency grows by at most one inference time.

Queue policy: a live source (camera, RTSP, or a file paced with ``--realtime``) never waits for the
consumer; when the queue is full the *oldest* frame is dropped, so latency stays bounded and what is shown
is always recent. A file read as fast as possible blocks instead, so no frame is lost. Sinks have their
own policy (files block, views drop; :attr:`~edgecolor.stream.sinks.Sink.keeps_every_frame`).

Controls: the style, strength and stabiliser state are read when a frame is *submitted*, so a switch takes
effect on the next frame submitted (one frame later than without overlap, as any pipelined player).

Stopping: end of input (the capture thread puts a sentinel; the frame still in the engine is collected and
written), :meth:`Pipeline.stop` (SIGINT/SIGTERM via :func:`signals_stop`), the ``quit`` control, or
``max_frames`` (no frame past it is submitted). Sinks are closed on every clean stop (files flushed and
playable, every frame handed to a file sink written) and aborted on an error (no partial files).

Stage times (the bench's split, like trtexec's H2D / compute / D2H), milliseconds per frame: ``decode`` (the
source delivering a frame; a live source's wait for the device included), ``pace`` (a file played like a camera,
``--realtime``: the sleep until its frame is due; no samples for other sources), ``queue`` (waiting for the
pipeline thread: a file read as fast as possible is decoded ahead, so its frames wait here for the ones before
them, which a live source's never do: it drops frames instead), ``infer`` (the engine's own time), ``post``
(collecting wait, stabiliser, hand-off), ``sink_queue`` (waiting for a sink's writer thread) and ``sink`` (the
write itself). Besides capture-to-output latency, :attr:`Stats.from_submit_ms` is each frame's latency without
its input-queue wait: what a live source the pipeline keeps up with sees.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine, Pending
from edgecolor.signals import StopRequest, stopping
from edgecolor.stream.controls import Controls
from edgecolor.stream.queues import FrameQueue
from edgecolor.stream.sinks import Output, Sink
from edgecolor.stream.sources import Frame, Source
from edgecolor.stream.stabilize import Stabilizer
from edgecolor.stream.writers import SinkWriter

__all__ = ["FrameQueue", "Pipeline", "PipelineConfig", "Stats", "signals_stop", "stage_summary", "STAGES"]

log = logging.getLogger(__name__)

_END = object()  # sentinel: the source has no more frames
LATENCY_WINDOW = 10_000  # latencies kept for the percentiles (5.5 min at 30 frames/s)
STAGES = ("decode", "pace", "queue", "infer", "post", "sink_queue", "sink")
POLL_S = 0.002  # while a frame is in the engine, how often the next input is looked for


@dataclass(frozen=True)
class PipelineConfig:
    queue_size: int = 2  # live latency is about (queue_size + 2) inference times
    drop_oldest: bool | None = None  # None: drop for live sources, block for files
    max_frames: int | None = None  # stop after this many outputs
    sink_queue_size: int = 2  # outputs waiting for each sink's writer thread


def _window() -> collections.deque[float]:
    return collections.deque(maxlen=LATENCY_WINDOW)


@dataclass
class Stats:
    """Counters of one run. While it runs (``started`` set, ``stopped_by`` None) :meth:`summary` reports the
    values so far, so the browser view's ``/status`` is live; after the run, the final ones."""

    frames: int = 0
    dropped: int = 0
    skipped: int = 0
    sink_dropped: int = 0  # outputs a view's writer dropped because it was behind (files never drop)
    seconds: float = 0.0
    stopped_by: str | None = None  # None while running
    started: float | None = None  # perf_counter() at the start of the run
    recent_fps: float | None = None  # over the last 30 frames, as the window's overlay shows
    # The most recent latencies only: a kiosk runs for weeks, and an unbounded list grew ~32 bytes a frame
    # (about 80 MB a month at 30 frames/s). Percentiles are over these.
    latencies_ms: collections.deque[float] = field(default_factory=_window)
    # submit-to-output: capture-to-output less the wait in the input queue (a file read ahead waits there)
    from_submit_ms: collections.deque[float] = field(default_factory=_window)
    stages_ms: dict[str, collections.deque[float]] = field(default_factory=lambda: {s: _window() for s in STAGES})

    def stage_summary(self) -> dict[str, dict[str, float]]:
        """Mean, p50 and p99 milliseconds of each stage that has samples (see the module docstring)."""
        return stage_summary({k: v.copy() for k, v in self.stages_ms.items()})  # copy(): atomic while appending

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_ms.copy() or [np.nan])  # copy(): atomic while the pipeline appends
        pct = {f"p{p}": round(float(np.percentile(lat, p)), 2) for p in (50, 90, 99)}
        running = self.stopped_by is None and self.started is not None
        seconds = time.perf_counter() - (self.started or 0.0) if running else self.seconds
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "skipped": self.skipped,
            "sink_dropped": self.sink_dropped,
            "seconds": round(seconds, 3),
            "stopped_by": self.stopped_by,
            "frames_per_s": round(self.frames / seconds, 2) if seconds else None,
            "recent_frames_per_s": None if self.recent_fps is None else round(self.recent_fps, 2),
            "latency_ms": pct | {"max": round(float(np.max(lat)), 2)},
            "stages_ms": self.stage_summary(),
        }


def stage_summary(stages: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{stage: milliseconds}`` -> mean, p50, p99 and the sample count of each stage that has samples."""
    out = {}
    for name, values in stages.items():
        ms = np.asarray(list(values), dtype=float)
        if ms.size:
            out[name] = {"mean": round(float(ms.mean()), 3), "p50": round(float(np.percentile(ms, 50)), 3),
                         "p99": round(float(np.percentile(ms, 99)), 3), "samples": int(ms.size)}
    return out


@dataclass
class _InFlight:
    """A frame in the engine, with the controls it was submitted under."""

    frame: Frame
    pending: Pending
    submitted: float  # perf_counter()
    style_index: int
    style_name: str
    stabilize: bool
    split: bool


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
        self._submitted = 0
        self._streams = max((e.streams for e in engines.values()), default=1)  # computing at once, besides the next

    def stop(self, reason: str = "stopped") -> None:
        """Ask the pipeline to stop after the current frame (safe from signal handlers and other threads)."""
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    def _capture(self) -> None:
        decode, pace = self.stats.stages_ms["decode"], self.stats.stages_ms["pace"]
        try:
            frames = iter(self.source.frames())
            while True:
                t, paced = time.perf_counter(), self.source.paced_s
                frame = next(frames, None)
                if frame is None:
                    break
                waited = self.source.paced_s - paced  # the source's pacing sleep: not decoding
                decode.append((time.perf_counter() - t - waited) * 1000)
                if self.source.paced:
                    pace.append(waited * 1000)
                if self._stop.is_set() or not self.queue.put(frame):
                    break
        except Exception:
            log.exception("capture from %s failed", self.source.name)
            self.stop("capture error")
        finally:
            self.queue.put(_END, force=True)

    def _submit(self, frame: Frame) -> _InFlight:
        submitted = time.perf_counter()
        self.stats.stages_ms["queue"].append((submitted - frame.captured) * 1000)
        state = self.controls.state
        style = self.controls.styles[state.style]
        pending = self.engines[style.engine].submit(frame.image, **style.extra)
        self._submitted += 1
        return _InFlight(frame, pending, submitted, state.style, style.name, state.stabilize, state.split)

    def _collect(self, job: _InFlight, writers: list[SinkWriter]) -> None:
        t = time.perf_counter()
        image = job.pending()
        if job.pending.compute_ms is not None:
            self.stats.stages_ms["infer"].append(job.pending.compute_ms)
        self.stabilizer.enabled = job.stabilize
        if job.style_index != self._last_style:
            self.stabilizer.reset()  # a new style must show in full at once, not fade in over frames
            self._last_style = job.style_index
        image = self.stabilizer(image)
        now = time.perf_counter()
        self._recent.append(now)
        span = self._recent[-1] - self._recent[0]
        fps = (len(self._recent) - 1) / span if span > 0 else 0.0
        out = Output(job.frame, image, now - job.frame.captured, fps, job.style_name, job.split)
        for writer in writers:
            writer.put(out)
        self.stats.stages_ms["post"].append((time.perf_counter() - t) * 1000)
        self.stats.frames += 1
        self.stats.latencies_ms.append(out.latency_s * 1000)
        self.stats.from_submit_ms.append((now - job.submitted) * 1000)
        # only this thread writes the counters; /status reads them while the run goes on
        self.stats.dropped, self.stats.skipped = self.queue.dropped, self.source.skipped
        self.stats.sink_dropped = sum(w.dropped for w in writers)
        self.stats.recent_fps = out.fps if len(self._recent) > 1 else None
        if self.config.max_frames and self.stats.frames >= self.config.max_frames:
            self.stop("max frames")

    def _room(self) -> bool:
        """Whether another frame may be submitted (``max_frames`` counts outputs: none is computed past it)."""
        return not self.config.max_frames or self._submitted < self.config.max_frames

    def run(self) -> Stats:
        """Process until the input ends or a stop is requested; returns the statistics."""
        t0 = self.stats.started = time.perf_counter()
        times = {k: self.stats.stages_ms[k] for k in ("sink_queue", "sink")}
        writers = [SinkWriter(s, self.config.sink_queue_size, times) for s in self.sinks]
        capture = threading.Thread(target=self._capture, name="edgecolor-capture", daemon=True)
        capture.start()
        ok = False
        pending: collections.deque[_InFlight] = collections.deque()
        try:
            while True:
                if self.controls.quit_event.is_set():
                    self.stop("quit control")
                if self._stop.is_set() or not self._room():
                    break
                item = self.queue.get(timeout=0.1 if not pending else POLL_S)
                if item is None:
                    if pending and pending[0].pending.done():  # nothing to overlap with: show it now
                        self._collect(pending.popleft(), writers)
                    continue
                if item is _END:
                    break
                pending.append(self._submit(item))  # frame k+1 goes in before frame k comes out
                if len(pending) > self._streams:
                    self._collect(pending.popleft(), writers)
            while pending:  # end of input or a stop: the frames in the engine are still shown
                self._collect(pending.popleft(), writers)
            ok = True
        finally:
            self._stop.set()
            self.source.stop()  # a source waiting to reconnect stops waiting
            self.queue.close()  # wakes a capture thread blocked on a full queue
            capture.join(timeout=5)
            self.source.close()
            self.stats.dropped = self.queue.dropped
            self.stats.skipped = self.source.skipped
            self.stats.stopped_by = self._stop_reason or "end of input"
            self._finish_sinks(writers, ok)
            self.stats.sink_dropped = sum(w.dropped for w in writers)
            self.stats.seconds = time.perf_counter() - t0
        return self.stats

    def _finish_sinks(self, writers: list[SinkWriter], ok: bool) -> None:
        errors = [err for err in (w.finish(ok) for w in writers) if err is not None]  # every sink, even after one fails
        if errors and ok:
            raise errors[0]


def signals_stop(pipeline: Pipeline) -> contextlib.AbstractContextManager[StopRequest]:
    """While active, SIGINT and SIGTERM stop ``pipeline`` cleanly instead of killing the process (a second one
    while it stops changes nothing: :mod:`edgecolor.signals`)."""
    return stopping(pipeline.stop)
