"""ONNX Runtime engine for frame models (CPU by default; CUDA EP when onnxruntime-gpu provides it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.errors import ModelError, require
from edgecolor.graph.contract import FRAME, FrameModelInfo, TensorSig, check_frame_model

log = logging.getLogger(__name__)



def cpu_session_options(threads: int = 0, spin: bool = True) -> Any:
    """ONNX Runtime session options for every edgecolor engine: ``threads`` intra-op threads (0 = ONNX
    Runtime's default, one per core) and quiet logs (the "initializer appears in graph inputs" warning is by
    design). ``spin=False`` for a session whose runs alternate with other CPU work (the split path's OpenCV
    colour math, OpenVINO's network): ONNX Runtime's idle pool threads otherwise spin after each run on the
    cores that work needs next. Measured on the 2-core CI VM, 720p colorizer on the split path, the same process,
    8 alternating rounds: pipeline +8 % frames/s, about 5 ms less CPU a frame; the whole-graph style engines ran
    ~5-10 % slower without spinning, so they keep it
    (``benchmarks/results/pipeline-overlap-2026-12-01-no-spin-streams.md``).
    """
    ort = require("onnxruntime", "core")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OrtEngine(Engine):
    """Runs a frame model: BGR uint8 ``H x W x 3`` (or ``N x H x W x 3``) in, same shape out."""

    backend = "onnxruntime"

    def __init__(self, model: str | Path | bytes, threads: int = 0, providers: list[str] | None = None,
                 name: str | None = None, op_by_op: bool = False) -> None:
        """``model``: a frame-model file, or its bytes (``name`` then says which file they came from).
        ``op_by_op``: no graph optimisation, so a Q/DQ graph runs as the ONNX spec defines it (quantise,
        dequantise, float op) instead of ONNX Runtime's fused integer kernels, whose x86 versions without VNNI
        add pairs of 8-bit products in 16 bits and saturate: how the gate judges a graph built for TensorRT."""
        super().__init__()
        ort = require("onnxruntime", "core")
        opts = cpu_session_options(threads)
        opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_DISABLE_ALL if op_by_op
                                         else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        src = model if isinstance(model, bytes) else str(model)
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise ModelError(f"model {model} does not exist", "pass a frame-model .onnx file or a shipped model name")
        shown = name or ("model" if isinstance(model, bytes) else str(model))
        try:
            self.session = ort.InferenceSession(src, opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt/invalid graphs
            raise ModelError(f"ONNX Runtime cannot load {shown}: "
                             f"{str(exc).splitlines()[0][:200]}", "check that the file is a valid ONNX model") from exc
        ins, outs = self.session.get_inputs(), self.session.get_outputs()

        def sig(arg: object) -> TensorSig:  # onnxruntime's NodeArg: type "tensor(uint8)", shape ints/symbols
            kind = str(getattr(arg, "type", ""))
            dtype = {"tensor(float)": "float32", "tensor(double)": "float64"}.get(kind, kind[7:-1] or kind)
            shape = getattr(arg, "shape", None)
            return TensorSig(str(getattr(arg, "name", "")), dtype, None if shape is None else tuple(shape))

        # inputs with an initializer (the extra inputs' defaults) are not listed among the session's inputs
        label = name or ("the model" if isinstance(model, bytes) else Path(model).name)
        self.name = label
        check_frame_model([sig(i) for i in ins], [sig(o) for o in outs], label)
        inputs = {i.name: i for i in ins}
        self.output_name = outs[0].name
        self.info = FrameModelInfo.from_props(self.session.get_modelmeta().custom_metadata_map)
        overridable = {i.name for i in self.session.get_overridable_initializers()} | set(inputs)
        self.defaults = {k: v for k, v in self.info.defaults().items() if k in overridable}

    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        feeds: dict[str, np.ndarray] = {FRAME: batch}
        for name, value in extra.items():
            if value != self.defaults[name]:  # a default is the initializer already in the graph
                feeds[name] = np.asarray(value, np.float32)
        return self.session.run([self.output_name], feeds)[0]
