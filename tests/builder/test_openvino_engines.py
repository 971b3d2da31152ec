"""BF16 and OpenVINO INT8 CPU engines: built through the same gate as INT8, opened from their manifest."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from edgecolor.backends import manifest as mf
from edgecolor.backends import open_engine
from edgecolor.backends.manifest import EngineManifest
from edgecolor.builder.pipeline import BuildConfig, build
from edgecolor.cli import app
from edgecolor.errors import InputError, MissingDependency, ModelError, install_command

from build_helpers import conv_colorizer, image_folder
from style_helpers import tiny_style

pytest.importorskip("openvino")


@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
    """Builds write ``engines/`` (no ``output``) and ``calibration/cache/`` relative to the working directory:
    in the checkout, ``make test`` left ``engines/m-int8-cpu-openvino.onnx`` and a calibration cache behind."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("ov")
    conv_colorizer(root / "m.onnx")
    tiny_style(root / "s.onnx")
    image_folder(root / "frames", 12)
    image_folder(root / "truth", 4, seed=7)
    return root


def cfg(work, **kw) -> BuildConfig:
    base = {"model": str(work / "m.onnx"), "precision": "bf16", "target": "cpu", "holdout_frames": 2, "threads": 1,
            "gate_data": work / "truth", "output": work / "engines" / f"{kw.pop('name', 'm-bf16')}.onnx"}
    return BuildConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def bf16(work):
    c = cfg(work)
    return c, build(c)


def test_bf16_colorizer_is_gated_on_the_colour_truth_and_runs_on_openvino(bf16):
    c, manifest = bf16
    on_disk = json.loads(mf.manifest_path(c.engine_path).read_text())
    assert on_disk["backend"] == "openvino" and on_disk["precision"] == "bf16"
    ov = on_disk["openvino"]
    assert ov["inference_precision_hint"] == "bf16" and ov["plugin_precision"] in ("bf16", "f32")
    gate = on_disk["gate"]
    assert gate["criterion"] == "loss_db vs ground truth" and gate["passed"] and gate["backend"] == "openvino"
    assert gate["plugin_precision"] == ov["plugin_precision"] and gate["frames_source"]
    engine = open_engine(c.engine_path, threads=1)
    assert engine.backend == "openvino-bf16+opencv"
    assert engine(np.zeros((20, 30, 3), np.uint8)).shape == (20, 30, 3)


def test_an_openvino_engine_refuses_other_paths_then_checks_staleness(bf16, tmp_path):
    c, _ = bf16
    with pytest.raises(InputError, match="OpenVINO engine"):
        open_engine(c.engine_path, cpu_path="graph")  # would silently run the FP32 graph on ONNX Runtime
    with pytest.raises(ModelError, match="built for openvino, not ONNX Runtime.*--backend auto"):
        open_engine(c.engine_path, backend="ort")
    copy = tmp_path / "e.onnx"
    copy.write_bytes(c.engine_path.read_bytes())
    data = json.loads(mf.manifest_path(c.engine_path).read_text())
    mf.manifest_path(copy).write_text(json.dumps({**data, "backend_version": "1.0.0"}))
    with pytest.raises(mf.StaleEngine, match="built with openvino 1.0.0"):
        open_engine(copy)


def test_style_bf16_is_gated_on_psnr_vs_fp32_and_keeps_its_controls(work):
    c = cfg(work, model=str(work / "s.onnx"), name="s-bf16", gate_data=None, calib=work / "frames")
    gate = build(c)["gate"]
    assert gate["criterion"] == "psnr_vs_fp32 floor" and gate["passed"] and gate["backend"] == "openvino"
    from edgecolor.backends.onnxruntime import OrtEngine

    engine, ref = open_engine(c.engine_path, threads=1), OrtEngine(work / "s.onnx", threads=1)
    assert engine.backend == "openvino-bf16+onnxruntime"
    frame = np.random.default_rng(1).integers(0, 256, (24, 40, 3), np.uint8)
    for kw in ({}, {"strength": 0.5, "preserve_colour": 1.0, "max_side": 16.0}):  # extras reach pre and post
        diff = np.abs(engine(frame, **kw).astype(int) - ref(frame, **kw).astype(int))
        assert diff.max() <= 2, (kw, diff.max())


