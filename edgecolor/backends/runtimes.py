"""One row per runtime: the package that writes, opens and describes its engines.

Each runtime package (``backends/onnxruntime/``, ``backends/openvino/``, ``backends/tensorrt/``) offers the same
two functions, imported only when that runtime is used (their libraries are heavy or optional):

- ``write_engine(graph, engine, options) -> dict``: write the engine file for a precision graph, and return the
  facts its manifest records (``backend``, ``backend_version``, ...);
- ``environment() -> dict``: this machine's runtime version (and GPU for TensorRT), in the manifest's terms,
  which :mod:`edgecolor.backends.manifest` compares with what an engine was built with.

Which engine class opens a file is decided in one place, :func:`edgecolor.backends.open_engine`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from edgecolor.choices import Runtime


@dataclass(frozen=True)
class EngineOptions:
    """What a runtime's writer needs from a build (the builder fills it from its BuildConfig)."""

    label: str  # the model, as errors name it
    precision: str
    threads: int = 0
    openvino_hint: str | None = None  # OpenVINO: the inference precision hint the precision asks for
    shapes: str = "1x240x320,1x720x1280,1x1080x1920"  # TensorRT: the optimisation profile (min, opt, max)
    workspace_mib: int = 2048  # TensorRT
    opt_level: int = 3  # TensorRT


PACKAGES = {
    Runtime.ONNXRUNTIME: "edgecolor.backends.onnxruntime",
    Runtime.OPENVINO: "edgecolor.backends.openvino",
    Runtime.TENSORRT: "edgecolor.backends.tensorrt",
}


def runtime(backend: Runtime | str) -> ModuleType:
    """The package of ``backend``'s runtime (see the module docstring for what it offers)."""
    return importlib.import_module(PACKAGES[Runtime(backend)])


def write_engine(backend: Runtime | str, graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    return dict(runtime(backend).write_engine(graph, engine, options))


def environment(backend: Runtime | str) -> dict[str, Any]:
    return dict(runtime(backend).environment())
