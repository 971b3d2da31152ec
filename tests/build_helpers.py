"""Tiny frame models and frame folders for the builder tests (generated in code, no blobs)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.graph.colorizer import colorizer_frame_model
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import IR_VERSION, OPSET


def conv_core(net_size: int = 16, seed: int = 0, instance_norm: bool = False) -> onnx.ModelProto:
    """luma [N,1,S,S] -> Conv3x3(4) -> Relu [-> InstanceNorm] -> Conv1x1(2) -> chroma at S."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.05, (4, 1, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (2, 4, 1, 1)).astype(np.float32)
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(4, np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.array([8, -6], np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["luma", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Relu", ["h1"], ["r1"], name="relu1")]
    last = "r1"
    if instance_norm:
        inits += [numpy_helper.from_array(np.ones(4, np.float32), "in_s"),
                  numpy_helper.from_array(np.zeros(4, np.float32), "in_b")]
        nodes.append(helper.make_node("InstanceNormalization", ["r1", "in_s", "in_b"], ["n1"], name="inorm"))
        last = "n1"
    nodes.append(helper.make_node("Conv", [last, "w2", "b2"], ["chroma"], name="conv2"))
    graph = helper.make_graph(
        nodes, "conv_core", [helper.make_tensor_value_info("luma", TensorProto.FLOAT, ["N", 1, net_size, net_size])],
        [helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["N", 2, net_size, net_size])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def conv_colorizer(path: Path, **kw) -> Path:
    onnx.save(colorizer_frame_model(conv_core(**kw), 16, FrameModelInfo(name="conv")), path)
    return path


def image_folder(path: Path, n: int, size: tuple[int, int] = (36, 48), seed: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = np.zeros((*size, 3), np.float32)
        base += np.linspace(0, 255, size[1])[None, :, None] * rng.uniform(0.2, 1, 3)
        img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(path / f"f{i:03d}.png"), img)
    return path
