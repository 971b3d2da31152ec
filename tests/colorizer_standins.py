"""Tiny stand-ins with the I/O contracts of published colorizers, and a known chroma function.

Each is one 1x1 convolution (plus a 4x pool for the Caffe model's 56x56 output), so a test can compute
the exact colour the adapter must produce. ``python tests/colorizer_standins.py DIR`` writes them.

- zhang:       ``data_l`` [N,1,256,256] L 0..100 -> ab [N,2,256,256]: a = 0.2 L - 10, b = 15 - 0.1 L
               (with ``siggraph=True`` also ``user_ab`` [N,2,256,256] added to ab, ``user_map`` [N,1,256,256])
- zhang-caffe: ``data_l`` [N,1,224,224] L - 50 -> ab [N,2,56,56], the same function of L
- ddcolor:     ``input`` [N,3,512,512] RGB 0..1 -> ``output`` ab: a = 20 g - 10, b = 8 - 10 g (g: mean RGB)
- deoldify:    ``input`` [N,3,H,W] RGB 0..255 -> ``output`` RGB: R' = 1.1 R - 5, G' = G, B' = 0.9 B + 10
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def ab_of_l(lightness: np.ndarray) -> np.ndarray:
    """The zhang stand-ins' ab for CIE L."""
    return np.stack([0.2 * lightness - 10, 15 - 0.1 * lightness], axis=-1)


def ab_of_gray(g01: np.ndarray) -> np.ndarray:
    """The ddcolor stand-in's ab for its gray input (0..1)."""
    return np.stack([20 * g01 - 10, 8 - 10 * g01], axis=-1)


def rgb_of_gray(g255: np.ndarray) -> np.ndarray:
    """The deoldify stand-in's RGB output for its gray input (0..255)."""
    return np.stack([1.1 * g255 - 5, g255, 0.9 * g255 + 10], axis=-1)


def _model(nodes: list, inputs: list, outputs: list, inits: dict[str, np.ndarray], opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "standin", inputs, outputs,
                              [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _vi(name: str, dims: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def zhang(size: int | str = 256, siggraph: bool = False, in_channels: int = 1,
          out_dims: list | None = None) -> onnx.ModelProto:
    h = w = size
    conv_in, weights = "data_l", np.array([[0.2], [-0.1]])
    inputs = [_vi("data_l", ["N", in_channels, h, w])]
    nodes = []
    if siggraph:
        inputs += [_vi("user_ab", ["N", 2, h, w]), _vi("user_map", ["N", 1, h, w])]
        nodes.append(helper.make_node("Concat", ["data_l", "user_ab", "user_map"], ["x"], axis=1))
        conv_in, weights = "x", np.array([[0.2, 1, 0, 0], [-0.1, 0, 1, 0]])
    weights = np.repeat(weights / in_channels, in_channels, axis=1) if in_channels > 1 else weights
    nodes.append(helper.make_node("Conv", [conv_in, "w", "b"], ["ab"]))
    out = out_dims or ["N", 2, h, w]
    if out_dims:  # a deliberately wrong output size (for the refusal tests)
        nodes[-1].output[0] = "ab_full"
        nodes.append(helper.make_node("Slice", ["ab_full", "st", "en", "ax"], ["ab"]))
        return _model(nodes, inputs, [_vi("ab", out)],
                      {"w": weights.reshape(2, -1, 1, 1), "b": np.array([-10, 15]),
                       "st": np.array([0, 0]), "en": np.array(out_dims[2:]), "ax": np.array([2, 3])})
    return _model(nodes, inputs, [_vi("ab", out)], {"w": weights.reshape(2, -1, 1, 1), "b": np.array([-10, 15])})


def zhang_caffe() -> onnx.ModelProto:
    # x = L - 50: a = 0.2 x, b = 10 - 0.1 x  (= 0.2 L - 10, 15 - 0.1 L)
    nodes = [helper.make_node("Conv", ["data_l", "w", "b"], ["ab224"]),
             helper.make_node("AveragePool", ["ab224"], ["class8_ab"], kernel_shape=[4, 4], strides=[4, 4])]
    return _model(nodes, [_vi("data_l", ["N", 1, 224, 224])], [_vi("class8_ab", ["N", 2, 56, 56])],
                  {"w": np.array([0.2, -0.1]).reshape(2, 1, 1, 1), "b": np.array([0, 10])}, opset=11)


def ddcolor(size: int = 512) -> onnx.ModelProto:
    w = np.array([[20 / 3] * 3, [-10 / 3] * 3]).reshape(2, 3, 1, 1)
    return _model([helper.make_node("Conv", ["input", "w", "b"], ["output"])],
                  [_vi("input", ["N", 3, size, size])], [_vi("output", ["N", 2, size, size])],
                  {"w": w, "b": np.array([-10, 8])})


def deoldify() -> onnx.ModelProto:
    w = np.diag([1.1, 1.0, 0.9]).reshape(3, 3, 1, 1)
    return _model([helper.make_node("Conv", ["input", "w", "b"], ["output"])],
                  [_vi("input", ["N", 3, "height", "width"])], [_vi("output", ["N", 3, "height", "width"])],
                  {"w": w, "b": np.array([-5, 0, 10])})


STANDINS = {"zhang": zhang, "zhang-caffe": zhang_caffe, "ddcolor": ddcolor, "deoldify": deoldify,
            "siggraph17": lambda: zhang(siggraph=True)}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "standins")
    out.mkdir(parents=True, exist_ok=True)
    for name, make in STANDINS.items():
        onnx.save(make(), out / f"{name}-standin.onnx")
        print(out / f"{name}-standin.onnx")
