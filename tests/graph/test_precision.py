"""FP16 and INT8 Q/DQ graphs: what changes precision, what must not, and where Q/DQ may go."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.errors import InputError
from edgecolor.graph.calibration import FrameReader
from edgecolor.graph.colorizer import colorizer_frame_model
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.precision import Int8Options, qdq_report, quantize_int8, to_fp16

from build_helpers import conv_colorizer, conv_core
from helpers import random_bgr

FRAMES = tuple(random_bgr(24, 32, s) for s in range(6))


def emulated(path: object, frame: np.ndarray) -> np.ndarray:
    """The Q/DQ graph run op by op, as the spec defines it and as the gate judges a TensorRT graph: a signed
    graph's fused integer kernels on an x86 CPU without VNNI saturate, which says nothing of TensorRT's."""
    return OrtEngine(str(path), threads=1, op_by_op=True)(frame)


def test_fp16_keeps_colour_math_and_io_fp32(tmp_path):
    model = onnx.load(conv_colorizer(tmp_path / "m.onnx"))
    half = to_fp16(model)
    types = {t.name: t.data_type for t in half.graph.initializer}
    assert types["net/w1"] == onnx.TensorProto.FLOAT16 and types["net/w2"] == onnx.TensorProto.FLOAT16
    colour = [n for n, t in types.items() if n.startswith(("pre/", "post/")) and t != onnx.TensorProto.INT64]
    assert colour and all(types[n] == onnx.TensorProto.FLOAT for n in colour)
    assert types["colour_strength"] == onnx.TensorProto.FLOAT
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    onnx.save(half, tmp_path / "h.onnx")
    ref, var = OrtEngine(tmp_path / "m.onnx", threads=1), OrtEngine(tmp_path / "h.onnx", threads=1)
    for f in FRAMES[:2]:
        assert np.abs(ref(f).astype(int) - var(f).astype(int)).max() <= 1


def test_fp16_keeps_instance_norm_fp32(tmp_path):
    model = colorizer_frame_model(conv_core(instance_norm=True), 16, FrameModelInfo())
    half = to_fp16(model)
    types = {t.name: t.data_type for t in half.graph.initializer}
    assert types["net/in_s"] == onnx.TensorProto.FLOAT and types["net/w1"] == onnx.TensorProto.FLOAT16


@pytest.mark.parametrize("target", ["trt", "cpu"])
def test_qdq_placement(tmp_path, target):
    src = conv_colorizer(tmp_path / "m.onnx")
    out = tmp_path / "q.onnx"
    opts = Int8Options(target=target, method="max", narrow_fp32=False)  # conv_core's convolutions are all narrow
    quantize_int8(src, out, FrameReader(FRAMES), opts, tmp_path / "c.json")
    q = onnx.load(out)
    report = qdq_report(q)
    assert report["quantize"] >= 2 and report["on_output"] == [] and report["on_colour_math"] == []
    assert report["conv_weight_axes"] == {"net/conv1": 0, "net/conv2": 0}  # output-channel axis of Conv weights
    qdq_nodes = [n for n in q.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert not any(n.name.startswith(("pre/", "post/")) for n in qdq_nodes)
    consumers = {i for n in q.graph.node if n.name.startswith(("pre/", "post/")) for i in n.input}
    assert not any(set(n.output) & consumers for n in qdq_nodes)  # colour math never reads a DQ output
    zps = {t.name: t for t in q.graph.initializer if t.name.endswith("zero_point")}
    act = [zps[n.input[2]] for n in q.graph.node if n.op_type == "QuantizeLinear"]  # Q only on activations
    want = onnx.TensorProto.INT8 if target == "trt" else onnx.TensorProto.UINT8
    assert act and all(t.data_type == want for t in act)
    if target == "trt":
        assert all(not onnx.numpy_helper.to_array(t).any() for t in act)  # symmetric: zero points 0
    diff = np.abs(OrtEngine(src, threads=1)(FRAMES[0]).astype(int) - emulated(out, FRAMES[0]).astype(int))
    assert diff.mean() < 2.0


def test_keep_fp32_leaves_named_layer_unquantised(tmp_path):
    src = conv_colorizer(tmp_path / "m.onnx")
    out = tmp_path / "q.onnx"
    opts = Int8Options(target="trt", method="max", keep_fp32=("net/conv2",))
    quantize_int8(src, out, FrameReader(FRAMES), opts, tmp_path / "c.json")
    assert set(qdq_report(onnx.load(out))["conv_weight_axes"]) == {"net/conv1"}


@pytest.mark.parametrize("kw", [{"target": "gpu"}, {"method": "kl"}, {"percentile": 50.0}])
def test_bad_options(kw):
    with pytest.raises(InputError):
        Int8Options(**kw)


def test_max_calibration_sees_every_frame(tmp_path):
    """ONNX Runtime's MinMax calibrator dropped full chunks of CalibMaxIntermediateOutputs frames: 16 frames
    failed with "No data is collected", 10 took their range from the last 2 only."""
    white, dark = np.full((24, 32, 3), 255, np.uint8), np.full((24, 32, 3), 20, np.uint8)
    src = conv_colorizer(tmp_path / "m.onnx")

    def scales(frames: tuple) -> dict[str, float]:
        out = tmp_path / f"q{len(frames)}.onnx"
        quantize_int8(src, out, FrameReader(frames), Int8Options(method="max"), tmp_path / f"c{len(frames)}.json")
        q = onnx.load(out)
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in q.graph.initializer}
        return {n.input[0]: float(inits[n.input[1]]) for n in q.graph.node if n.op_type == "QuantizeLinear"}

    assert scales((white, *[dark] * 15)) == pytest.approx(scales((white, dark)))


@pytest.mark.parametrize(("target", "kept"), [("cpu", ["net/conv1", "net/conv2"]), ("trt", [])])
def test_narrow_convolutions_stay_float_on_the_cpu_target(tmp_path, target, kept):
    """conv_core's 1 -> 4 and 4 -> 2 convolutions have <= 4 output channels: float on the CPU target only."""
    src = conv_colorizer(tmp_path / "m.onnx")
    out = tmp_path / "q.onnx"
    assert quantize_int8(src, out, FrameReader(FRAMES), Int8Options(target=target, method="max"),
                         tmp_path / "c.json") == kept
    assert set(qdq_report(onnx.load(out))["conv_weight_axes"]).isdisjoint(kept)


