"""Tiny style frame models generated in code (no torch needed): a per-pixel affine "style" core."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import IR_VERSION, OPSET
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


def two_layer_style_core(hidden: int = 8, seed: int = 0) -> onnx.ModelProto:
    """A 3x3 convolution to ``hidden`` channels, ReLU, a 1x1 back to 3: a style network with a layer INT8
    quantises (the per-pixel core's only convolution is too narrow for it)."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.3, (hidden, 3, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (3, hidden, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["bgr", "w1", "b1"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Conv", ["r", "w2", "b2"], ["styled"])]
    graph = helper.make_graph(
        nodes, "two_layer_style",
        [helper.make_tensor_value_info("bgr", TensorProto.FLOAT, ["N", 3, "h", "w"])],
        [helper.make_tensor_value_info("styled", TensorProto.FLOAT, ["N", 3, "h", "w"])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.full(hidden, 0.1, np.float32), "b1"),
         numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.zeros(3, np.float32), "b2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def tiny_style(path: Path, net_size: int = 64, two_layers: bool = False, **kw) -> Path:
    meta = FrameModelInfo(name="style-tiny", style="tiny", source="tests")
    core = two_layer_style_core() if two_layers else tiny_style_core(**kw)
    onnx.save(stylize_frame_model(core, net_size, meta), path)
    return path
