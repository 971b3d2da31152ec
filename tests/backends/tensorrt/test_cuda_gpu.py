"""Real CUDA (cuda-python): frames through pinned and device buffers, bit-exact. Skipped without a GPU."""

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    if importlib.util.find_spec("cuda") is None or importlib.util.find_spec("cuda.bindings") is None:
        pytest.skip("cuda-python is not installed (pip install 'edgecolor[trt]')")
    from cuda.bindings import runtime as cudart

    err, count = cudart.cudaGetDeviceCount()
    if err != cudart.cudaError_t.cudaSuccess or count == 0:
        pytest.skip("no CUDA GPU")
    from edgecolor.backends.tensorrt.cuda_buffers import CudaRuntime

    return CudaRuntime(cudart)


@pytest.mark.parametrize("mapped", [False, True])
@pytest.mark.parametrize("graphs", [False, True])
def test_frames_round_trip_bit_exact(cuda, mapped, graphs):
    """H2D -> device-to-device 'kernel' (a copy into the output buffer) -> D2H, over two slots."""
    from edgecolor.backends.tensorrt.cuda_buffers import CudaBuffers

    rt = cuda.rt
    pool = CudaBuffers(cuda, slots=2, mapped=mapped, graphs=graphs)
    rng = np.random.default_rng(0)
    shape = (1, 720, 1280, 3)
    u8 = np.dtype(np.uint8)
    for i in range(6):
        frame = rng.integers(0, 256, shape, dtype=np.uint8)
        slot = i % 2
        bufs = pool.buffers(slot, shape, {"in": (shape, u8), "out": (shape, u8)})
        src, dst, n = bufs["in"].device_ptr, bufs["out"].device_ptr, bufs["in"].nbytes

        def kernel(stream, src=src, dst=dst, n=n):
            kind = rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice
            (err,) = rt.cudaMemcpyAsync(dst, src, n, kind, stream)
            assert err == rt.cudaError_t.cudaSuccess

        out = pool.run(slot, shape, {"in": frame}, ["out"], kernel).wait()["out"]
        np.testing.assert_array_equal(out, frame)
    pool.close()
