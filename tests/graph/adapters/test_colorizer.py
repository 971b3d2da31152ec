"""Colorizer adapters: each preset's pre/post-processing checked exactly on stand-ins with a known chroma.

A horizontal gray gradient goes through each wrapped stand-in; away from the borders the output must keep
the frame's lightness (L for the exact merge, BT.601 Y for the fast one) within 3 and carry the stand-in's
known ab (or chroma) within 3. Float OpenCV Lab is the independent reference.
"""

from __future__ import annotations

import json

import colorizer_standins as cs
import cv2
import numpy as np
import onnx
import pytest

from edgecolor.backends import open_engine
from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import CHROMA_FROM_BGR, LUMA_BGR
from edgecolor.errors import InputError, ModelError
from edgecolor.graph.adapters import adapt, is_colorizer_spec
from edgecolor.graph.adapters.colorizer import ColorizerSpec

from fakes import fake_trt  # noqa: F401 - pytest fixture
from helpers import random_bgr

EDGE = 20  # columns left out at each side (bilinear resizes blur the gradient's ends)


def gradient(h: int = 24, w: int = 160) -> np.ndarray:
    row = np.rint(np.linspace(40, 220, w)).astype(np.uint8)
    return np.repeat(np.repeat(row[None, :, None], h, 0), 3, 2)


def lab_of(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(bgr).astype(np.float32) / 255, cv2.COLOR_BGR2Lab)


