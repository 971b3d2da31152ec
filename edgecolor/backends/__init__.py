"""Inference backends behind one small Engine protocol (:mod:`edgecolor.backends.base`).

``open_cpu_engine`` picks how a frame model runs on the CPU: ``graph`` runs the whole frame model in
ONNX Runtime; ``split`` (colorizer only) runs its network in ONNX Runtime and the colour math in OpenCV,
which is faster on small CPUs (see :mod:`edgecolor.backends.cpu_split`); ``auto`` = split for edgecolor's own
colorizer (adapted colorizers run as a graph); ``openvino`` / ``openvino-bf16`` (colorizer only) run that
network on OpenVINO (:mod:`edgecolor.backends.openvino`).
"""

from __future__ import annotations

from pathlib import Path

from edgecolor.backends.base import Engine
from edgecolor.errors import InputError

CPU_PATHS = ("auto", "graph", "split", "openvino", "openvino-bf16")


def open_cpu_engine(model: str | Path, cpu_path: str = "auto", threads: int = 0) -> Engine:
    from edgecolor.backends.onnxruntime import OrtEngine

    if cpu_path not in CPU_PATHS:
        raise InputError(f"unknown CPU path '{cpu_path}'", f"use one of: {', '.join(CPU_PATHS)}")
    engine = OrtEngine(model, threads=threads)
    # The split path knows edgecolor's own colorizer contract only; adapted colorizers run as a graph.
    own = engine.metadata.get("edgecolor.task") == "colorize" and "edgecolor.adapter" not in engine.metadata
    if cpu_path == "graph" or (cpu_path == "auto" and not own):
        return engine
    task = engine.metadata.get("edgecolor.task")
    engine.close()
    if cpu_path.startswith("openvino"):
        if task != "colorize":
            raise InputError(f"--cpu-path {cpu_path} runs a colorizer's network only (this is a {task} model)",
                             "use --cpu-path graph for style models")
        from edgecolor.backends.openvino import OpenVinoColorizerEngine

        return OpenVinoColorizerEngine(model, threads=threads, precision="bf16" if cpu_path.endswith("bf16") else "f32")
    from edgecolor.backends.cpu_split import SplitColorizerEngine

    return SplitColorizerEngine(model, threads=threads)
