"""A small fake of the ``cuda.bindings.runtime`` calls edgecolor uses. Tests only: this is NOT CUDA.

Same calling convention as cuda-python: every function returns a tuple whose first item is a
``cudaError_t``. Memory is real host memory (numpy buffers), so copies move real bytes; "device" memory
is tracked separately so a copy in the wrong direction is caught. Work is *asynchronous*: copies and
kernels queue on their stream and run only at ``cudaStreamSynchronize`` (so code that reads results
without synchronising gets stale bytes), and a stream in capture mode records into a graph instead.
"""

from __future__ import annotations

import ctypes
import enum
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class cudaError_t(enum.IntEnum):  # noqa: N801 - cuda-python's names
    cudaSuccess = 0
    cudaErrorMemoryAllocation = 2
    cudaErrorInvalidValue = 1
    cudaErrorStreamCaptureInvalidated = 901


class cudaMemcpyKind(enum.IntEnum):  # noqa: N801
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2


class cudaStreamCaptureMode(enum.IntEnum):  # noqa: N801
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1


cudaHostAllocDefault = 0  # noqa: N816
cudaHostAllocMapped = 2  # noqa: N816
cudaStreamNonBlocking = 1  # noqa: N816
OK = cudaError_t.cudaSuccess


@dataclass
class Props:
    name: bytes = b"Fake GPU"
    integrated: int = 0
    canMapHostMemory: int = 1  # noqa: N815


class Handle(int):
    """Streams, graphs and graph executables are int-like handles, as in cuda-python."""


@dataclass
class FakeCudart:
    """One fake runtime; tests read the counters and set the failure knobs."""

    props: Props = field(default_factory=Props)
    fail_malloc: bool = False
    fail_capture: bool = False
    host: dict[int, np.ndarray] = field(default_factory=dict)
    device: dict[int, np.ndarray] = field(default_factory=dict)
    queues: dict[int, list[Callable[[], None]]] = field(default_factory=dict)
    capturing: dict[int, list[Callable[[], None]]] = field(default_factory=dict)
    graphs: dict[int, list[Callable[[], None]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _next: int = 1

    def __getattribute__(self, name: str):  # record every CUDA call by name
        value = object.__getattribute__(self, name)
        if name.startswith("cuda") and isinstance(value, types.MethodType):
            object.__getattribute__(self, "calls").append(name)
        return value

    # enum and constant attributes as module-level names in cuda.bindings.runtime
    cudaError_t = cudaError_t
    cudaMemcpyKind = cudaMemcpyKind
    cudaStreamCaptureMode = cudaStreamCaptureMode
    cudaHostAllocDefault = cudaHostAllocDefault
    cudaHostAllocMapped = cudaHostAllocMapped
    cudaStreamNonBlocking = cudaStreamNonBlocking

    def _alloc(self, table: dict[int, np.ndarray], nbytes: int) -> int:
        buf = np.zeros(nbytes, np.uint8)
        table[buf.ctypes.data] = buf
        return buf.ctypes.data

    def _handle(self) -> Handle:
        self._next += 1
        return Handle(self._next)

    def enqueue(self, stream: int, op: Callable[[], None]) -> None:
        """Queue work on a stream (what a kernel launch does); used by the fake TensorRT's execute hook."""
        target = self.capturing.get(int(stream))
        (target if target is not None else self.queues.setdefault(int(stream), [])).append(op)

    def cudaGetErrorName(self, err):  # noqa: N802
        return OK, cudaError_t(err).name.encode()

    def cudaGetDeviceProperties(self, device):  # noqa: N802
        return OK, self.props

    def cudaHostAlloc(self, nbytes, flags):  # noqa: N802
        return OK, self._alloc(self.host, nbytes)

    def cudaHostGetDevicePointer(self, ptr, flags):  # noqa: N802
        if ptr not in self.host or not self.props.canMapHostMemory:
            return (cudaError_t.cudaErrorInvalidValue, 0)
        return OK, ptr  # unified addressing: the mapped device pointer equals the host pointer

    def cudaMalloc(self, nbytes):  # noqa: N802
        if self.fail_malloc:
            return cudaError_t.cudaErrorMemoryAllocation, 0
        return OK, self._alloc(self.device, nbytes)

    def cudaFreeHost(self, ptr):  # noqa: N802
        return (OK,) if self.host.pop(ptr, None) is not None else (cudaError_t.cudaErrorInvalidValue,)

    def cudaFree(self, ptr):  # noqa: N802
        return (OK,) if self.device.pop(ptr, None) is not None else (cudaError_t.cudaErrorInvalidValue,)

    def cudaStreamCreateWithFlags(self, flags):  # noqa: N802
        stream = self._handle()
        self.queues[int(stream)] = []
        return OK, stream

    def cudaStreamDestroy(self, stream):  # noqa: N802
        self.queues.pop(int(stream))
        return (OK,)

    def cudaStreamSynchronize(self, stream):  # noqa: N802
        ops, self.queues[int(stream)] = self.queues[int(stream)], []
        for op in ops:
            op()
        return (OK,)

    def cudaMemcpyAsync(self, dst, src, count, kind, stream):  # noqa: N802
        to_device = kind == cudaMemcpyKind.cudaMemcpyHostToDevice
        dst_ok = dst in (self.device if to_device else self.host)
        src_ok = src in (self.host if to_device else self.device)
        if not (dst_ok and src_ok):
            return (cudaError_t.cudaErrorInvalidValue,)
        self.enqueue(stream, lambda: ctypes.memmove(dst, src, count))
        return (OK,)

    def cudaStreamBeginCapture(self, stream, mode):  # noqa: N802
        self.capturing[int(stream)] = []
        return (OK,)

    def cudaStreamEndCapture(self, stream):  # noqa: N802
        ops = self.capturing.pop(int(stream))
        if self.fail_capture:
            return cudaError_t.cudaErrorStreamCaptureInvalidated, None
        graph = self._handle()
        self.graphs[int(graph)] = ops
        return OK, graph

    def cudaGraphInstantiate(self, graph, flags):  # noqa: N802
        return OK, Handle(int(graph) + 100000)

    def cudaGraphLaunch(self, graph_exec, stream):  # noqa: N802
        for op in self.graphs[int(graph_exec) - 100000]:
            self.enqueue(stream, op)
        return (OK,)

    def cudaGraphDestroy(self, graph):  # noqa: N802
        return (OK,)

    def cudaGraphExecDestroy(self, graph_exec):  # noqa: N802
        return (OK,)


def read(ptr: int, shape: tuple[int, ...], dtype: type = np.uint8) -> np.ndarray:
    """A copy of the bytes at ``ptr`` as an array (what a kernel reads)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return np.frombuffer(ctypes.string_at(ptr, n), dtype).reshape(shape).copy()


def write(ptr: int, value: np.ndarray) -> None:
    """Write ``value``'s bytes at ``ptr`` (what a kernel writes)."""
    data = np.ascontiguousarray(value).tobytes()
    ctypes.memmove(ptr, data, len(data))
