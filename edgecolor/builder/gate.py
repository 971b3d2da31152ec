"""Accuracy gate: a precision variant against FP32 on held-out frames (never used for calibration).

Both graphs run on ONNX Runtime CPU: for ``--target trt`` this measures the Q/DQ / FP16 graph TensorRT
builds from, not TensorRT's own kernels (those can only be checked on a GPU).

Criterion. For a colorizer the held-out colour frame is a ground truth (the model only sees its luma), so
the gate bounds the *loss*: PSNR(FP32 output, truth) - PSNR(variant output, truth) <= 0.1 dB (FP16) or
0.3 dB (INT8) (the table :data:`edgecolor.builder.precisions.RECIPES`), or ``--max-loss-db``; the frames must
be colour photos (:mod:`edgecolor.builder.gate_frames`).
Other tasks (style transfer) have no ground truth: the gate asks PSNR(variant, FP32) >= 40 dB
(FP16) or 30 dB (INT8). PSNR and mean CIE76 Delta E against FP32 are always reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from edgecolor.builder.precisions import recipe
from edgecolor.choices import Task
from edgecolor.errors import EdgecolorError
from edgecolor.graph.contract import FRAME, NET_SCOPE
from edgecolor.quality import delta_e76, psnr

IDENTICAL_DB = 100.0  # the PSNR recorded for a frame the variant reproduces exactly

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateLimits:
    """``None``: the precision's default (its row in :data:`edgecolor.builder.precisions.RECIPES`)."""

    max_loss_db: float | None = None
    min_psnr_vs_fp32: float | None = None

    def loss_limit(self, precision: str) -> float:
        return _limit(self.max_loss_db, recipe(precision).max_loss_db, precision)

    def psnr_floor(self, precision: str) -> float:
        return _limit(self.min_psnr_vs_fp32, recipe(precision).min_psnr_vs_fp32, precision)


def _limit(asked: float | None, default: float | None, precision: str) -> float:
    if asked is not None:
        return asked
    if default is None:
        raise RuntimeError(f"{precision} has no accuracy gate")  # a bug: FP32 is never gated
    return default


class GateFailed(EdgecolorError):
    """The precision variant is further from FP32 than the limit allows."""

    def __init__(self, result: dict, remedy: str) -> None:
        self.result = result
        super().__init__(f"{result['precision']} fails the accuracy gate: {result['summary']}", remedy)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("inf")


