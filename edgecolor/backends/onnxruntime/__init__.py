"""ONNX Runtime: the embedded default. ``engine.py`` runs a whole frame model (CPU, or CUDA with onnxruntime-gpu);
``split.py`` is the colorizer's CPU fast path (network in ONNX Runtime, colour math in OpenCV); ``writer.py``
writes a CPU engine (the graph as ONNX Runtime optimised it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecolor.backends.onnxruntime.engine import OrtEngine, cpu_session_options

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions

__all__ = ["OrtEngine", "cpu_session_options", "environment", "write_engine"]


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    from edgecolor.backends.onnxruntime.writer import write_engine as write

    return write(graph, engine, options)


def environment() -> dict[str, Any]:
    from edgecolor.errors import require

    return {"backend_version": require("onnxruntime", "core").__version__}