def expected(name: str, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, ab) the stand-in predicts for gray pixels (deoldify: its chroma, and None)."""
    lightness = lab_of(np.repeat(gray[None, :, None], 3, 2))[0, :, 0]
    if name == "ddcolor":
        return lightness, cs.ab_of_gray(gray / 255)
    return lightness, cs.ab_of_l(lightness)


def wrapped(tmp_path, standin: onnx.ModelProto, text: str) -> OrtEngine:
    onnx.save(adapt(standin, text, "standin"), tmp_path / "m.onnx")
    return OrtEngine(tmp_path / "m.onnx", threads=1)


@pytest.mark.parametrize(("name", "text"), [
    ("zhang", "zhang"), ("zhang", "zhang,merge=exact"), ("zhang-caffe", "zhang-caffe"),
    ("zhang-caffe", "zhang-caffe,merge=exact"), ("ddcolor", "ddcolor"), ("ddcolor", "ddcolor,merge=exact"),
    ("siggraph17", "zhang"),
])
def test_ab_presets_keep_lightness_and_carry_the_known_ab(tmp_path, name, text):
    frame = gradient()
    out = wrapped(tmp_path, cs.STANDINS[name](), text)(frame)[:, EDGE:-EDGE].astype(np.float32)
    gray = frame[0, EDGE:-EDGE, 0].astype(np.float32)
    lightness, ab = expected(name, gray)
    if text.endswith("merge=exact"):  # Lab kept exactly: compare in Lab
        lab = lab_of(out.astype(np.uint8))
        assert np.abs(lab[..., 0] - lightness).max() <= 3
        assert np.abs(lab[..., 1:] - ab).max() <= 3
    else:  # fast merge: the frame's Y kept, the chroma of Lab(L, ab)
        want = cv2.cvtColor(np.concatenate([lightness[:, None], ab], 1)[None].astype(np.float32),
                            cv2.COLOR_Lab2BGR)[0] * 255 @ CHROMA_FROM_BGR.T
        assert np.abs(out @ LUMA_BGR - gray).max() <= 3
        assert np.abs(out @ CHROMA_FROM_BGR.T - want).max() <= 3


@pytest.mark.parametrize("text", ["deoldify", "deoldify,size=dynamic", "deoldify,size=96"])
def test_deoldify_keeps_luma_and_takes_the_output_chroma(tmp_path, text):
    frame = gradient(30, 150)  # not a multiple of 32: padded and cropped back when dynamic
    out = wrapped(tmp_path, cs.deoldify(), text)(frame)[:, EDGE:-EDGE].astype(np.float32)
    gray = frame[0, EDGE:-EDGE, 0].astype(np.float32)
    assert np.abs(out @ LUMA_BGR - gray).max() <= 3
    assert np.abs(out @ CHROMA_FROM_BGR.T - cs.rgb_of_gray(gray)[:, ::-1] @ CHROMA_FROM_BGR.T).max() <= 3


def test_colour_strength_zero_is_gray_and_batches_fill_extras(tmp_path):
    engine = wrapped(tmp_path, cs.zhang(siggraph=True), "zhang")
    assert engine.defaults == {"colour_strength": 1.0}
    frames = np.stack([gradient(), random_bgr(24, 160)])
    out = engine(frames, colour_strength=0.0).astype(np.float32)
    gray = frames.astype(np.float32) @ LUMA_BGR
    assert np.abs(out - gray[..., None]).max() <= 1  # strength 0: the frame's luma in every channel
    assert engine(frames).shape == frames.shape


def test_adapted_colorizer_runs_as_graph_on_auto(tmp_path):
    onnx.save(adapt(cs.zhang(), "zhang"), tmp_path / "m.onnx")
    assert open_engine(tmp_path / "m.onnx", cpu_path="auto", threads=1).backend == "onnxruntime"
    with pytest.raises(ModelError, match="adapted colorizer"):
        open_engine(tmp_path / "m.onnx", cpu_path="split", threads=1)


def test_spec_parsing(tmp_path):
    assert is_colorizer_spec("zhang") and is_colorizer_spec("input=l,output=ab")
    assert not is_colorizer_spec("layout=nchw,order=rgb")
    spec = ColorizerSpec.parse("zhang-caffe,merge=exact,size=224,strength=0.8")
    assert (spec.l_offset, spec.merge, spec.size, spec.strength) == (50.0, "exact", (224, 224), 0.8)
    assert ColorizerSpec.parse("input=gray-rgb,range=0:1,output=ab").input == "gray-rgb"
    (tmp_path / "spec.json").write_text(json.dumps({"preset": "ddcolor", "merge": "exact", "size": "256x256",
                                                     "range": [0, 1], "extras": {"hint": 0}}))
    assert is_colorizer_spec(str(tmp_path / "spec.json"))
    spec = ColorizerSpec.parse(str(tmp_path / "spec.json"))
    assert (spec.input, spec.merge, spec.size, spec.extras) == ("gray-rgb", "exact", (256, 256), {"hint": 0.0})
    for bad in ["zhang,merge=slow", "nope", "zhang,colour=1", "zhang,range=1:0", "zhang,size=0"]:
        with pytest.raises(InputError):
            ColorizerSpec.parse(bad)


@pytest.mark.parametrize(("standin", "text", "match"), [
    (lambda: cs.zhang(in_channels=3), "zhang", r"expects a float \[N, 1, H, W\] input"),
    (cs.deoldify, "zhang", r"expects a float \[N, 1, H, W\] input"),
    (cs.zhang, "deoldify", r"expects a float \[N, 3, H, W\] input"),
    (lambda: cs.zhang(out_dims=["N", 2, 56, 57]), "zhang", "does not cover the input"),
    (lambda: cs.zhang(size="s"), "zhang", "dynamic height/width"),
    (cs.zhang, "zhang,size=224", "fixed at 256x256"),
    (cs.zhang, "zhang,size=dynamic", "not dynamic"),
    (cs.zhang, "zhang,extra.hint=0", "not an input of the network"),
])
def test_bad_models_are_refused_in_one_line(standin, text, match):
    with pytest.raises(InputError, match=match) as err:
        adapt(standin(), text)
    assert "\n" not in str(err.value)


def _cli(*args: object) -> tuple[int, str]:
    from typer.testing import CliRunner

    from edgecolor.cli import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def test_cli_builds_a_preset_and_refuses_a_mismatch_in_one_line(tmp_path):
    onnx.save(cs.zhang_caffe(), tmp_path / "caffe.onnx")
    code, _ = _cli("build", tmp_path / "caffe.onnx", "--adapter", "zhang-caffe", "--precision", "fp32",
                   "-o", tmp_path / "e.onnx")
    assert code == 0
    info = open_engine(tmp_path / "e.onnx", cpu_path="auto", threads=1).info
    assert info.task == "colorize" and info.net_size == "224x224"
    onnx.save(cs.zhang(in_channels=3), tmp_path / "rgb.onnx")
    code, out = _cli("build", tmp_path / "rgb.onnx", "--adapter", "zhang", "--precision", "fp32",
                     "-o", tmp_path / "bad.onnx")
    errors = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "expects a float [N, 1, H, W] input" in errors[0]
    assert not (tmp_path / "bad.onnx").exists()


def test_adapted_colorizer_builds_int8_for_tensorrt(tmp_path, monkeypatch, fake_trt):  # noqa: F811
    """Through the strict TensorRT fakes (10.3, 10.13, 11.1): API calls only, TensorRT itself is not run."""
    from edgecolor.backends.tensorrt import build as trt_backend
    from edgecolor.builder.pipeline import BuildConfig, build

    from build_helpers import image_folder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(trt_backend, "gpu_identity", lambda: {"name": "Orin", "compute_capability": "8.7"})
    onnx.save(cs.zhang_caffe(), tmp_path / "caffe.onnx")
    cfg = BuildConfig(str(tmp_path / "caffe.onnx"), "int8", "trt", calib=image_folder(tmp_path / "f", 10),
                      calib_frames=8, holdout_frames=2, adapter="zhang-caffe", threads=1,
                      gate_data=str(image_folder(tmp_path / "g", 4, seed=99)))
    manifest = build(cfg)
    assert manifest["task"] == "colorize" and manifest["gate"]["passed"]
    assert manifest["qdq"]["on_output"] == [] and manifest["qdq"]["on_colour_math"] == []
    assert "--adapter zhang-caffe" in manifest["rebuild_command"]