def test_int8_preprocessing_leaves_nothing_in_the_working_directory(tmp_path, monkeypatch):
    # A style network's dynamic Resize makes ONNX Runtime's symbolic shape inference give up, and on giving up
    # it writes sym_shape_infer_temp.onnx and a UUID.data file into the current directory.
    from edgecolor.graph.precision import prepare_for_int8
    from edgecolor.registry import resolve_model

    cwd, work = tmp_path / "cwd", tmp_path / "work"
    cwd.mkdir()
    work.mkdir()
    monkeypatch.chdir(cwd)
    facts = prepare_for_int8(resolve_model("starry-night"), work / "prepared.onnx")
    assert (work / "prepared.onnx").is_file() and facts
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("target", ["trt", "cpu"])
def test_the_chroma_curve_reads_float_chroma_in_int8_and_fp16_graphs(tmp_path, target):
    """The curve's nodes are network nodes (the CPU fast path runs them), but like the colour math they read
    the last convolution's chroma unquantised, and FP16 builds keep its Pow and ReduceL2 in FP32."""
    from edgecolor.graph.colorizer import with_chroma_curve
    from edgecolor.graph.contract import CURVE_SCOPE, RAW_CHROMA

    src = tmp_path / "curved.onnx"
    onnx.save(with_chroma_curve(onnx.load(conv_colorizer(tmp_path / "m.onnx")), 0.75), src)
    out = tmp_path / "q.onnx"
    quantize_int8(src, out, FrameReader(FRAMES), Int8Options(target=target, method="max", narrow_fp32=False),
                  tmp_path / "c.json")
    q = onnx.load(out)
    curve = [n for n in q.graph.node if n.name.startswith(CURVE_SCOPE)]
    assert curve and qdq_report(q)["on_colour_math"] == []
    assert {i for n in curve for i in n.input if not i.startswith(CURVE_SCOPE)} == {RAW_CHROMA}
    half = to_fp16(onnx.load(src))
    producers = {o: n for n in half.graph.node for o in n.output}
    kept = [n for n in half.graph.node if n.name.startswith(CURVE_SCOPE) and n.op_type in ("Pow", "ReduceL2")]
    assert sorted(n.op_type for n in kept) == ["Pow", "ReduceL2"]
    for node in kept:
        cast = producers[node.input[0]]  # the converter casts a kept-FP32 node's FP16 input back to FP32
        assert cast.op_type == "Cast" and cast.attribute[0].i == onnx.TensorProto.FLOAT, node.name
    onnx.save(half, tmp_path / "h.onnx")
    ref = OrtEngine(src, threads=1)
    for variant in (out, tmp_path / "h.onnx"):
        assert np.abs(ref(FRAMES[0]).astype(int) - emulated(variant, FRAMES[0]).astype(int)).mean() < 2.0
