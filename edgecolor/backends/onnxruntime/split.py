"""CPU fast path for the colorizer: the frame model's network on ONNX Runtime, its colour math in OpenCV.

Why a second implementation of the pre/post steps: on the CI-class CPU (2 cores) ONNX Runtime spends more
time in the frame graph's full-resolution colour math (cast, luma, chroma upsampling, merge) than in the
network itself; OpenCV does the same steps on uint8/float32 with SIMD in a fraction of that (measured by
``benchmarks/run_benchmarks.py``: rows ``graph`` vs ``split``). The TensorRT engine keeps everything in the
graph. The network is *cut out of the same frame model* (tensors ``net/luma`` -> ``net/chroma``), so there is
one set of weights, and ``tests/backends/onnxruntime/test_split.py`` checks both paths agree within 1-2 LSB.

Differences from the graph, all bounded by 1 LSB in the output: luma is OpenCV's rounded
``COLOR_BGR2GRAY`` (the graph keeps it in float) and OpenCV rounds half to even.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper

from edgecolor.backends.base import TwoStageEngine
from edgecolor.backends.onnxruntime.engine import cpu_session_options
from edgecolor.choices import Task
from edgecolor.colour import BGR_FROM_CHROMA
from edgecolor.errors import ModelError, require
from edgecolor.graph.contract import NET_CHROMA, NET_LUMA, FrameModelInfo, check_frame_model, onnx_signature


def has_network_boundary(model: onnx.ModelProto) -> bool:
    """Whether ``net/luma`` and ``net/chroma`` are still tensors of ``model``. An engine ONNX Runtime optimised
    after FP16 conversion has fused or renamed them (the converter's casts sit on the boundary), so its network
    cannot be cut out: such a model runs as a whole graph."""
    names = {o for n in model.graph.node for o in n.output}
    return NET_LUMA in names and NET_CHROMA in names


def extract_core(model: onnx.ModelProto, net_size: int) -> onnx.ModelProto:
    """The network between ``net/luma`` and ``net/chroma`` of a colorizer frame model (any precision,
    optimised or not)."""
    if not has_network_boundary(model):
        raise ModelError(f"this frame model has no {NET_LUMA} -> {NET_CHROMA} network to run on the CPU fast path",
                         "run it with --cpu-path auto (which runs such a model as a whole graph) or graph")
    inferred = onnx.shape_inference.infer_shapes(model)  # the extractor looks tensors up in value_info
    known = {v.name for v in inferred.graph.value_info}
    # Shape inference stops at ONNX Runtime's fused contrib ops in optimised engines; the boundary shapes
    # are fixed by the frame-model contract anyway.
    boundary: list[tuple[str, list[str | int | None]]] = [
        (NET_LUMA, ["N", 1, net_size, net_size]), (NET_CHROMA, ["N", 2, net_size // 2, net_size // 2])]
    for name, shape in boundary:
        if name not in known:
            inferred.graph.value_info.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    return onnx.utils.Extractor(inferred).extract_model([NET_LUMA], [NET_CHROMA])


Prepared = tuple[list[np.ndarray], np.ndarray]  # each frame's luma (uint8, full size), the network's chroma


class SplitColorizerEngine(TwoStageEngine[Prepared]):
    """Same contract as :class:`~edgecolor.backends.onnxruntime.OrtEngine` for colorizer frame models.

    Two stages (:class:`~edgecolor.backends.base.TwoStageEngine`): luma and the network, then the
    full-resolution colour math. Submitted frames overlap: the network of frame k+1 runs while frame k's
    colour math does, which spends long stretches on one core (merge, the uint8 add); on the 2-core CI VM the
    720p pipeline ran 1.08-1.13x the frames/s of one worker thread for both stages
    (``benchmarks/results/pipeline-overlap-2026-12-01-two-stage-split.md``).
    """

    backend = "onnxruntime+opencv"

    def __init__(self, model: str | Path | onnx.ModelProto, threads: int = 0, name: str | None = None) -> None:
        """``model``: a colorizer frame-model file or the model itself, loaded once by
        :func:`edgecolor.backends.open_engine` (``name`` then says which file it came from)."""
        super().__init__()
        if isinstance(model, onnx.ModelProto):
            frame_model, label = model, name or "the model"
        else:
            path = Path(model)
            if not path.is_file():
                raise ModelError(f"model {path} does not exist",
                                 "pass a frame-model .onnx file or a shipped model name")
            try:
                frame_model = onnx.load(str(path))
            except Exception as exc:  # protobuf raises its own DecodeError types
                raise ModelError(f"{path} is not a readable ONNX file", "check the file") from exc
            label = name or path.name
        check_frame_model(*onnx_signature(frame_model), label)
        self.name = label
        self.info = FrameModelInfo.read(frame_model)
        if self.info.task != Task.COLORIZE:
            raise ModelError(f"{label} is not a colorizer frame model", "use the graph engine for other models")
        if self.info.adapted:
            raise ModelError(f"{label} is an adapted colorizer; the CPU fast path runs edgecolor's own only",
                             "run it with the graph engine (--cpu-path graph or auto)")
        self.net_size = self.info.checked_net_size(label)
        self.defaults = self.info.defaults()
        self._run_core = self._core_runner(extract_core(frame_model, self.net_size), threads)

    def _core_runner(self, core: onnx.ModelProto, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        """``luma [N, 1, S, S] float32 -> chroma [N, 2, S/2, S/2]``; other runtimes override this only."""
        ort = require("onnxruntime", "core")
        opts = cpu_session_options(threads, spin=False)  # each run alternates with OpenCV's colour math
        self.session = ort.InferenceSession(core.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return lambda luma: self.session.run([NET_CHROMA], {NET_LUMA: luma})[0]

    def _prepare_impl(self, batch: np.ndarray, extra: dict[str, float]) -> Prepared:
        s = self.net_size
        grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in batch]
        small = []
        for g in grays:  # the graph's pyramid: bilinear (half-pixel) to 2S, then an exact 2x box step to S
            x = cv2.resize(g.astype(np.float32), (2 * s, 2 * s), interpolation=cv2.INTER_LINEAR)
            small.append(cv2.resize(x, (s, s), interpolation=cv2.INTER_LINEAR))
        return grays, self._run_core(np.stack(small)[:, None])  # chroma [N, 2, s/2, s/2]

    def _finish_impl(self, state: Prepared, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        grays, chroma = state
        strength = extra.get("colour_strength", 1.0)
        offsets = np.einsum("oc,nchw->nhwo", BGR_FROM_CHROMA * np.float32(strength), chroma).astype(np.float32)
        out = np.empty_like(batch)
        h, w = batch.shape[1:3]
        for i, g in enumerate(grays):
            up = cv2.resize(offsets[i], (w, h), interpolation=cv2.INTER_LINEAR)
            if up.ndim == 2:  # OpenCV drops a trailing axis of size 1 only for 1-channel images; keep 3
                up = up[..., None]
            out[i] = cv2.add(cv2.merge([g, g, g]), up, dtype=cv2.CV_8U)
        return out
