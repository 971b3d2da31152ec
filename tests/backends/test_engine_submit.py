"""Engine.submit's default worker thread (ONNX Runtime, the CPU split path and OpenVINO inherit it)."""

import threading

import numpy as np
import pytest

from edgecolor.backends.base import Engine


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


def test_close_waits_for_a_submitted_run_and_a_bad_output_is_a_bug():
    engine = Gated(shape_change=True)
    pending = engine.submit(np.zeros((4, 6, 3), np.uint8))
    threading.Timer(0.05, engine.go.set).start()
    engine.close()  # returns only once the worker is done
    assert pending.done()
    with pytest.raises(RuntimeError, match=r"gated returned uint8\(1, 3, 6, 3\) for input \(1, 4, 6, 3\)"):
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
