"""Writing the engine file of a build: a TensorRT plan, an ONNX Runtime-optimised model, or, for OpenVINO,
the graph itself (OpenVINO compiles it at load time; its precision hint is recorded in the manifest).

Each writer returns the manifest facts of its backend (``backend``, ``backend_version``, ...).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx

from edgecolor.builder.precisions import recipe
from edgecolor.choices import EngineBackend, Target
from edgecolor.errors import ModelError, OutputError
from edgecolor.graph.frame import extras_as_plain_inputs
from edgecolor.imageio import space_note

if TYPE_CHECKING:
    from edgecolor.builder.pipeline import BuildConfig

log = logging.getLogger(__name__)


def _loads_without_writing(ort: Any, graph: Path) -> bool:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - any failure means the graph itself is the problem
        return False
    return True


def write_engine(cfg: BuildConfig, graph: Path, engine: Path) -> dict[str, Any]:
    if cfg.cpu_backend == EngineBackend.OPENVINO:
        return _write_openvino(cfg, graph, engine)
    if cfg.target is Target.TRT:
        from edgecolor.backends.tensorrt import Shapes, TrtBuildOptions, build_engine, gpu_identity

        opts = TrtBuildOptions(
            Shapes.parse(cfg.shapes),
            cfg.workspace_mib,
            cfg.opt_level,
            timing_cache=engine.parent / "timing.cache",
        )
        engine.parent.mkdir(parents=True, exist_ok=True)
        plain = engine.parent / f".{engine.stem}.trt-input.onnx"
        onnx.save(extras_as_plain_inputs(onnx.load(str(graph))), plain)
        try:
            facts = build_engine(plain, engine, opts)
        finally:
            plain.unlink(missing_ok=True)
        return {
            "backend": "tensorrt",
            "backend_version": facts.pop("tensorrt"),
            "gpu": gpu_identity(),
            **facts,
        }
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # EXTENDED, not ALL: ALL adds layout transforms tied to this CPU's instruction set.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(engine)  # the staged path: build() renames it into place
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types (Fail, InvalidGraph, ...)
        if _loads_without_writing(ort, graph):  # the graph is fine: writing the engine failed (a full disk)
            raise OutputError(
                f"cannot write {engine}: {str(exc).splitlines()[0][:200]}{space_note(engine)}",
                "free disk space or choose another output location with -o",
            ) from exc
        raise ModelError(
            f"ONNX Runtime cannot load the {cfg.precision} graph of {cfg.model}: "
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


def _write_openvino(cfg: BuildConfig, graph: Path, engine: Path) -> dict[str, Any]:
    """The graph as it is (FP32 or Q/DQ: OpenVINO reads standard ONNX only), and what the CPU plugin reports
    it will run: a BF16 hint on a CPU without bfloat16 kernels runs f32, and the manifest says so."""
    from edgecolor.backends.openvino import compile_network
    from edgecolor.builder.auto import BF16_FLAGS
    from edgecolor.choices import OpenVinoPrecision
    from edgecolor.errors import require
    from edgecolor.system import cpu_flags

    ov = require("openvino", "openvino")
    hint = OpenVinoPrecision.parse(recipe(cfg.precision).openvino_hint or "", "OpenVINO precision")
    try:
        shutil.copyfile(graph, engine)
    except OSError as exc:
        raise OutputError(f"cannot write {engine}: {exc.strerror}{space_note(engine)}",
                          "free disk space or choose another output location with -o") from exc
    _, used = compile_network(onnx.load(str(graph)), hint, cfg.threads, "build --precision fp32 or int8")
    flags = [f for f in BF16_FLAGS if f in cpu_flags()]
    if hint == OpenVinoPrecision.BF16 and used != "bf16":
        note = (f"OpenVINO's CPU plugin reports {used}, not bf16: this CPU has no {'/'.join(BF16_FLAGS)}, so the "
                f"engine runs in {used} (no faster than FP32 on OpenVINO)")
        log.warning(note)
    else:
        note = (f"OpenVINO's CPU plugin reports {used} for a {hint} hint "
                f"(CPU bfloat16 flags: {', '.join(flags) or 'none'})")
    return {
        "backend": str(EngineBackend.OPENVINO),
        "backend_version": ov.__version__,
        "openvino": {"inference_precision_hint": str(hint), "plugin_precision": used, "cpu_bf16_flags": flags,
                     "note": note},
    }
