"""Tiny models generated in code (no checked-in blobs) shared by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.graph.frame import IR_VERSION, OPSET, colorizer_frame_model


def tiny_core(net_size: int = 16, cb: float = 20.0, cr: float = -10.0, gain: float = 0.0) -> onnx.ModelProto:
    """A stand-in colorizer core: chroma = (cb, cr) + gain * (avgpool2(luma) - 128), at half resolution."""
    w = np.array([[[[gain]]], [[[gain]]]], np.float32)  # [2,1,1,1]
    b = np.array([cb - 128 * gain, cr - 128 * gain], np.float32)
    nodes = [
        helper.make_node("AveragePool", ["luma"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pooled", "w", "b"], ["chroma"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_core",
        [helper.make_tensor_value_info("luma", TensorProto.FLOAT, ["N", 1, net_size, net_size])],
        [helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["N", 2, net_size // 2, net_size // 2])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def tiny_colorizer(path: Path, net_size: int = 16, strength: float = 1.0, **kw: float) -> Path:
    model = colorizer_frame_model(tiny_core(net_size, **kw), net_size, {"edgecolor.name": "tiny"}, strength)
    onnx.save(model, path)
    return path


def random_bgr(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_clip(path: Path, frames: int, size: tuple[int, int] = (32, 24), fourcc: str = "MJPG",
               fps: float = 10) -> Path:
    """A small video of ``frames`` random frames (frame k from seed k), ``size`` = (width, height)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    for k in range(frames):
        writer.write(random_bgr(size[1], size[0], k))
    writer.release()
    return path
