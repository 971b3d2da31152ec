"""Queue policy (drop-oldest vs blocking), pipeline order/latency/metadata, style switches, shutdown."""

import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from edgecolor.backends.base import Engine
from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.pipeline import FrameQueue, Pipeline, PipelineConfig, signals_stop
from edgecolor.stream.sinks import NullSink, Sink, VideoFileSink
from edgecolor.stream.sources import Frame, Source, open_source


@pytest.mark.parametrize(
    "size, puts, expect, dropped",
    [(3, [1, 2], [1, 2], 0), (3, [1, 2, 3, 4, 5], [3, 4, 5], 2), (1, [1, 2, 3], [3], 2), (2, [], [], 0)],
)
def test_drop_oldest_keeps_the_newest(size, puts, expect, dropped):
    q = FrameQueue(size, drop_oldest=True)
    for item in puts:
        assert q.put(item)
    got = []
    while (item := q.get(timeout=0)) is not None:
        got.append(item)
    assert got == expect and q.dropped == dropped


def test_blocking_queue_waits_for_space_and_loses_nothing():
    q = FrameQueue(2, drop_oldest=False)
    done = threading.Event()

    def producer():
        for i in range(6):
            q.put(i)
        done.set()

    threading.Thread(target=producer, daemon=True).start()
    time.sleep(0.1)
    assert not done.is_set() and len(q) == 2  # the producer is blocked on the full queue
    got = [q.get(timeout=1) for _ in range(6)]
    assert got == list(range(6)) and q.dropped == 0 and done.wait(1)


def test_close_wakes_a_blocked_producer_and_the_sentinel_never_drops():
    q = FrameQueue(1, drop_oldest=False)
    q.put("a")
    result = []
    t = threading.Thread(target=lambda: result.append(q.put("b")), daemon=True)
    t.start()
    time.sleep(0.05)
    q.close()
    t.join(1)
    assert result == [False] and not t.is_alive()
    q2 = FrameQueue(1, drop_oldest=True)
    q2.put("frame")
    q2.put("end", force=True)
    assert [q2.get(0), q2.get(0)] == ["frame", "end"] and q2.dropped == 0


class ListSource(Source):
    """``n`` numbered frames; live ones arrive every ``period`` s whether or not anyone is reading."""

    def __init__(self, n, live=False, period=0.0, shape=(16, 16, 3)):
        super().__init__("list")
        self.n, self.live, self.period, self.shape = n, live, period, shape

    def frames(self):
        for i in range(self.n):
            if self.period:
                time.sleep(self.period)
            yield Frame(i, time.perf_counter(), np.full(self.shape, i % 256, np.uint8))


class SlowEngine(Engine):
    backend = "slow"

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    def _infer_impl(self, batch, extra):
        time.sleep(self.delay)
        return batch


class Collect(Sink):
    name = "collect"

    def __init__(self):
        self.outs, self.closed, self.aborted = [], False, False

    def write(self, out):
        self.outs.append(out)

    def close(self):
        self.closed = True

    def abort(self):
        self.aborted = True


def run(source, engines=None, styles=None, **kw):
    engines = engines or {"e": SlowEngine(0)}
    controls = Controls(styles or [Style("e", "e")])
    sink = Collect()
    stats = Pipeline(source, engines, controls, [sink], config=PipelineConfig(**kw)).run()
    return stats, sink, controls


def test_file_source_blocks_so_every_frame_arrives_in_order():
    stats, sink, _ = run(ListSource(30), {"e": SlowEngine(0.002)}, queue_size=2)
    assert [o.frame.index for o in sink.outs] == list(range(30))
    assert stats.frames == 30 and stats.dropped == 0 and sink.closed
    assert all(o.latency_s > 0 for o in sink.outs) and len(stats.latencies_ms) == 30


def test_live_source_drops_oldest_when_the_engine_is_slower():
    stats, sink, _ = run(ListSource(40, live=True, period=0.002), {"e": SlowEngine(0.02)}, queue_size=2)
    idx = [o.frame.index for o in sink.outs]
    assert stats.dropped > 0 and stats.frames + stats.dropped == 40
    assert idx == sorted(idx) and idx[-1] == 39  # order kept and the newest frame is shown
    # bounded by the queue (a few engine calls), not the input length (unbounded: ~0.7 s); slack for a loaded CPU
    assert max(o.latency_s for o in sink.outs) < 0.02 * 12


class LockstepSource(Source):
    """Yields frame k+1 only after the sink has written frame k (so a control applied in the sink's write is
    in place before the next frame is submitted: the test does not depend on thread timing)."""

    def __init__(self, n, shape=(16, 16, 3)):
        super().__init__("lockstep")
        self.n, self.shape, self.written = n, shape, threading.Semaphore(0)

    def frames(self):
        for i in range(self.n):
            if i:
                assert self.written.acquire(timeout=5), "the sink never wrote the previous frame"
            yield Frame(i, time.perf_counter(), np.full(self.shape, 40 + 20 * i, np.uint8))


