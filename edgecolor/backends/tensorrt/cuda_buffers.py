"""CUDA data plane for the TensorRT runtime: pinned host buffers, device buffers, streams, CUDA graphs.

* :class:`CudaRuntime` is the small interface over the CUDA runtime calls edgecolor uses, on cuda-python
  (``cuda.bindings.runtime``, NVIDIA's own choice for its TensorRT samples). Every call is checked: the
  bindings return ``(err, value...)`` tuples instead of raising. pycuda could sit behind the same methods.
* :class:`CudaBuffers` owns, per slot, one CUDA stream and the buffers of each tensor shape it has seen:
  page-locked (pinned) host memory and device memory, allocated once per shape and reused for every frame,
  so the TensorRT tensor addresses stay constant. Two slots let frame k+1 be copied in while frame k
  computes. On an integrated GPU (Jetson), host memory is *mapped*: the GPU reads and writes it in place,
  with no copies at all.
* Optional CUDA graph per (slot, shape): the first run of a shape is a plain warm-up (TensorRT does its lazy
  setup there), the second is captured (H2D copies + enqueue + D2H copies) and replayed from then on. If
  capture fails (some TensorRT layers cannot be captured) the shape falls back to plain launches, logged once.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgecolor.errors import require

log = logging.getLogger(__name__)

ShapeKey = tuple[int, ...]
Enqueue = Callable[[int], None]  # enqueue(stream_handle) puts the inference on the stream


class CudaError(RuntimeError):
    """A CUDA runtime call failed (a driver/device problem or a bug, not a user error)."""


class CudaRuntime:
    """The CUDA runtime calls edgecolor uses, each checked; ``cudart`` may be injected (tests use a fake)."""

    def __init__(self, cudart: Any = None) -> None:
        self.rt = cudart if cudart is not None else require("cuda.bindings.runtime", "trt")

    def _call(self, fn: str, *args: Any) -> Any:
        result = getattr(self.rt, fn)(*args)
        err = result[0]
        if err != self.rt.cudaError_t.cudaSuccess:
            name = self.rt.cudaGetErrorName(err)[1]
            raise CudaError(f"{fn} failed: {name.decode() if isinstance(name, bytes) else name}")
        return result[1] if len(result) == 2 else None

    def device_properties(self, device: int = 0) -> tuple[str, bool]:
        """(name, integrated-and-can-map-host-memory) of ``device``."""
        prop = self._call("cudaGetDeviceProperties", device)
        name = (
            prop.name.decode(errors="replace").rstrip("\x00")
            if isinstance(prop.name, bytes)
            else str(prop.name)
        )
        return name, bool(prop.integrated) and bool(prop.canMapHostMemory)

    def host_alloc(self, nbytes: int, mapped: bool) -> int:
        flags = self.rt.cudaHostAllocMapped if mapped else self.rt.cudaHostAllocDefault
        return int(self._call("cudaHostAlloc", nbytes, flags))

    def host_device_pointer(self, host_ptr: int) -> int:
        return int(self._call("cudaHostGetDevicePointer", host_ptr, 0))

    def device_alloc(self, nbytes: int) -> int:
        return int(self._call("cudaMalloc", nbytes))

    def free_host(self, ptr: int) -> None:
        self._call("cudaFreeHost", ptr)

    def free(self, ptr: int) -> None:
        self._call("cudaFree", ptr)

    def stream_create(self) -> Any:
        return self._call("cudaStreamCreateWithFlags", self.rt.cudaStreamNonBlocking)

    def stream_sync(self, stream: Any) -> None:
        self._call("cudaStreamSynchronize", stream)

    def stream_destroy(self, stream: Any) -> None:
        self._call("cudaStreamDestroy", stream)

    def copy_async(self, dst: int, src: int, nbytes: int, to_device: bool, stream: Any) -> None:
        kinds = self.rt.cudaMemcpyKind
        kind = kinds.cudaMemcpyHostToDevice if to_device else kinds.cudaMemcpyDeviceToHost
        self._call("cudaMemcpyAsync", dst, src, nbytes, kind, stream)

    def begin_capture(self, stream: Any) -> None:
        # thread-local: CUDA calls other threads make meanwhile neither join nor invalidate the capture
        self._call(
            "cudaStreamBeginCapture", stream, self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        )

    def end_capture(self, stream: Any) -> Any:
        return self._call("cudaStreamEndCapture", stream)

    def graph_instantiate(self, graph: Any) -> Any:
        return self._call("cudaGraphInstantiate", graph, 0)

    def graph_launch(self, graph_exec: Any, stream: Any) -> None:
        self._call("cudaGraphLaunch", graph_exec, stream)

    def graph_destroy(self, graph: Any) -> None:
        self._call("cudaGraphDestroy", graph)

    def graph_exec_destroy(self, graph_exec: Any) -> None:
        self._call("cudaGraphExecDestroy", graph_exec)


def host_array(ptr: int, shape: ShapeKey, dtype: np.dtype) -> np.ndarray:
    """A numpy view (no copy) of ``nbytes`` of host memory at ``ptr``."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = (ctypes.c_uint8 * max(nbytes, 1)).from_address(ptr)
    return np.frombuffer(raw, np.uint8, count=nbytes).view(dtype).reshape(shape)  # type: ignore[call-overload]


