"""CUDA buffer logic on a fake cudart (tests/fakes/cudart_fake.py): allocation once per shape, async copies
that need a sync, two slots, CUDA graph capture with fallback, mapped zero-copy memory, checked errors."""

import logging

import numpy as np
import pytest

from edgecolor.backends.tensorrt.cuda_buffers import CudaBuffers, CudaError, CudaRuntime

from fakes.cudart_fake import FakeCudart, Props, read, write

U8 = np.dtype(np.uint8)


def invert_kernel(rt, bufs):
    """An 'engine' on the fake GPU: out = 255 - in, read at run time from the device addresses."""
    src, dst, shape = bufs["in"].device_ptr, bufs["out"].device_ptr, bufs["in"].host.shape
    return lambda stream: rt.enqueue(stream, lambda: write(dst, 255 - read(src, shape)))


def make(rt, **kw):
    return CudaBuffers(CudaRuntime(rt), **kw)


def run_once(pool, rt, slot, frame):
    key = frame.shape
    bufs = pool.buffers(slot, key, {"in": (key, U8), "out": (key, U8)})
    return pool.run(slot, key, {"in": frame}, ["out"], invert_kernel(rt, bufs))


def frames(n, shape=(4, 6, 3)):
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def test_round_trip_is_bit_exact_and_needs_the_sync():
    rt = FakeCudart()
    pool = make(rt, graphs=False)
    frame = frames(1)[0]
    pending = run_once(pool, rt, 0, frame)
    out_host = pool.slots[0].buffers[frame.shape]["out"].host
    assert not np.array_equal(out_host, 255 - frame)  # nothing ran yet: the work is queued on the stream
    np.testing.assert_array_equal(pending.wait()["out"], 255 - frame)
    assert rt.calls.count("cudaMemcpyAsync") == 2


def test_buffers_are_allocated_once_per_shape():
    rt = FakeCudart()
    pool = make(rt, slots=1, graphs=False)
    for frame in frames(3):
        run_once(pool, rt, 0, frame).wait()
    assert pool.allocations == 2 and rt.calls.count("cudaMalloc") == 2
    run_once(pool, rt, 0, frames(1, (2, 2, 3))[0]).wait()
    assert pool.allocations == 4


def test_two_slots_keep_two_runs_in_flight():
    rt = FakeCudart()
    pool = make(rt, slots=2, graphs=False)
    a, b, c = frames(3)
    pa, pb = run_once(pool, rt, 0, a), run_once(pool, rt, 1, b)
    assert pool.slots[0].stream != pool.slots[1].stream
    np.testing.assert_array_equal(pb.wait()["out"], 255 - b)
    pc = run_once(pool, rt, 0, c)  # slot 0 reused before its result was read: the result is kept
    np.testing.assert_array_equal(pa.wait()["out"], 255 - a)
    np.testing.assert_array_equal(pc.wait()["out"], 255 - c)


def test_cuda_graph_is_captured_after_warm_up_and_replayed_with_new_data():
    rt = FakeCudart()
    pool = make(rt, slots=1, graphs=True)
    outs = []
    for frame in frames(4):
        outs.append(run_once(pool, rt, 0, frame).wait()["out"])
    for frame, out in zip(frames(4), outs, strict=True):
        np.testing.assert_array_equal(out, 255 - frame)
    assert pool.graph_count() == 1
    assert rt.calls.count("cudaStreamBeginCapture") == 1
    assert rt.calls.count("cudaGraphLaunch") == 3  # runs 2 (captured, then launched), 3 and 4
    assert rt.calls.count("cudaMemcpyAsync") == 4  # 2 for the warm-up + 2 recorded in the graph


def test_capture_failure_falls_back_to_plain_launches(caplog):
    rt = FakeCudart(fail_capture=True)
    pool = make(rt, slots=1, graphs=True)
    with caplog.at_level(logging.WARNING):
        outs = [run_once(pool, rt, 0, f).wait()["out"] for f in frames(4)]
    for frame, out in zip(frames(4), outs, strict=True):
        np.testing.assert_array_equal(out, 255 - frame)
    assert pool.graph_count() == 0 and rt.calls.count("cudaStreamBeginCapture") == 1
    assert "capture failed" in caplog.text


def test_mapped_memory_on_integrated_gpu_needs_no_copies():
    rt = FakeCudart(props=Props(name=b"Orin", integrated=1, canMapHostMemory=1))
    pool = make(rt, graphs=False)  # mapped=None: detected from the device properties
    assert pool.mapped
    frame = frames(1)[0]
    out = run_once(pool, rt, 0, frame).wait()["out"]
    np.testing.assert_array_equal(out, 255 - frame)
    assert "cudaMemcpyAsync" not in rt.calls and "cudaMalloc" not in rt.calls
    buf = pool.slots[0].buffers[frame.shape]["in"]
    assert buf.device_ptr == buf.host_ptr


def test_discrete_gpu_uses_pinned_plus_device_memory():
    pool = make(FakeCudart(props=Props(integrated=0)))
    assert not pool.mapped


def test_failed_call_raises_with_the_cuda_error_name():
    rt = FakeCudart(fail_malloc=True)
    pool = make(rt, graphs=False)
    with pytest.raises(CudaError, match="cudaMalloc failed: cudaErrorMemoryAllocation"):
        pool.buffers(0, (1,), {"x": ((1,), U8)})


def test_close_frees_everything():
    rt = FakeCudart()
    pool = make(rt)
    for frame in frames(3):
        run_once(pool, rt, 0, frame).wait()
    pool.close()
    assert not rt.host and not rt.device and not rt.queues
