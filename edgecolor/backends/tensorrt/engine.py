"""Run a built TensorRT frame-model engine (TensorRT 10.3 / 10.13 / 11.x) on CUDA buffers.

The engine is refused before it is deserialized when its JSON sidecar (written by ``edgecolor build``,
checked by :func:`edgecolor.backends.manifest.check`) says it was built by another TensorRT version, for
another GPU, or changed since: TensorRT plans are not portable, and a mismatched plan fails later with a
far less helpful message. Its I/O is then checked against the frame-model contract.

Only calls present in all three supported API surfaces are used (``tests/fakes/trt-api``):
``Runtime(logger).deserialize_cuda_engine(plan)``, ``num_io_tensors`` / ``get_tensor_name`` /
``get_tensor_mode`` / ``get_tensor_dtype`` / ``get_tensor_profile_shape``, ``create_execution_context``,
``set_input_shape``, ``get_tensor_shape``, ``set_tensor_address`` and ``execute_async_v3``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.backends.manifest import EngineManifest, check
from edgecolor.backends.tensorrt.build import deserialize, missing_engine
from edgecolor.backends.tensorrt.cuda_buffers import CudaBuffers, CudaError, CudaRuntime
from edgecolor.errors import InputError, ModelError, require
from edgecolor.graph.contract import FRAME, FrameModelInfo, TensorSig, check_frame_model, extra_defaults

log = logging.getLogger(__name__)


def read_manifest(engine_path: Path) -> EngineManifest:
    """The engine's sidecar (``ENGINE.json``, written by ``edgecolor build``), checked for this machine:
    schema, file hash, TensorRT version and GPU (:func:`edgecolor.backends.manifest.check`)."""
    return check(engine_path, backend="tensorrt")


def _source_info(manifest: EngineManifest) -> FrameModelInfo:
    """What the engine's source frame model records (read from it where it is still there), with the task the
    manifest records."""
    source = Path(manifest.source_onnx or "")
    info = FrameModelInfo.read_file(source) if manifest.source_onnx and source.is_file() else FrameModelInfo()
    return info.replace(task=manifest.task) if manifest.task is not None else info


def _extra_defaults(manifest: EngineManifest, info: FrameModelInfo) -> dict[str, float]:
    """Defaults of the extra inputs: from the manifest, else from the source frame model's metadata."""
    extras: dict | str = manifest.extra_inputs if manifest.extra_inputs is not None else (info.extra_inputs or "{}")
    return extra_defaults(extras, "the engine's extra_inputs are", "rebuild it with edgecolor build", bare_values=True)


_NUMPY_NAMES = {"UINT8": "uint8", "FLOAT": "float32", "HALF": "float16", "INT8": "int8", "INT32": "int32",
                "INT64": "int64", "BOOL": "bool"}


