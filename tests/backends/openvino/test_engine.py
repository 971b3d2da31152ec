"""The colorizer's network on OpenVINO (split path): same output as ONNX Runtime's split path."""

import re
import sys

import cv2
import numpy as np
import pytest

from edgecolor.backends import open_engine
from edgecolor.backends.onnxruntime.split import SplitColorizerEngine
from edgecolor.errors import InputError, MissingDependency, ModelError, install_command

from helpers import random_bgr, tiny_colorizer
from style_helpers import tiny_style


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx", net_size=32, gain=0.5)


def _frame(h, w, seed):
    return cv2.GaussianBlur(random_bgr(h, w, seed), (0, 0), 3)


@pytest.mark.parametrize(("path", "tolerance"), [("openvino", 1), ("openvino-bf16", 4)])
def test_agrees_with_onnxruntime_split(model, path, tolerance):
    pytest.importorskip("openvino")
    ort_split = SplitColorizerEngine(model, threads=1)
    engine = open_engine(model, cpu_path=path, threads=1)
    assert engine.backend.startswith("openvino")
    frames = np.stack([_frame(48, 64, 1), _frame(48, 64, 2)])
    for strength in (0.0, 1.0):
        ref = ort_split(frames, colour_strength=strength).astype(int)
        diff = np.abs(engine(frames, colour_strength=strength).astype(int) - ref)
        assert diff.max() <= tolerance, diff.max()


def test_style_network_on_openvino_pre_post_on_onnxruntime(tmp_path):
    pytest.importorskip("openvino")
    from edgecolor.backends.onnxruntime import OrtEngine

    path = tiny_style(tmp_path / "s.onnx")
    engine, ref = open_engine(path, cpu_path="openvino", threads=1), OrtEngine(path, threads=1)
    assert engine.backend == "openvino-f32+onnxruntime"
    frames = np.stack([_frame(40, 52, 3), _frame(40, 52, 4)])
    assert np.abs(engine(frames, strength=0.7).astype(int) - ref(frames, strength=0.7).astype(int)).max() <= 1


def test_refuses_bad_precisions_and_onnxruntime_fused_graphs(tmp_path, model):
    pytest.importorskip("openvino")
    from edgecolor.backends.openvino.engine import OpenVinoColorizerEngine

    with pytest.raises(InputError, match="precision"):
        OpenVinoColorizerEngine(model, precision="fp8")
    import onnx

    m = onnx.load(model)
    conv = next(n for n in m.graph.node if n.output[0] == "net/chroma")
    conv.domain = "com.microsoft"  # as in an ONNX Runtime-optimised INT8 engine (QLinearConv etc.)
    m.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(m, tmp_path / "fused.onnx")
    with pytest.raises(ModelError, match="ONNX Runtime-specific"):
        OpenVinoColorizerEngine(tmp_path / "fused.onnx")


def test_missing_openvino_names_the_extra(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(MissingDependency, match=re.escape(install_command("openvino"))):
        open_engine(model, cpu_path="openvino")
