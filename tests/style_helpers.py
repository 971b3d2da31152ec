"""Tiny style frame models generated in code (no torch needed): a per-pixel affine "style" core."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.graph.frame import IR_VERSION, OPSET
from edgecolor.graph.style import stylize_frame_model


def tiny_style_core(mix: np.ndarray | None = None, bias: tuple = (0.0, 0.0, 0.0)) -> onnx.ModelProto:
    """styled = mix @ bgr + bias per pixel (1x1 conv), dynamic N/h/w; the default swaps B and R and darkens."""
    if mix is None:
        mix = np.array([[0, 0, 0.8], [0, 0.8, 0], [0.8, 0, 0]], np.float32)
    nodes = [helper.make_node("Conv", ["bgr", "w", "b"], ["styled"])]
    graph = helper.make_graph(
        nodes, "tiny_style",
        [helper.make_tensor_value_info("bgr", TensorProto.FLOAT, ["N", 3, "h", "w"])],
        [helper.make_tensor_value_info("styled", TensorProto.FLOAT, ["N", 3, "h", "w"])],
        [numpy_helper.from_array(np.asarray(mix, np.float32).reshape(3, 3, 1, 1), "w"),
         numpy_helper.from_array(np.asarray(bias, np.float32), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def tiny_style(path: Path, net_size: int = 64, **kw) -> Path:
    meta = {"edgecolor.name": "style-tiny", "edgecolor.style": "tiny", "edgecolor.source": "tests"}
    onnx.save(stylize_frame_model(tiny_style_core(**kw), net_size, meta), path)
    return path