def test_openvino_int8_runs_the_qdq_graph_not_an_onnxruntime_fused_one(work, monkeypatch):
    from edgecolor.graph import precision

    monkeypatch.setattr(precision, "narrow_convs", lambda model: [])  # the tiny net's convs are all narrow
    c = cfg(work, precision="int8", cpu_backend="openvino", calib=work / "frames", calib_frames=10,
            calib_method="max", output=None)
    assert c.engine_path.name == "m-int8-cpu-openvino.onnx"  # not the ONNX Runtime INT8 engine's name
    manifest = build(c)
    assert manifest["backend"] == "openvino" and manifest["openvino"]["inference_precision_hint"] == "f32"
    assert "--cpu-backend openvino" in manifest["rebuild_command"] and manifest["gate"]["backend"] == "openvino"
    ops = {n.op_type for n in onnx.load(str(c.engine_path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and all(
        n.domain in ("", "ai.onnx") for n in onnx.load(str(c.engine_path)).graph.node)
    assert open_engine(c.engine_path, threads=1).backend == "openvino-f32+opencv"
    assert BuildConfig.from_manifest(EngineManifest.from_json(manifest)).cpu_backend == "openvino"


@pytest.mark.parametrize(("kw", "match"), [
    ({"precision": "fp16", "cpu_backend": "openvino"}, "fp32, bf16 or int8"),
    ({"precision": "bf16", "cpu_backend": "onnxruntime"}, "OpenVINO only"),
    ({"precision": "bf16", "target": "trt"}, "--target cpu"),
    ({"precision": "auto", "target": "trt"}, "--target cpu"),
])
def test_impossible_precision_backend_pairs_are_refused_before_any_work(work, kw, match):
    with pytest.raises(InputError, match=match):
        cfg(work, **kw)


def test_plugin_falling_back_to_f32_is_said_in_the_manifest(work, monkeypatch):
    from edgecolor.backends.openvino import engine as openvino
    from edgecolor.backends.openvino import writer

    real = openvino.compile_network

    def without_bf16(*a):  # what the plugin reports on a CPU without BF16, whatever CPU runs the test
        return real(*a)[0], "f32"

    monkeypatch.setattr(openvino, "compile_network", without_bf16)  # the engine the gate runs
    monkeypatch.setattr(writer, "compile_network", without_bf16)  # the build's own check
    manifest = build(cfg(work, name="m-bf16-nobf16"))
    assert manifest["openvino"]["plugin_precision"] == "f32" and "not bf16" in manifest["openvino"]["note"]
    assert manifest["gate"]["plugin_precision"] == "f32"


def test_missing_openvino_is_one_line_exit_2(work, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(MissingDependency, match=re.escape(install_command("openvino"))):
        build(cfg(work, name="m-bf16-missing"))
    res = CliRunner().invoke(app, ["build", str(work / "m.onnx"), "--precision", "bf16", "--target", "cpu",
                                   "-o", str(work / "x.onnx"), "--gate-data", str(work / "truth")])
    assert res.exit_code == 2 and install_command("openvino") in res.output
    assert len([line for line in res.output.splitlines() if line.strip()]) == 1


def test_rebuild_if_stale_sees_another_cpu_backend_and_old_manifests_default_to_onnxruntime(work, bf16):
    from edgecolor.builder.pipeline import differences

    c, manifest = bf16
    assert differences(c, EngineManifest.from_json(manifest)) == []
    fp32 = cfg(work, precision="fp32", name="m-fp32")
    old = {**manifest, "build_config": {k: v for k, v in manifest["build_config"].items() if k != "cpu_backend"}}
    old["build_config"]["precision"] = "fp32"
    old = EngineManifest.from_json(old)
    assert differences(fp32, old) == []  # a manifest from before OpenVINO engines: ONNX Runtime
    moved = cfg(work, precision="fp32", cpu_backend="openvino", name="m-fp32")
    assert any("cpu_backend onnxruntime, openvino was asked for" in d for d in differences(moved, old))
