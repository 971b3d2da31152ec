"""Engine.submit: the default worker thread (ONNX Runtime, OpenVINO styles) and the two-stage engine (CPU split
path)."""

import threading

import numpy as np
import pytest

from edgecolor.backends.base import Engine, TwoStageEngine
from edgecolor.errors import ModelError


class Gated(Engine):
    """Computing waits for ``go``; records the thread it ran on."""

    backend = "gated"

    def __init__(self, shape_change=False):
        super().__init__()
        self.go, self.threads, self.shape_change = threading.Event(), [], shape_change

    def _infer_impl(self, batch, extra):
        assert self.go.wait(3)
        self.threads.append(threading.current_thread().name)
        return batch[:, :-1] if self.shape_change else batch + 1


def test_submit_returns_before_the_run_and_the_result_comes_from_the_worker():
    engine = Gated()
    frame = np.zeros((4, 6, 3), np.uint8)
    first, second = engine.submit(frame), engine.submit(frame + 10)  # both queued while the worker waits
    assert not first.done() and engine.threads == []
    engine.go.set()
    np.testing.assert_array_equal(second(), frame + 11)
    np.testing.assert_array_equal(first(), frame + 1)
    assert first.done() and first.compute_ms is not None and first.compute_ms >= 0
    assert len(engine.threads) == 2 and all(t.startswith("edgecolor-gated") for t in engine.threads)
    assert threading.current_thread().name not in engine.threads
    engine.close()


def test_close_waits_for_a_submitted_run_and_a_bad_output_is_the_models_fault():
    engine = Gated(shape_change=True)
    pending = engine.submit(np.zeros((4, 6, 3), np.uint8))
    threading.Timer(0.05, engine.go.set).start()
    engine.close()  # returns only once the worker is done
    assert pending.done()
    with pytest.raises(ModelError, match=r"^the model returned uint8 \[1, 3, 6, 3\] for a uint8 \[1, 4, 6, 3\] frame, "
                                         r"must return uint8 \[1, 4, 6, 3\]"):
        pending()
    with pytest.raises(RuntimeError, match="after close"):
        engine.submit(np.zeros((4, 6, 3), np.uint8))


def test_a_synchronous_call_waits_for_a_submitted_run_of_the_same_engine():
    class Exclusive(Engine):
        backend = "exclusive"

        def __init__(self):
            super().__init__()
            self.running, self.overlapped, self.go = 0, False, threading.Event()

        def _infer_impl(self, batch, extra):
            self.running += 1
            self.overlapped |= self.running > 1
            self.go.wait(0.2)
            self.running -= 1
            return batch

    engine = Exclusive()
    frame = np.zeros((4, 6, 3), np.uint8)
    pending = engine.submit(frame)
    engine(frame)  # from this thread while the worker may be running: the two runs must not overlap
    pending()
    assert not engine.overlapped
    engine.close()


class Staged(TwoStageEngine):
    """Records stage starts and ends; frame 0's finish waits until frame 1's prepare has started."""

    backend = "staged"

    def __init__(self, fail_prepare=False):
        super().__init__()
        self.events, self.fail_prepare = [], fail_prepare
        self.second_prepared = threading.Event()

    def _prepare_impl(self, batch, extra):
        k = int(batch[0, 0, 0, 0])
        self.events.append(("prepare", k, threading.current_thread().name))
        if k == 1:
            self.second_prepared.set()
        if self.fail_prepare:
            raise ValueError(f"prepare {k} failed")
        return k

    def _finish_impl(self, state, batch, extra):
        if state == 0:
            assert self.second_prepared.wait(3), "frame 1's network did not start while frame 0 was finishing"
        self.events.append(("finish", state, threading.current_thread().name))
        return batch + 1


def test_a_two_stage_engine_runs_the_next_frames_first_stage_while_this_one_finishes():
    engine = Staged()
    frames = [np.full((4, 6, 3), k, np.uint8) for k in range(3)]
    pending = [engine.submit(f) for f in frames]
    outs = [p() for p in pending]  # collected in submission order
    for k, out in enumerate(outs):
        np.testing.assert_array_equal(out, frames[k] + 1)
    order = [(stage, k) for stage, k, _ in engine.events]
    assert order.index(("prepare", 1)) < order.index(("finish", 0))  # overlap shown by call order
    assert [k for stage, k in order if stage == "finish"] == [0, 1, 2]
    threads = {stage: {t for s, _, t in engine.events if s == stage} for stage in ("prepare", "finish")}
    assert len(threads["prepare"]) == len(threads["finish"]) == 1 and threads["prepare"] != threads["finish"]
    assert all(p.compute_ms is not None and p.compute_ms >= 0 for p in pending)
    # infer() runs both stages on the caller's thread
    np.testing.assert_array_equal(engine(np.full((4, 6, 3), 7, np.uint8)), np.full((4, 6, 3), 8, np.uint8))
    assert engine.events[-1][2] == threading.current_thread().name
    engine.close()
    with pytest.raises(RuntimeError, match="after close"):
        engine.submit(frames[0])


def test_a_two_stage_engines_first_stage_error_is_that_frames_error():
    engine = Staged(fail_prepare=True)
    pending = engine.submit(np.full((4, 6, 3), 5, np.uint8))
    with pytest.raises(ValueError, match="prepare 5 failed"):
        pending()
    assert not any(stage == "finish" for stage, _, _ in engine.events)
    engine.close()
