"""Throughput mode (``open_engine(..., streams=N)``): N sessions compute N frames at once, dealt out in turn.
Overlap is proved by call order (a barrier both sessions must reach), not by wall time."""

import threading
import time

import numpy as np
import pytest

from edgecolor.backends import open_engine
from edgecolor.backends.base import Engine
from edgecolor.backends.streams import StreamsEngine
from edgecolor.errors import InputError
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.pipeline import Pipeline
from edgecolor.stream.sinks import Sink
from edgecolor.stream.sources import Frame, Source

from helpers import tiny_colorizer

WAIT_S = 3.0


class Meeting(Engine):
    """Computing a frame waits at ``barrier`` until every session is computing one: a barrier of N parties only
    opens when N frames are in compute at once (it breaks after WAIT_S otherwise)."""

    backend = "meeting"

    def __init__(self, name, barrier, log, wait_s=WAIT_S):
        super().__init__()
        self.name, self.barrier, self.log, self.wait_s = name, barrier, log, wait_s
        self.closed = False

    def _infer_impl(self, batch, extra):
        self.log.append((self.name, int(batch[0, 0, 0, 0])))
        self.barrier.wait(self.wait_s)
        return batch + 1

    def _close_impl(self):
        self.closed = True


def streams_of(n):
    barrier, log = threading.Barrier(n), []
    return StreamsEngine([Meeting(f"s{i}", barrier, log) for i in range(n)]), barrier, log


def frame(k):
    return np.full((4, 6, 3), k, np.uint8)


def test_two_streams_compute_two_frames_at_once_dealt_in_turn():
    engine, barrier, log = streams_of(2)
    pending = [engine.submit(frame(k)) for k in range(4)]
    outs = [int(p()[0, 0, 0]) for p in pending]  # a single session would break the barrier: BrokenBarrierError
    assert outs == [1, 2, 3, 4] and not barrier.broken  # collected in submission order
    assert sorted(log) == [("s0", 0), ("s0", 2), ("s1", 1), ("s1", 3)]  # frames dealt out in turn
    assert engine.streams == 2 and engine.backend == "meeting"
    engine.close()
    assert all(e.closed for e in engine.engines)
    with pytest.raises(RuntimeError, match="after close"):
        engine.infer(frame(0))


def test_one_session_cannot_meet_itself():
    """The barrier test can fail: two frames submitted to one session compute one after the other."""
    barrier, log = threading.Barrier(2), []
    single = Meeting("only", barrier, log, wait_s=0.5)
    first = single.submit(frame(0))
    with pytest.raises(threading.BrokenBarrierError):
        first()
    single.close()


def test_the_pipeline_keeps_every_stream_busy():
    """With three streams, three frames must be in compute at once, or the barrier breaks (the pipeline keeps
    streams + 1 frames in flight)."""
    engine, barrier, log = streams_of(3)

    class Twelve(Source):
        def __init__(self):
            super().__init__("twelve")

        def frames(self):
            for k in range(12):
                yield Frame(k, time.perf_counter(), frame(k))

    seen = []

    class Keep(Sink):
        threaded = False

        def write(self, out):
            seen.append(int(out.image[0, 0, 0]))

    stats = Pipeline(Twelve(), {"e": engine}, Controls([Style("e", "e")]), [Keep()]).run()
    assert stats.frames == 12 and seen == list(range(1, 13)) and not barrier.broken
    engine.close()


def test_open_engine_splits_the_threads_and_refuses_bad_counts(tmp_path):
    model = tiny_colorizer(tmp_path / "tiny.onnx", net_size=32)
    with open_engine(model, threads=4, streams=2) as engine:
        assert isinstance(engine, StreamsEngine) and engine.streams == 2
        assert [e.session.get_session_options().intra_op_num_threads for e in engine.engines] == [2, 2]
        f = np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8)
        with open_engine(model, threads=1) as one:
            np.testing.assert_array_equal(engine.infer(f), one.infer(f))  # the same model in every session
    with open_engine(model, threads=1, streams=3) as engine:  # fewer threads than streams: one each
        assert [e.session.get_session_options().intra_op_num_threads for e in engine.engines] == [1, 1, 1]
    for bad in (0, 65, True, 1.5):
        with pytest.raises(InputError, match="streams must be a whole number from 1 to 64"):
            open_engine(model, streams=bad)
    assert not isinstance(open_engine(model, streams=1), StreamsEngine)


def test_a_tensorrt_engine_is_refused_and_nothing_stays_open(monkeypatch):
    import edgecolor.backends as backends

    opened = []

    class FakeTrt(Engine):
        backend = "tensorrt"

        def _close_impl(self):
            opened.remove(self)

    def fake_open(*args):
        opened.append(FakeTrt())
        return opened[-1]

    monkeypatch.setattr(backends, "_open_one", fake_open)
    with pytest.raises(InputError, match="TensorRT engine"):
        open_engine("x.engine", streams=2)
    assert opened == []  # closed before the error
