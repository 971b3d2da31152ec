"""ONNX Runtime engine for frame models (CPU by default; CUDA EP when onnxruntime-gpu provides it)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from edgecolor.backends.base import Engine, extra_defaults
from edgecolor.errors import ModelError, require

log = logging.getLogger(__name__)

METADATA_WHAT = "the model's edgecolor.extra_inputs metadata is"
METADATA_REMEDY = 're-export the frame model (its metadata maps each extra input to {"default": value})'


class OrtEngine(Engine):
    """Runs a frame model: BGR uint8 ``H x W x 3`` (or ``N x H x W x 3``) in, same shape out."""

    backend = "onnxruntime"

    def __init__(self, model: str | Path | bytes, threads: int = 0, providers: list[str] | None = None) -> None:
        super().__init__()
        ort = require("onnxruntime", "core")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3  # the "initializer appears in graph inputs" warning is by design
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        src = model if isinstance(model, bytes) else str(model)
        if not isinstance(model, bytes) and not Path(model).is_file():
            raise ModelError(f"model {model} does not exist", "pass a frame-model .onnx file or a shipped model name")
        try:
            self.session = ort.InferenceSession(src, opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt/invalid graphs
            raise ModelError(f"ONNX Runtime cannot load {'model' if isinstance(model, bytes) else model}: "
                             f"{str(exc).splitlines()[0][:200]}", "check that the file is a valid ONNX model") from exc
        inputs = {i.name: i for i in self.session.get_inputs()}
        outs = self.session.get_outputs()
        frame = inputs.get("frame")
        shape = list(frame.shape) if frame is not None else []
        image = len(shape) == 4 and (shape[3] == 3 or not isinstance(shape[3], int))  # 3 or symbolic
        if frame is None or not image or frame.type != "tensor(uint8)" or len(outs) != 1 or (
            outs[0].type != "tensor(uint8)"
        ):
            raise ModelError("the model is not a frame model (needs a uint8 [N, H, W, 3] input 'frame' and one "
                             "uint8 output)",
                             "wrap it with an adapter spec: edgecolor build MODEL --adapter SPEC")
        out_shape = list(outs[0].shape or [])
        if len(out_shape) != 4 or (isinstance(out_shape[3], int) and out_shape[3] != 3):
            raise ModelError(f"the model's output {outs[0].name} is {out_shape}, not a frame [N, H, W, 3]",
                             "wrap the network with an adapter spec: edgecolor build MODEL --adapter SPEC")
        required = [name for name in inputs if name != "frame"]  # inputs with an initializer are not listed
        if required:
            raise ModelError(f"the model needs input(s) {', '.join(required)[:80]} besides 'frame', without a "
                             "default", "give each extra input an initializer (its default) in the frame model")
        self.output_name = outs[0].name
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, str] = dict(meta)
        overridable = {i.name for i in self.session.get_overridable_initializers()} | set(inputs)
        extras = extra_defaults(meta.get("edgecolor.extra_inputs"), METADATA_WHAT, METADATA_REMEDY)
        self.defaults = {k: v for k, v in extras.items() if k in overridable}

    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        feeds: dict[str, np.ndarray] = {"frame": batch}
        for name, value in extra.items():
            if value != self.defaults[name]:  # a default is the initializer already in the graph
                feeds[name] = np.asarray(value, np.float32)
        return self.session.run([self.output_name], feeds)[0]
