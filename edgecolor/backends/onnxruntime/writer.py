"""A CPU engine for ONNX Runtime: the precision graph as ONNX Runtime optimised it, saved by the session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecolor.backends.onnxruntime.engine import cpu_session_options
from edgecolor.errors import ModelError, OutputError, require
from edgecolor.imageio import space_note

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions


def _loads_without_writing(ort: Any, graph: Path) -> bool:
    try:
        ort.InferenceSession(str(graph), cpu_session_options(), providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - any failure means the graph itself is the problem
        return False
    return True


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    ort = require("onnxruntime", "core")
    opts = cpu_session_options()
    # EXTENDED, not ALL: ALL adds layout transforms tied to this CPU's instruction set.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(engine)  # the staged path: the builder renames it into place
    try:
        sess = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types (Fail, InvalidGraph, ...)
        if _loads_without_writing(ort, graph):  # the graph is fine: writing the engine failed (a full disk)
            raise OutputError(
                f"cannot write {engine}: {str(exc).splitlines()[0][:200]}{space_note(engine)}",
                "free disk space or choose another output location with -o",
            ) from exc
        raise ModelError(
            f"ONNX Runtime cannot load the {options.precision} graph of {options.label}: "
            f"{str(exc).splitlines()[0][:200]}",
            "check the model opens in ONNX Runtime (IR version, opset, operators) and its --adapter spec",
        ) from exc
    io = [{"name": v.name, "shape": v.shape, "dtype": v.type} for v in [*sess.get_inputs(), *sess.get_outputs()]]
    return {
        "backend": "onnxruntime",
        "backend_version": ort.__version__,
        "io": io,
        "optimization": "ORT_ENABLE_EXTENDED",
    }
