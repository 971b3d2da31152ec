"""Issue 15, item 5: the pipeline's stages overlap. Proved by call order with fake engines and sinks (events,
not wall time): submit(k+1) comes before collect(k); a slow sink does not hold the engine back; views drop
their oldest outputs while files keep every frame; a sink's error aborts every sink."""

import threading
import time

import numpy as np
import pytest

from edgecolor.backends.base import Engine
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.pipeline import STAGES, Pipeline, PipelineConfig
from edgecolor.stream.queues import FrameQueue
from edgecolor.stream.sinks import Sink, VideoFileSink
from edgecolor.stream.sources import Frame, Source

WAIT_S = 3.0  # an event that never comes fails the test after this, instead of hanging it


class Numbered(Source):
    """``n`` frames of 16x16 whose pixels are the frame number (a file: the pipeline blocks, drops nothing)."""

    def __init__(self, n):
        super().__init__("numbered")
        self.n = n

    def frames(self):
        for i in range(self.n):
            yield Frame(i, time.perf_counter(), np.full((16, 16, 3), i, np.uint8))


class Recorded:
    """A Pending that records when the pipeline collects it."""

    def __init__(self, pending, index, log):
        self.pending, self.index, self.log = pending, index, log

    def done(self):
        return self.pending.done()

    @property
    def compute_ms(self):
        return self.pending.compute_ms

    def __call__(self):
        self.log.append(("collect", self.index))
        return self.pending()


class OrderEngine(Engine):
    """Records submit/collect; computing frame k waits until frame k+1 was submitted (or k is the last), so a
    pipeline that collected k before submitting k+1 would show it in the log (after WAIT_S)."""

    backend = "order"

    def __init__(self, n, computed_hook=None):
        super().__init__()
        self.n, self.log, self.computed_hook = n, [], computed_hook
        self.submitted = [threading.Event() for _ in range(n)]

    def submit(self, frame, **extra):
        index = int(frame[0, 0, 0])
        self.log.append(("submit", index))
        self.submitted[index].set()
        return Recorded(super().submit(frame, **extra), index, self.log)

    def _infer_impl(self, batch, extra):
        index = int(batch[0, 0, 0, 0])
        if index + 1 < self.n:
            self.submitted[index + 1].wait(WAIT_S)
        if self.computed_hook:
            self.computed_hook(index)
        return batch


class Collect(Sink):
    def __init__(self, keeps_every_frame=True, first_write=None):
        self.keeps_every_frame, self.first_write = keeps_every_frame, first_write
        self.indices, self.closed, self.aborted = [], False, False

    def write(self, out):
        if not self.indices and self.first_write is not None:
            assert self.first_write.wait(WAIT_S), "the engine stalled behind this sink"
        self.indices.append(out.frame.index)

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True


def run(n, engine, sinks, **config):
    controls = Controls([Style("e", "e")])
    return Pipeline(Numbered(n), {"e": engine}, controls, sinks, config=PipelineConfig(**config)).run()


def test_frame_k_plus_1_is_submitted_before_frame_k_is_collected():
    engine = OrderEngine(5)
    sink = Collect()
    stats = run(5, engine, [sink])
    expect = [("submit", 0), ("submit", 1), ("collect", 0)]
    for k in range(2, 5):
        expect += [("submit", k), ("collect", k - 1)]
    assert engine.log == expect + [("collect", 4)]  # the last frame is flushed at the end of input
    assert sink.indices == list(range(5)) and stats.frames == 5 and sink.closed


def test_a_slow_file_sink_does_not_stall_inference_and_loses_no_frame():
    computed_3 = threading.Event()
    engine = OrderEngine(8, lambda i: computed_3.set() if i == 3 else None)
    sink = Collect(keeps_every_frame=True, first_write=computed_3)  # frame 0's write waits for frame 3's compute
    stats = run(8, engine, [sink], sink_queue_size=2)
    assert computed_3.is_set() and sink.indices == list(range(8)) and stats.sink_dropped == 0 and sink.closed


def test_a_slow_view_drops_its_oldest_outputs_while_a_file_keeps_every_frame():
    n = 12
    computed_last = threading.Event()
    engine = OrderEngine(n, lambda i: computed_last.set() if i == n - 1 else None)
    view = Collect(keeps_every_frame=False, first_write=computed_last)
    file = Collect(keeps_every_frame=True)
    stats = run(n, engine, [view, file], sink_queue_size=2)
    assert file.indices == list(range(n))
    # the newest output always reaches the view; the oldest may be dropped before its writer thread first runs
    assert view.indices[-1] == n - 1 and view.indices == sorted(view.indices)
    assert stats.sink_dropped >= 1 and len(view.indices) + stats.sink_dropped == n
    assert stats.frames == n and view.closed and file.closed


def test_a_sink_error_on_its_thread_aborts_every_sink_and_is_raised(tmp_path):
    class Broken(Collect):
        def write(self, out):
            super().write(out)
            if len(self.indices) == 3:
                raise OSError("disk full")

    out = tmp_path / "out.mp4"
    broken, video = Broken(), VideoFileSink(out, 10)
    with pytest.raises(OSError, match="disk full"):
        run(40, OrderEngine(40), [broken, video])
    assert broken.aborted and not broken.closed
    assert list(tmp_path.iterdir()) == []  # the video was aborted: no partial file


def test_an_engine_error_aborts_the_sinks():
    class Boom(OrderEngine):
        def _infer_impl(self, batch, extra):
            if batch[0, 0, 0, 0] == 2:
                raise RuntimeError("engine failure")
            return super()._infer_impl(batch, extra)

    sink = Collect()
    with pytest.raises(RuntimeError, match="engine failure"):
        run(6, Boom(6), [sink])
    # frames queued for the sink's writer when the error comes may be dropped by the abort (timing), but
    # nothing at or past the failed frame is ever written and the sink is aborted, not closed
    assert sink.aborted and not sink.closed and sink.indices in ([0], [0, 1])


def test_max_frames_submits_no_frame_past_it():
    engine = OrderEngine(7)  # computing frame 6 waits for no frame 7: none may be submitted
    stats = run(20, engine, [Collect()], max_frames=7)
    assert stats.frames == 7 and stats.stopped_by == "max frames"
    assert [i for what, i in engine.log if what == "submit"] == list(range(7))


def test_every_stage_is_timed_once_per_frame():
    stats = run(6, OrderEngine(6), [Collect()])
    stages = stats.summary()["stages_ms"]
    assert set(stages) == set(STAGES) - {"pace"}  # a source that is not paced has no pacing stage
    assert all(s["samples"] == 6 and s["p99"] >= s["p50"] >= 0 for s in stages.values()), stages


def test_closing_a_queue_with_discard_empties_it_and_wakes_a_reader():
    q = FrameQueue(3, drop_oldest=False)
    q.put(1)
    q.put(2)
    got = []
    reader = threading.Thread(target=lambda: got.extend([q.get(5), q.get(5), q.get(5)]))
    q.close(discard=True)
    t = time.perf_counter()
    reader.start()
    reader.join(WAIT_S)
    assert got == [None, None, None] and time.perf_counter() - t < 1.0 and len(q) == 0