class TrtEngine(Engine):
    """A TensorRT frame-model engine with ``slots`` in-flight runs on CUDA streams.

    ``cuda`` may be injected (tests use a fake CUDA runtime); ``mapped=None`` picks zero-copy mapped host
    memory on integrated GPUs; ``cuda_graphs`` captures one CUDA graph per input shape after a warm-up run.
    """

    backend = "tensorrt"

    def __init__(
        self,
        engine_path: str | Path,
        *,
        slots: int = 2,
        cuda_graphs: bool = True,
        mapped: bool | None = None,
        cuda: CudaRuntime | None = None,
        manifest: EngineManifest | None = None,
    ) -> None:
        """``manifest``: the engine's sidecar as :func:`edgecolor.backends.open_engine` already checked it
        (read and checked here when not given)."""
        super().__init__()
        trt = require("tensorrt", "trt")
        path = Path(engine_path)
        if not path.is_file():
            raise missing_engine(path)
        manifest = read_manifest(path) if manifest is None else manifest
        self.name = path.name
        self._runtime, self._engine = deserialize(path, manifest.rebuild_command)
        self._inputs, self._outputs = self._io(trt)
        self.info = _source_info(manifest)
        self.defaults = _extra_defaults(manifest, self.info)
        self._check_io(path)
        self.output_name = self._outputs[0]
        self.profile = [tuple(d) for d in self._engine.get_tensor_profile_shape(FRAME, 0)]
        self._contexts = [self._engine.create_execution_context() for _ in range(slots)]
        if any(c is None for c in self._contexts):
            raise ModelError(
                "TensorRT could not create an execution context (out of GPU memory?)",
                "close other GPU programs or use a smaller engine",
            )
        self._cuda = cuda or CudaRuntime()
        self.buffers = CudaBuffers(self._cuda, slots=slots, mapped=mapped, graphs=cuda_graphs)
        self._next = 0

    def _io(self, trt: Any) -> tuple[list[str], list[str]]:
        inputs: list[str] = []
        outputs: list[str] = []
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            mode = self._engine.get_tensor_mode(name)
            (inputs if mode == trt.TensorIOMode.INPUT else outputs).append(name)
        return inputs, outputs

    def _check_io(self, path: Path) -> None:
        def sig(name: str) -> TensorSig:
            kind = str(getattr(self._engine.get_tensor_dtype(name), "name", "?"))
            np_name = _NUMPY_NAMES.get(kind, kind.lower())
            shape = tuple(None if int(d) < 0 else int(d) for d in self._engine.get_tensor_shape(name))
            return TensorSig(name, np_name, shape)

        baked = sorted(set(self.defaults) - set(self._inputs))
        if baked:  # the ONNX parser turns inputs that have initializers into constants
            log.info("extra inputs %s are constants in engine %s", baked, path.name)
        check_frame_model([sig(n) for n in self._inputs], [sig(n) for n in self._outputs], path.name,
                          defaults=self.defaults, remedy=f"rebuild it from a frame model: edgecolor build MODEL "
                                                         f"(engine: {path})")
        self.defaults = {n: self.defaults[n] for n in sorted(set(self._inputs) - {FRAME})}

    def _submit_impl(self, batch: np.ndarray, extra: dict[str, float]) -> Callable[[], np.ndarray]:
        lo, _, hi = self.profile
        if len(lo) != 4 or any(not (a <= s <= b) for s, a, b in zip(batch.shape, lo, hi, strict=True)):
            raise InputError(
                f"frame batch {batch.shape} is outside the engine's profile {lo}..{hi}",
                "resize the source or rebuild the engine for this resolution",
            )
        slot = self._next
        self._next = (slot + 1) % len(self._contexts)
        ctx = self._contexts[slot]
        if not ctx.set_input_shape(FRAME, batch.shape):
            raise InputError(f"TensorRT refused input shape {batch.shape}", "rebuild the engine for this size")
        out_shape = tuple(ctx.get_tensor_shape(self.output_name))
        if out_shape != batch.shape:
            raise ModelError(
                f"engine output shape {out_shape} differs from its input {batch.shape}",
                "rebuild it from a frame model",
            )
        key = tuple(batch.shape)
        specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {
            FRAME: (key, np.dtype(np.uint8)), self.output_name: (key, np.dtype(np.uint8))}
        specs |= {name: ((), np.dtype(np.float32)) for name in self.defaults}
        bufs = self.buffers.buffers(slot, key, specs)
        for name, buf in bufs.items():
            ctx.set_tensor_address(name, buf.device_ptr)  # constant per (slot, shape): CUDA graphs stay valid

        def enqueue(stream_handle: int) -> None:
            if not ctx.execute_async_v3(stream_handle):
                raise CudaError("TensorRT execute_async_v3 failed (see the TensorRT log above)")

        inputs = {FRAME: batch} | {k: np.asarray(v, np.float32) for k, v in extra.items()}
        pending = self.buffers.run(slot, key, inputs, [self.output_name], enqueue)
        return lambda: pending.wait()[self.output_name]

    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        return self._submit_impl(batch, extra)()

    def _close_impl(self) -> None:
        self.buffers.close()
        self._contexts = []
        self._engine = None