@dataclass
class TensorBuffer:
    """One tensor's pinned host view and the device address TensorRT reads or writes."""

    host: np.ndarray
    host_ptr: int
    device_ptr: int
    nbytes: int


@dataclass
class _Slot:
    stream: Any
    buffers: dict[ShapeKey, dict[str, TensorBuffer]] = field(default_factory=dict)
    runs: dict[ShapeKey, int] = field(default_factory=dict)
    graphs: dict[ShapeKey, tuple[Any, Any] | None] = field(default_factory=dict)  # None: capture failed
    pending: StreamRun | None = None


class StreamRun:
    """The result of one submitted run; ``wait()`` synchronises its stream and copies the outputs out."""

    def __init__(self, cuda: CudaRuntime, stream: Any, outputs: dict[str, TensorBuffer]) -> None:
        self._cuda, self._stream, self._outputs = cuda, stream, outputs
        self._result: dict[str, np.ndarray] | None = None

    def wait(self) -> dict[str, np.ndarray]:
        if self._result is None:
            self._cuda.stream_sync(self._stream)
            self._result = {name: buf.host.copy() for name, buf in self._outputs.items()}
        return self._result


class CudaBuffers:
    """Streams, buffers and CUDA graphs for ``slots`` in-flight runs (see the module docstring)."""

    def __init__(
        self, cuda: CudaRuntime, slots: int = 2, mapped: bool | None = None, graphs: bool = True
    ) -> None:
        if slots < 1:
            raise ValueError(f"slots must be >= 1, got {slots}")
        self.cuda = cuda
        if mapped is None:
            name, mapped = cuda.device_properties()
            log.info("CUDA device %s: %s host memory", name, "mapped (zero-copy)" if mapped else "pinned")
        self.mapped = mapped
        self.use_graphs = graphs
        self.slots = [_Slot(cuda.stream_create()) for _ in range(slots)]
        self.allocations = 0  # counted so tests can prove "once per shape"

    def buffers(
        self, slot: int, key: ShapeKey, specs: dict[str, tuple[ShapeKey, np.dtype]]
    ) -> dict[str, TensorBuffer]:
        """Buffers for ``specs`` (name -> (shape, dtype)) in ``slot``, allocated on first use of ``key``."""
        found = self.slots[slot].buffers.get(key)
        if found is not None:
            return found
        bufs = {}
        for name, (shape, dtype) in specs.items():
            dtype = np.dtype(dtype)
            nbytes = max(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, 1)
            host_ptr = self.cuda.host_alloc(nbytes, self.mapped)
            dev_ptr = (
                self.cuda.host_device_pointer(host_ptr) if self.mapped else self.cuda.device_alloc(nbytes)
            )
            bufs[name] = TensorBuffer(host_array(host_ptr, tuple(shape), dtype), host_ptr, dev_ptr, nbytes)
            self.allocations += 1
        self.slots[slot].buffers[key] = bufs
        return bufs

    def run(
        self, slot: int, key: ShapeKey, inputs: dict[str, np.ndarray], outputs: list[str], enqueue: Enqueue
    ) -> StreamRun:
        """Copy ``inputs`` into the slot's pinned buffers, then H2D -> ``enqueue`` -> D2H on its stream."""
        s = self.slots[slot]
        if s.pending is not None:
            s.pending.wait()  # its pinned outputs are about to be overwritten: take the last result out
        bufs = s.buffers[key]
        for name, value in inputs.items():
            np.copyto(bufs[name].host, value, casting="same_kind")
        graph = s.graphs.get(key)
        if graph is not None:
            self.cuda.graph_launch(graph[1], s.stream)
        elif self.use_graphs and key not in s.graphs and s.runs.get(key, 0) >= 1:
            self._capture(s, key, bufs, inputs, outputs, enqueue)
        else:
            self._launch(s.stream, bufs, inputs, outputs, enqueue)
        s.runs[key] = s.runs.get(key, 0) + 1
        s.pending = StreamRun(self.cuda, s.stream, {n: bufs[n] for n in outputs})
        return s.pending

    def _launch(
        self,
        stream: Any,
        bufs: dict[str, TensorBuffer],
        inputs: dict[str, np.ndarray],
        outputs: list[str],
        enqueue: Enqueue,
    ) -> None:
        if not self.mapped:
            for name in inputs:
                self.cuda.copy_async(
                    bufs[name].device_ptr, bufs[name].host_ptr, bufs[name].nbytes, True, stream
                )
        enqueue(int(stream))
        if not self.mapped:
            for name in outputs:
                self.cuda.copy_async(
                    bufs[name].host_ptr, bufs[name].device_ptr, bufs[name].nbytes, False, stream
                )

    def _capture(
        self,
        s: _Slot,
        key: ShapeKey,
        bufs: dict[str, TensorBuffer],
        inputs: dict[str, np.ndarray],
        outputs: list[str],
        enqueue: Enqueue,
    ) -> None:
        graph = None
        try:
            self.cuda.begin_capture(s.stream)
            try:
                self._launch(s.stream, bufs, inputs, outputs, enqueue)
            finally:
                graph = self.cuda.end_capture(s.stream)  # always end, or the stream stays in capture mode
            s.graphs[key] = (graph, self.cuda.graph_instantiate(graph))
        except (CudaError, RuntimeError) as exc:
            log.warning("CUDA graph capture failed for shape %s (%s); using plain launches", key, exc)
            s.graphs[key] = None
            if graph is not None:
                self.cuda.graph_destroy(graph)
            self._launch(s.stream, bufs, inputs, outputs, enqueue)
            return
        self.cuda.graph_launch(s.graphs[key][1], s.stream)  # type: ignore[index]

    def graph_count(self) -> int:
        return sum(g is not None for s in self.slots for g in s.graphs.values())

    def close(self) -> None:
        for s in self.slots:
            self.cuda.stream_sync(s.stream)
            for graph in s.graphs.values():
                if graph is not None:
                    self.cuda.graph_exec_destroy(graph[1])
                    self.cuda.graph_destroy(graph[0])
            for bufs in s.buffers.values():
                for buf in bufs.values():
                    if not self.mapped:
                        self.cuda.free(buf.device_ptr)
                    self.cuda.free_host(buf.host_ptr)
            self.cuda.stream_destroy(s.stream)
        self.slots = []
