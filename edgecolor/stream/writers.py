"""Each sink on its own writer thread behind a bounded queue, so a slow sink never stalls inference.

supervision's shape: the pipeline thread hands an :class:`~edgecolor.stream.sinks.Output` to
:meth:`SinkWriter.put` and goes on with the next frame; the writer thread draws the browser view's frame (its
clients' threads JPEG-encode it, once each, on demand) or writes the video file meanwhile. The queue policy is
the sink's (:attr:`Sink.keeps_every_frame`): a file sink blocks when its queue is full (no frame is lost in a
file; inference waits for the disk), a view drops its oldest output (what is shown stays recent). A sink with
``threaded = False`` (the OpenCV window: HighGUI must be driven from the thread that made the window; the null
sink: nothing to hand off) is written inline.

Errors: a write that raises ends that writer; the next :meth:`SinkWriter.put` re-raises it on the pipeline
thread, which then aborts every sink (no partial files).
"""

from __future__ import annotations

import collections
import threading
import time

from edgecolor.stream.queues import FrameQueue
from edgecolor.stream.sinks import Output, Sink

_END = object()
JOIN_TIMEOUT_S = 10.0  # an aborting writer stuck in a write is left behind (daemon) after this


class SinkWriter:
    """Writes one sink from its own thread (see the module docstring); ``dropped`` counts view drops."""

    def __init__(self, sink: Sink, size: int = 2, times: dict[str, collections.deque[float]] | None = None) -> None:
        self.sink = sink
        self.queue = FrameQueue(size, drop_oldest=not sink.keeps_every_frame)
        self.error: BaseException | None = None
        self._times = times  # "sink_queue" and "sink" milliseconds, appended as frames are written
        self._thread: threading.Thread | None = None
        if sink.threaded:
            self._thread = threading.Thread(target=self._run, name=f"edgecolor-sink-{sink.name}"[:60], daemon=True)
            self._thread.start()

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def put(self, out: Output) -> None:
        """Hand ``out`` to the sink (inline sinks: write it now); re-raises an earlier write's error."""
        if self.error is not None:
            raise self.error
        now = time.perf_counter()
        if self._thread is None:
            self._write(out, now)
        elif not self.queue.put((out, now)) and self.error is not None:  # closed by a failed write
            raise self.error

    def finish(self, ok: bool) -> BaseException | None:
        """End the writer: ``ok`` writes what is queued and closes the sink; otherwise queued outputs are
        discarded and the sink aborted. Returns the first error (an earlier write's or the close's)."""
        clean = ok and self.error is None
        if self._thread is not None:
            if clean:
                self.queue.put(_END, force=True)
                self._thread.join()  # a file sink writes every queued frame before it is closed
            else:
                self.queue.close(discard=True)
                self._thread.join(timeout=JOIN_TIMEOUT_S)
        clean = clean and self.error is None
        try:
            self.sink.close() if clean else self.sink.abort()
        except Exception as exc:  # the caller closes the other sinks, then raises the first error
            self.error = self.error or exc
        return self.error

    def _run(self) -> None:
        while True:
            item = self.queue.get(timeout=0.5)
            if item is _END or (item is None and self.queue.closed):
                return
            if item is None:
                continue
            out, queued = item
            try:
                self._write(out, queued)
            except BaseException as exc:  # handed to the pipeline thread by put() / finish()
                self.error = exc
                self.queue.close(discard=True)  # wakes a pipeline thread blocked on the full queue
                return

    def _write(self, out: Output, queued: float) -> None:
        t = time.perf_counter()
        self.sink.write(out)
        if self._times is not None:
            self._times["sink_queue"].append((t - queued) * 1000)
            self._times["sink"].append((time.perf_counter() - t) * 1000)