def test_style_switch_takes_effect_on_the_next_frame_submitted(tiny_model, tiny_model_b):
    engines = {"a": OrtEngine(tiny_model, threads=1), "b": OrtEngine(tiny_model_b, threads=1)}
    controls = Controls([Style("a", "a"), Style("b", "b"), Style("gray", "a", {"colour_strength": 0.0})])
    source = LockstepSource(4)

    class SwitchAfterFirst(Collect):
        def write(self, out):
            super().write(out)
            if len(self.outs) in (1, 2):
                controls.apply("next")
            source.written.release()

    sink = SwitchAfterFirst()
    Pipeline(source, engines, controls, [sink]).run()
    img = sink.outs[0].frame.image
    assert [o.style for o in sink.outs] == ["a", "b", "gray", "gray"]
    np.testing.assert_array_equal(sink.outs[1].image, engines["b"](sink.outs[1].frame.image))
    gray = sink.outs[2].image
    assert np.abs(gray.astype(int) - gray[..., :1]).max() <= 1  # strength 0: no chroma
    assert not np.array_equal(engines["a"](img), engines["b"](img))


def test_quit_control_stops_and_closes_sinks():
    controls_holder = {}

    class QuitAt3(Collect):
        def write(self, out):
            super().write(out)
            if len(self.outs) == 3:
                controls_holder["c"].apply("quit")

    controls = Controls([Style("e", "e")])
    controls_holder["c"] = controls
    sink = QuitAt3()
    stats = Pipeline(ListSource(100, live=True, period=0.001), {"e": SlowEngine(0)}, controls, [sink]).run()
    assert stats.stopped_by == "quit control" and 3 <= stats.frames < 100 and sink.closed


def test_sigterm_stops_cleanly_and_the_video_file_is_playable(tmp_path, make_clip):
    clip = make_clip(tmp_path / "in.mp4", 200)
    src = open_source(str(clip), realtime=True)  # 10 fps: 20 s if nothing stopped it
    out = tmp_path / "out.mp4"
    controls = Controls([Style("e", "e")])
    pipeline = Pipeline(src, {"e": SlowEngine(0)}, controls, [VideoFileSink(out, src.fps)])
    timer = threading.Timer(0.6, os.kill, (os.getpid(), signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    timer.start()
    with signals_stop(pipeline):
        stats = pipeline.run()
    timer.join()
    assert signal.getsignal(signal.SIGTERM) is before
    assert stats.stopped_by == "SIGTERM" and 2 <= stats.frames < 200
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == stats.frames and cap.read()[0]


def test_an_error_aborts_file_sinks_so_no_partial_file_is_left(tmp_path):
    class Boom(Engine):
        backend = "boom"
        calls = 0

        def _infer_impl(self, batch, extra):
            Boom.calls += 1
            if Boom.calls == 3:
                raise RuntimeError("engine failure")
            return batch

    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, 10)
    with pytest.raises(RuntimeError, match="engine failure"):
        Pipeline(ListSource(10), {"e": Boom()}, Controls([Style("e", "e")]), [sink]).run()
    assert list(tmp_path.iterdir()) == []


def test_max_frames_and_null_sink():
    controls = Controls([Style("e", "e")])
    stats = Pipeline(
        ListSource(50), {"e": SlowEngine(0)}, controls, [NullSink()], config=PipelineConfig(max_frames=7)
    ).run()
    summary = stats.summary()
    assert stats.frames == 7 and summary["stopped_by"] == "max frames"
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99", "max"}


def test_pacing_a_file_is_its_own_stage_not_decode(tmp_path, make_clip):
    source = open_source(str(make_clip(tmp_path / "c.mp4", 8, fps=20.0)), realtime=True)
    stats, sink, _ = run(source)
    pace, decode = list(stats.stages_ms["pace"]), list(stats.stages_ms["decode"])
    assert len(pace) == len(decode) == 8 and stats.frames + stats.dropped == 8
    assert sum(pace) == pytest.approx(source.paced_s * 1000) and source.paced_s > 0.2  # 7 frames due 50 ms apart
    assert sum(decode) < sum(pace) / 4  # decoding 8 tiny frames takes milliseconds, the pacing 350 ms


def test_a_file_read_as_fast_as_possible_has_no_pacing_stage_and_reports_latency_from_submit():
    stats, _, _ = run(ListSource(10), {"e": SlowEngine(0.002)})
    assert "pace" not in stats.summary()["stages_ms"] and len(stats.from_submit_ms) == 10
    queue = list(stats.stages_ms["queue"])
    # each frame: capture-to-output = its queue wait + submit-to-output
    for total, waited, rest in zip(stats.latencies_ms, queue, stats.from_submit_ms, strict=True):
        assert rest >= 0 and total == pytest.approx(waited + rest, abs=0.01)
