"""TensorRT (thin, exactly against its Python API): ``build.py`` builds and deserializes plans, ``engine.py`` runs
one with CUDA-stream slots over ``cuda_buffers.py``. TensorRT is not installed on CI: the strict fakes generated
from ``tests/fakes/trt-api/`` check every call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    from edgecolor.backends.tensorrt.build import write_engine as write

    return write(graph, engine, options)


def environment() -> dict[str, Any]:
    from edgecolor.backends.tensorrt.build import gpu_identity, trt_version

    return {"backend_version": trt_version(), "gpu": gpu_identity()}
