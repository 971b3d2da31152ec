"""OpenVINO on the CPU: ``engine.py`` runs edgecolor's networks (the colorizer's colour math in OpenCV, a style's
pre/post on ONNX Runtime); ``writer.py`` writes an OpenVINO engine (the graph, compiled at load time with the
precision hint its manifest records)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    from edgecolor.backends.openvino.writer import write_engine as write

    return write(graph, engine, options)


def environment() -> dict[str, Any]:
    from edgecolor.errors import require

    return {"backend_version": require("openvino", "openvino").__version__}