def evaluate(
    fp32: Path,
    variant: Path,
    frames: tuple[np.ndarray, ...],
    precision: str,
    task: str,
    limits: GateLimits = GateLimits(),
    threads: int = 0,
    on_frame: Callable[[int, int], None] | None = None,
    backend: str = "onnxruntime",
) -> dict:
    """Gate numbers for ``variant`` (a frame model) against ``fp32`` on ``frames``; ``passed`` inside.
    ``on_frame(done, total)`` is called after each frame (a progress bar). ``backend``: what the variant is
    built for; ``openvino`` runs it there, with its precision's hint (BF16 exists only there), so the gate
    measures what the engine will run; ``tensorrt`` runs the graph on ONNX Runtime op by op (TensorRT needs the
    GPU). The FP32 reference is always the frame graph on ONNX Runtime."""
    from edgecolor.backends import open_engine

    ref_engine = open_engine(fp32, cpu_path="graph", threads=threads)
    if backend == "openvino":
        from edgecolor.backends.openvino.engine import open_openvino

        hint = recipe(precision).openvino_hint or "f32"
        var_engine = open_openvino(onnx.load(str(variant)), hint, threads=threads, name=f"the {precision} graph")
        plugin = getattr(var_engine, "inference_precision", None)
    elif backend == "tensorrt":  # TensorRT cannot run here: its Q/DQ graph, op by op as the spec defines it
        from edgecolor.backends.onnxruntime import OrtEngine

        var_engine, plugin = OrtEngine(variant, threads=threads, op_by_op=True), None
    else:
        var_engine, plugin = open_engine(variant, cpu_path="graph", threads=threads), None
    outs = []
    for f in frames:
        outs.append((f, ref_engine(f), var_engine(f)))
        if on_frame is not None:
            on_frame(len(outs), len(frames))
    res: dict[str, Any] = {
        "precision": precision,
        "backend": backend,
        **({"plugin_precision": plugin} if plugin else {}),
        "frames": len(frames),
        # identical outputs (a BF16 hint the CPU runs in f32) have infinite PSNR, which JSON cannot hold
        "psnr_vs_fp32_db": round(_mean([min(psnr(a, b), IDENTICAL_DB) for _, a, b in outs]), 3),
        "delta_e_vs_fp32": round(float(np.mean([delta_e76(a, b) for _, a, b in outs])), 4),
    }
    if task == Task.COLORIZE:
        fp32_db = _mean([psnr(a, f) for f, a, _ in outs])
        var_db = _mean([psnr(b, f) for f, _, b in outs])
        loss, limit = fp32_db - var_db, limits.loss_limit(precision)
        res |= {
            "criterion": "loss_db vs ground truth",
            "psnr_fp32_vs_truth_db": round(fp32_db, 3),
            "psnr_variant_vs_truth_db": round(var_db, 3),
            "loss_db": round(loss, 4),
            "limit_db": limit,
            "passed": bool(loss <= limit),
        }
        worse = "worse" if loss >= 0 else "better"
        res["summary"] = (f"{precision.upper()} is {abs(loss):.3f} dB {worse} than FP32 against the colour truth "
                          f"(limit {limit} dB)")
    else:
        floor = limits.psnr_floor(precision)
        res |= {
            "criterion": "psnr_vs_fp32 floor",
            "limit_db": floor,
            "passed": bool(res["psnr_vs_fp32_db"] >= floor),
        }
        res["summary"] = (f"{precision.upper()} is {res['psnr_vs_fp32_db']:.2f} dB PSNR from FP32 (no ground truth; "
                          f"must be >= {floor} dB)")
    res["verdict"] = "pass" if res["passed"] else "fail"
    log.info("gate %s: %s", precision, res)
    return res


def layer_sensitivity(
    fp32: Path, quantized: Path, frames: tuple[np.ndarray, ...], names: list[str]
) -> list[str]:
    """Quantised network nodes ordered worst first, by how much relative error each adds to its inputs'.

    Runs both graphs with every network node output exposed and compares tensors of the same name
    (QDQ keeps the original tensor names on the compute nodes' outputs). A heuristic, cheap ranking.
    """
    import onnxruntime as ort

    from edgecolor.backends.onnxruntime.engine import cpu_session_options

    ref_model = onnx.load(str(fp32))
    nodes = {n.name: n for n in ref_model.graph.node if n.name in set(names)}
    tensors = sorted({o for n in ref_model.graph.node if n.name.startswith(NET_SCOPE) for o in n.output})

    def run(path: Path) -> dict[str, np.ndarray]:
        model = onnx.load(str(path))
        have = {o for n in model.graph.node for o in n.output}
        model.graph.output.extend(onnx.ValueInfoProto(name=t) for t in tensors if t in have)
        sess = ort.InferenceSession(model.SerializeToString(), cpu_session_options(),
                                    providers=["CPUExecutionProvider"])
        wanted = [o.name for o in sess.get_outputs()]
        acc: dict[str, list[np.ndarray]] = {}
        for f in frames[:2]:
            for name, value in zip(wanted, sess.run(wanted, {FRAME: f[None]}), strict=True):
                acc.setdefault(name, []).append(np.asarray(value, np.float32))
        return {k: np.concatenate([v.ravel() for v in vs]) for k, vs in acc.items()}

    ref, q = run(fp32), run(quantized)
    err = {
        t: float(np.linalg.norm(q[t] - ref[t]) / (np.linalg.norm(ref[t]) + 1e-6))
        for t in tensors
        if t in ref and t in q and ref[t].shape == q[t].shape
    }
    score = {}
    for name, node in nodes.items():
        out = err.get(node.output[0], 0.0)
        upstream = max((err.get(i, 0.0) for i in node.input), default=0.0)
        score[name] = out - upstream
    return sorted(score, key=lambda k: -score[k])
