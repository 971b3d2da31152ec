"""OpenVINO for the colorizer's network on the CPU fast path: the same split as
:class:`~edgecolor.backends.cpu_split.SplitColorizerEngine` (network cut out of the frame model, colour math in
OpenCV), with the network compiled by OpenVINO's CPU plugin instead of ONNX Runtime.

Why only the network: in a trial on this project's AMD EPYC (Zen 4: AVX-512 VNNI and BF16, no AMX; OpenVINO
2026.4) OpenVINO ran the colorizer's network 2-4 x faster than ONNX Runtime (FP32 hint, BF16 hint, and the
Q/DQ graph), but the whole style frame model 3.9 x slower and with outputs up to 255 LSB off ONNX Runtime's,
so the full-resolution colour math stays in OpenCV, as issue 17's own trial on Intel also advised.

``precision``: ``f32`` (OpenVINO's ``INFERENCE_PRECISION_HINT``; FP32 everywhere) or ``bf16`` (bfloat16
matrix kernels where the CPU has AVX-512 BF16 or AMX; a silent FP32 fallback elsewhere in OpenVINO, so the
engine records what the plugin reports it used). Needs the ``openvino`` extra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx

from edgecolor.backends.cpu_split import SplitColorizerEngine
from edgecolor.choices import OpenVinoPrecision
from edgecolor.errors import ModelError, require

log = logging.getLogger(__name__)



class OpenVinoColorizerEngine(SplitColorizerEngine):
    """Colorizer frame model on the CPU: network on OpenVINO, colour math in OpenCV (same contract)."""

    backend = "openvino+opencv"

    def __init__(self, model: str | Path | onnx.ModelProto, threads: int = 0, precision: str = "f32",
                 name: str | None = None) -> None:
        self.precision = OpenVinoPrecision.parse(precision, "OpenVINO precision")
        super().__init__(model, threads, name)
        self.backend = f"openvino-{self.precision}+opencv"

    def _core_runner(self, core: onnx.ModelProto, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        ov = require("openvino", "openvino")
        if any(n.domain not in ("", "ai.onnx") for n in core.graph.node):
            raise ModelError(
                "this network has ONNX Runtime-specific fused ops (a CPU engine from 'edgecolor build' is saved "
                "ONNX Runtime-optimised), which OpenVINO cannot read",
                "give OpenVINO the frame model itself (a shipped name or the .onnx it was built from), or use "
                "--cpu-path split",
            )
        ov_core = ov.Core()
        config: dict[str, object] = {"INFERENCE_PRECISION_HINT": str(self.precision), "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            compiled = ov_core.compile_model(ov_core.read_model(core.SerializeToString(), b""), "CPU", config)
        except RuntimeError as exc:  # OpenVINO reports conversion / compile failures as RuntimeError
            raise ModelError(f"OpenVINO cannot compile this network: {str(exc).splitlines()[0][:160]}",
                             "use --cpu-path split (ONNX Runtime)") from exc
        used = compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino Type: to_string() gives "bf16"
        self.inference_precision = used.to_string() if hasattr(used, "to_string") else str(used)
        log.info("OpenVINO network compiled: asked %s, plugin uses %s", self.precision, self.inference_precision)
        request, output = compiled.create_infer_request(), compiled.outputs[0]

        def run(luma: np.ndarray) -> np.ndarray:
            return np.asarray(request.infer([luma])[output], np.float32)

        return run
