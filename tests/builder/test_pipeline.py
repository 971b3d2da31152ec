"""The build pipeline on ONNX Runtime CPU: engines + manifests, gate failure, staleness, atomicity, bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from edgecolor.backends import manifest as mf
from edgecolor.builder import pipeline as builder
from edgecolor.builder.gate import GateFailed
from edgecolor.builder.pipeline import BuildConfig, build
from edgecolor.choices import Overwrite
from edgecolor.cli import app

from build_helpers import conv_colorizer, image_folder


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conv_colorizer(tmp_path / "m.onnx")
    image_folder(tmp_path / "frames", 12)
    image_folder(tmp_path / "truth", 4, seed=7)  # colour photos for the colorizer's gate
    return tmp_path


def cfg(work, **kw) -> BuildConfig:
    base = {"model": str(work / "m.onnx"), "precision": "int8", "target": "cpu", "calib": work / "frames",
            "calib_frames": 10, "holdout_frames": 2, "calib_method": "max", "threads": 1, "gate_data": work / "truth"}
    return BuildConfig(**{**base, **kw})


def test_int8_cpu_build_manifest_and_cache(work):
    from edgecolor.backends.onnxruntime import OrtEngine

    manifest = build(cfg(work))
    engine = work / "engines" / "m-int8-cpu.onnx"
    assert engine.is_file() and mf.manifest_path(engine).is_file()
    on_disk = json.loads(mf.manifest_path(engine).read_text())
    assert on_disk["engine_sha256"] == mf.sha256_file(engine) == manifest["engine_sha256"]
    gate = on_disk["gate"]
    assert gate["passed"] and gate["frames"] == 2 and gate["criterion"] == "loss_db vs ground truth"
    assert on_disk["calibration_cache"] == "miss" and on_disk["calibration"]["activations"] == "uint8 asymmetric"
    out = OrtEngine(engine, threads=1)(np.zeros((20, 30, 3), np.uint8))
    assert out.shape == (20, 30, 3)
    assert build(cfg(work), overwrite=Overwrite.YES)["calibration_cache"] == "hit"
    again = build(cfg(work, calib_method="percentile"), overwrite=Overwrite.YES)
    assert again["calibration_cache"] == "miss"  # other method: other key


def test_gate_failure_names_remedy_and_writes_nothing(work, monkeypatch):
    import dataclasses

    from edgecolor.builder.precisions import RECIPES
    from edgecolor.choices import Precision

    impossible = dataclasses.replace(RECIPES[Precision.INT8], max_loss_db=-1.0)  # must gain 1 dB
    monkeypatch.setitem(RECIPES, Precision.INT8, impossible)
    with pytest.raises(GateFailed, match="--calib-method"):
        build(cfg(work))
    assert not (work / "engines").exists() or list((work / "engines").iterdir()) == []


def test_sensitivity_pass_keeps_layers_fp32(work, monkeypatch):

    calls = []

    def fake_evaluate(fp32, variant, frames, precision, task, limits, threads, on_frame=None, backend=None):
        kept = "-0." not in variant.name  # the first graph keeps nothing FP32
        calls.append(variant.name)
        return {"precision": precision, "frames": len(frames), "psnr_vs_fp32_db": 50.0, "delta_e_vs_fp32": 0.1,
                "verdict": "x", "passed": kept, "summary": "stub"}

    monkeypatch.setattr(builder, "evaluate", fake_evaluate)
    manifest = build(cfg(work, auto_sensitivity=True))
    assert len(manifest["kept_fp32"]) == 1 and manifest["kept_fp32"][0] in ("net/conv1", "net/relu1", "net/conv2")
    assert "--keep-fp32" in manifest["rebuild_command"] and calls == ["int8-0.onnx", "int8-1.onnx"]


def test_manifest_mismatch_and_rebuild(work):
    c = cfg(work, precision="fp16")
    build(c)
    assert mf.check(c.engine_path).precision == "fp16"
    conv_colorizer(work / "m.onnx", seed=3)  # the source ONNX changes
    with pytest.raises(mf.StaleEngine, match="source ONNX") as stale:
        mf.check(c.engine_path)
    builder.rebuild(stale.value.manifest)  # what build --rebuild-if-stale does
    assert mf.check(c.engine_path).source_sha256 == mf.sha256_file(work / "m.onnx")
    data = json.loads(mf.manifest_path(c.engine_path).read_text())
    data["backend_version"] = "0.1.0"
    mf.manifest_path(c.engine_path).write_text(json.dumps(data))
    with pytest.raises(mf.StaleEngine, match="onnxruntime 0.1.0"):
        mf.check(c.engine_path)
    from edgecolor.backends import open_engine

    with pytest.raises(mf.StaleEngine, match="onnxruntime 0.1.0"):
        open_engine(c.engine_path, cpu_path="graph", threads=1)  # the one loader checks CPU engines' manifests too
    with pytest.raises(mf.StaleEngine) as stale:
        open_engine(c.engine_path, cpu_path="graph", threads=1)
    builder.rebuild(stale.value.manifest)
    engine = open_engine(c.engine_path, cpu_path="graph", threads=1)  # rebuilt, then opened
    assert engine(np.zeros((8, 8, 3), np.uint8)).shape == (8, 8, 3)
    assert json.loads(mf.manifest_path(c.engine_path).read_text())["backend_version"] != "0.1.0"
    mf.manifest_path(c.engine_path).unlink()
    with pytest.raises(mf.StaleEngine, match="no manifest"):
        mf.check(c.engine_path)


def test_interrupted_build_leaves_no_engine(work, monkeypatch):
    import onnxruntime as ort

    real = ort.InferenceSession

    def interrupted(path, opts=None, providers=None):
        if opts is not None and opts.optimized_model_filepath:
            open(opts.optimized_model_filepath, "wb").write(b"half an engine")
            raise KeyboardInterrupt
        return real(path, opts, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(cfg(work, precision="fp32"))
    assert list((work / "engines").iterdir()) == []


runner = CliRunner()


def _cli(*args):
    res = runner.invoke(app, ["build", *map(str, args)])
    return res.exit_code, res.output


def test_cli_success_prints_gate(work):
    code, out = _cli(work / "m.onnx", "--precision", "fp16", "--gate-data", work / "truth", "--threads", "1")
    assert code == 0 and "than FP32 against the colour truth" in out and "-> pass" in out


def _model(path, dtype, dims):
    graph = helper.make_graph([helper.make_node("Identity", ["frame"], ["y"])], "g",
                              [helper.make_tensor_value_info("frame", dtype, dims)],
                              [helper.make_tensor_value_info("y", dtype, dims)])
    onnx.save(helper.make_model(graph), path)
    return path


@pytest.mark.parametrize("case", ["vector", "float_frame", "missing_calib", "few_frames", "unreadable", "trt",
                                  "adapter_vector"])
def test_cli_bad_input_is_one_line_exit_2(work, monkeypatch, case):
    args = [work / "m.onnx", "--precision", "int8", "--calib", work / "frames", "--calib-frames", "10"]
    if case == "vector":
        args[0] = _model(work / "v.onnx", TensorProto.UINT8, [1, 10])
    elif case == "adapter_vector":
        args[0] = _model(work / "v.onnx", TensorProto.FLOAT, [1, 10])
        args += ["--adapter", "layout=nchw"]
    elif case == "float_frame":
        args[0] = _model(work / "f.onnx", TensorProto.FLOAT, ["N", "H", "W", 3])
    elif case == "missing_calib":
        args[4] = work / "nope"
    elif case == "few_frames":
        args[4] = image_folder(work / "few", 4)
    elif case == "unreadable":
        (work / "frames" / "f000.png").write_bytes(b"garbage")  # the first frame is always sampled
    else:
        monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails as if not installed
        args += ["--target", "trt"]
    code, out = _cli(*args)
    assert code == 2, out
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1
    if case == "trt":
        assert "pip install 'edgecolor[trt]'" in out
    if case == "unreadable":
        assert "f000.png" in lines[0], lines[0]
    assert not (work / "engines").exists() or list((work / "engines").iterdir()) == []


def _padded_colorizer(path):
    """luma -> Conv 1->8 -> Relu -> zero Pad -> Conv 8->8 (no pads) -> Clip (ReLU6) -> Conv 8->2 -> chroma: the
    middle layer as EfficientNet exports it ("same" padding as an explicit Pad); 8 channels so that it is not
    one of the narrow convolutions kept float on the CPU."""
    from edgecolor.graph.colorizer import colorizer_frame_model
    from edgecolor.graph.contract import FrameModelInfo
    from edgecolor.graph.pieces import IR_VERSION, OPSET

    rng = np.random.default_rng(0)
    arrays = {"w1": rng.normal(0, 0.3, (8, 1, 3, 3)), "b1": np.zeros(8), "wm": rng.normal(0, 0.2, (8, 8, 3, 3)),
              "bm": np.zeros(8), "w2": rng.normal(0, 0.5, (2, 8, 1, 1)), "b2": np.array([8.0, -6.0]),
              "zero": np.array(0.0), "six": np.array(6.0)}
    inits = [onnx.numpy_helper.from_array(v.astype(np.float32), k) for k, v in arrays.items()]
    inits.append(onnx.numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"))
    nodes = [helper.make_node("Conv", ["luma", "w1", "b1"], ["h1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
             helper.make_node("Pad", ["r1", "pads"], ["p1"], mode="constant", name="pad1"),
             helper.make_node("Conv", ["p1", "wm", "bm"], ["hm"], name="conv_mid"),
             helper.make_node("Clip", ["hm", "zero", "six"], ["cm"], name="clip_mid"),
             helper.make_node("Conv", ["cm", "w2", "b2"], ["chroma"], name="conv2")]
    graph = helper.make_graph(
        nodes, "padded", [helper.make_tensor_value_info("luma", TensorProto.FLOAT, ["N", 1, 16, 16])],
        [helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["N", 2, 16, 16])], inits)
    core = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    core.ir_version = IR_VERSION
    onnx.save(colorizer_frame_model(core, 16, FrameModelInfo(name="padded")), path)
    return path


def test_int8_cpu_engine_runs_convolutions_in_integer_kernels(work):
    """The Pad is folded into the Conv and the Conv is fused DQ -> Conv -> Q into QLinearConv; only the last,
    narrow layer (8 -> 2, into the colour math) stays float."""
    from collections import Counter

    manifest = build(cfg(work, model=str(_padded_colorizer(work / "p.onnx"))))
    assert manifest["graph_preprocessing"]["pad_before"] == 1 and manifest["graph_preprocessing"]["pad_after"] == 0
    ops = Counter(n.op_type for n in onnx.load(work / "engines" / "p-int8-cpu.onnx").graph.node)
    assert ops["Pad"] == 0 and ops["QLinearConv"] == 2, ops  # conv1 (1 -> 8, 3x3: not narrow) and conv_mid
    assert manifest["kept_fp32_for_speed"] == ["net/conv2"]
    assert manifest["gate"]["passed"] and manifest["qdq"]["on_colour_math"] == []
