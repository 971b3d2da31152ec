"""The frame-model contract on a tiny generated colorizer: dtype, layout, dynamic sizes, colour math."""

import numpy as np
import onnx
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import BGR_FROM_CHROMA, LUMA_BGR
from edgecolor.errors import InputError, ModelError

from helpers import random_bgr, tiny_colorizer


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return OrtEngine(tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx"), threads=1)


def test_io_signature(tmp_path):
    model = onnx.load(tiny_colorizer(tmp_path / "t.onnx"))
    (inp,) = [i for i in model.graph.input if i.name == "frame"]
    (out,) = model.graph.output
    for vi in (inp, out):
        tt = vi.type.tensor_type
        assert tt.elem_type == onnx.TensorProto.UINT8
        dims = [d.dim_param or d.dim_value for d in tt.shape.dim]
        assert dims == ["N", "H", "W", 3]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["edgecolor.task"] == "colorize" and "colour_strength" in meta["edgecolor.extra_inputs"]


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 31), (480, 640), (2160, 3840)])
def test_dynamic_sizes(engine, shape):
    out = engine(random_bgr(*shape))
    assert out.shape == (*shape, 3) and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]


def test_batch_keeps_frames_independent(engine):
    a, b = random_bgr(20, 30, 1), random_bgr(20, 30, 2)
    batch = engine(np.stack([a, b]))
    assert batch.shape == (2, 20, 30, 3)
    assert np.array_equal(batch[0], engine(a)) and np.array_equal(batch[1], engine(b))


def test_constant_chroma_matches_numpy_reference(engine):
    """With a constant-chroma core the output is luma + the BT.601 offsets, within 1 LSB."""
    img = random_bgr(40, 60, 5)
    luma = img.astype(np.float32) @ LUMA_BGR
    ref = np.clip(np.rint(luma[..., None] + BGR_FROM_CHROMA @ np.array([20.0, -10.0], np.float32)), 0, 255)
    assert np.abs(engine(img).astype(int) - ref).max() <= 1


def test_strength_zero_gives_opencv_gray(engine):
    import cv2

    img = random_bgr(33, 47, 6)
    out = engine(img, colour_strength=0.0)
    assert np.abs(out.astype(int) - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]).max() <= 1


def test_strength_scales_chroma(engine):
    img = np.full((8, 8, 3), 128, np.uint8)
    d1 = engine(img, colour_strength=1.0).astype(int) - 128
    d2 = engine(img, colour_strength=2.0).astype(int) - 128
    assert np.abs(d2 - 2 * d1).max() <= 1 and np.abs(d1).max() > 5


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((4, 4, 4), np.uint8)])
def test_bad_frames_raise_input_error(engine, bad):
    with pytest.raises(InputError):
        engine(bad)


def test_unknown_extra_input_raises(engine):
    with pytest.raises(InputError, match="unknown model input"):
        engine(random_bgr(4, 4), strength=1.0)


def test_non_frame_model_is_refused(tmp_path):
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, tmp_path / "relu.onnx")
    with pytest.raises(ModelError, match="not a frame model"):
        OrtEngine(tmp_path / "relu.onnx")


def test_corrupt_model_is_refused(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="cannot load"):
        OrtEngine(tmp_path / "bad.onnx")


def test_network_boundary_survives_onnx_runtime_optimisation(tmp_path):
    """The CPU fast path cuts the network out at net/luma -> net/chroma, also from optimised CPU engines."""
    import onnxruntime as ort

    path = tiny_colorizer(tmp_path / "t.onnx")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    produced = {o for n in onnx.load(tmp_path / "opt.onnx").graph.node for o in n.output}
    assert {"net/luma", "net/chroma"} <= produced


def test_chroma_curve_fades_faint_chroma_inside_the_network_and_replaces_any_earlier_curve(tmp_path):
    """The curve is c * min((|c| / 10) ** g, 4) on the network's chroma, between net/luma and net/chroma (so
    the CPU fast path's core runs it too); a new exponent replaces the old curve and 0 removes it."""
    import json

    import onnxruntime as ort

    from edgecolor.backends.onnxruntime.split import extract_core
    from edgecolor.graph.colorizer import with_chroma_curve
    from edgecolor.graph.contract import FrameModelInfo

    plain = onnx.load(tiny_colorizer(tmp_path / "t.onnx", cb=0, cr=0, gain=0.5))  # chroma 0.5 (luma - 128)
    curved = with_chroma_curve(plain, 0.75)
    luma = np.random.default_rng(0).uniform(0, 255, (2, 1, 16, 16)).astype(np.float32)

    def core(model):
        session = ort.InferenceSession(extract_core(model, 16).SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, {"net/luma": luma})[0]

    raw, got = core(plain), core(curved)
    length = np.sqrt((raw ** 2).sum(1, keepdims=True))
    assert length.min() < 5 and length.max() > 64  # faint, strong and capped chroma all occur
    np.testing.assert_allclose(got, raw * np.minimum((length / 10) ** 0.75, 4), rtol=1e-5, atol=1e-4)
    assert np.abs(got[np.broadcast_to(length < 5, got.shape)]).max() < np.abs(raw).max() * 0.1

    assert json.loads(FrameModelInfo.read(curved).chroma_curve)["gamma"] == 0.75
    assert with_chroma_curve(with_chroma_curve(plain, 0.5), 0.75).graph == curved.graph
    removed = with_chroma_curve(curved, 0.0)
    assert removed.graph == plain.graph and FrameModelInfo.read(removed).chroma_curve is None
    for node in removed.graph.node:  # a graph without the network boundary (e.g. a style model)
        node.output[:] = [o.replace("net/", "x/") for o in node.output]
    with pytest.raises(ModelError, match="no net/chroma"):
        with_chroma_curve(removed, 0.5)
