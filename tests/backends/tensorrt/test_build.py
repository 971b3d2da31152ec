"""TensorRT build and load paths against strict fakes of TensorRT 10.3, 10.13 and 11.1.

TensorRT itself is not installed on CI and was NOT run here: these tests prove that every call the
builder makes exists with those names in each version's recorded API surface (tests/fakes/trt-api).
"""

from __future__ import annotations

import json

import onnx
import pytest

from edgecolor.backends.tensorrt import build as trt_backend
from edgecolor.backends.tensorrt.build import Shapes, TrtBuildOptions, build_engine, deserialize, engine_io
from edgecolor.errors import InputError, ModelError
from edgecolor.graph.precision import to_fp16

from build_helpers import conv_colorizer
from fakes import fake_trt  # noqa: F401 - pytest fixture


@pytest.fixture
def fp16_model(tmp_path):
    path = tmp_path / "h.onnx"
    onnx.save(to_fp16(onnx.load(conv_colorizer(tmp_path / "m.onnx"))), path)
    return path


def test_build_and_load(fake_trt, fp16_model, tmp_path):  # noqa: F811
    trt = fake_trt.module
    opts = TrtBuildOptions(Shapes.parse("1x240x320,1x720x1280,2x1080x1920"), 512, 4, tmp_path / "e" / "timing.cache")
    facts = build_engine(fp16_model, tmp_path / "e" / "m.engine", opts)
    (record,) = fake_trt.state.builds
    assert record["flags"] == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert record["builder_flags"] == set()  # no weak-typing flags: precision is in the graph
    assert record["profiles"] == [{"frame": ((1, 240, 320, 3), (1, 720, 1280, 3), (2, 1080, 1920, 3))}]
    assert record["pools"] == {"WORKSPACE": 512 << 20} and record["optimization_level"] == 4
    assert facts["timing_cache"] == "new" and (tmp_path / "e" / "timing.cache").is_file()
    assert [t["name"] for t in facts["io"]] == ["frame", "frame_out"]
    _, engine = deserialize(tmp_path / "e" / "m.engine")
    io = engine_io(engine)
    assert [(t["name"], t["mode"], t["dtype"], t["shape"]) for t in io] == [
        ("frame", "input", "UINT8", [-1, -1, -1, 3]), ("frame_out", "output", "UINT8", [-1, -1, -1, 3])]
    build_engine(fp16_model, tmp_path / "e" / "m2.engine", opts)
    assert fake_trt.state.builds[1]["timing_cache_entries"] > 0  # the cache from the first build was reused


def test_parser_errors_name_the_node(fake_trt, fp16_model, tmp_path):  # noqa: F811
    fake_trt.state.unsupported_ops.add("Resize")
    with pytest.raises(ModelError, match=r"node pre/Resize_\d+ \(Resize\)"):
        build_engine(fp16_model, tmp_path / "m.engine", TrtBuildOptions())
    assert not (tmp_path / "m.engine").exists()


def test_failed_build_leaves_no_engine(fake_trt, fp16_model, tmp_path):  # noqa: F811
    fake_trt.state.fail_build = True
    with pytest.raises(ModelError, match="could not build"):
        build_engine(fp16_model, tmp_path / "m.engine", TrtBuildOptions())
    assert list(tmp_path.glob("*.engine*")) == [] and not list(tmp_path.glob(".m*"))


def test_plan_from_another_version_is_refused(fake_trt, fp16_model, tmp_path):  # noqa: F811
    plan = tmp_path / "m.engine"
    plan.write_bytes(b"FAKE-TRT-PLAN\n" + json.dumps({"version": "9.0", "io": [], "profiles": []}).encode())
    with pytest.raises(ModelError, match="cannot deserialize m.engine"):
        deserialize(plan)


def test_full_build_with_manifest_check(fake_trt, tmp_path, monkeypatch):  # noqa: F811
    from edgecolor.backends import manifest as mf
    from edgecolor.builder.pipeline import BuildConfig, build

    from build_helpers import image_folder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(trt_backend, "gpu_identity", lambda: {"name": "Orin", "compute_capability": "8.7"})
    model = conv_colorizer(tmp_path / "m.onnx")
    cfg = BuildConfig(str(model), "int8", "trt", calib=image_folder(tmp_path / "f", 12), calib_frames=10,
                      holdout_frames=2, calib_method="max", threads=1,
                      gate_data=image_folder(tmp_path / "truth", 3, seed=5))
    manifest = build(cfg)
    assert manifest["backend"] == "tensorrt" and manifest["backend_version"] == fake_trt.version
    assert manifest["gpu"] == {"name": "Orin", "compute_capability": "8.7"}
    assert manifest["gate"]["passed"] and manifest["qdq"]["on_output"] == []
    assert mf.check(cfg.engine_path).engine_sha256 == manifest["engine_sha256"]
    monkeypatch.setattr(trt_backend, "gpu_identity", lambda: {"name": "RTX 4090", "compute_capability": "8.9"})
    with pytest.raises(mf.StaleEngine, match="(?i)rebuild it: edgecolor build"):
        mf.check(cfg.engine_path)


def test_bad_shapes():
    with pytest.raises(InputError):
        Shapes.parse("1x720x1280,1x240x320,1x1080x1920")
    assert str(Shapes.parse("2x64x64")) == "2x64x64,2x64x64,2x64x64"


def test_extra_inputs_reach_tensorrt_as_inputs_not_constants(fake_trt, tmp_path, monkeypatch):  # noqa: F811
    """TensorRT's parser folds an input that has an initializer into a constant; the builder must hand it a
    graph where ``colour_strength`` is a plain input, so it stays adjustable at run time."""
    from edgecolor.builder.pipeline import BuildConfig, build

    from build_helpers import image_folder

    seen = {}
    real = trt_backend.build_engine

    def spy(onnx_path, engine_path, opts):
        m = onnx.load(str(onnx_path))
        seen["inputs"] = [i.name for i in m.graph.input]
        seen["initializers"] = {t.name for t in m.graph.initializer}
        return real(onnx_path, engine_path, opts)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(trt_backend, "gpu_identity", lambda: {"name": "Orin", "compute_capability": "8.7"})
    monkeypatch.setattr(trt_backend, "build_engine", spy)
    model = conv_colorizer(tmp_path / "m.onnx")
    cfg = BuildConfig(str(model), "fp16", "trt", calib=image_folder(tmp_path / "f", 12), calib_frames=10,
                      holdout_frames=2, threads=1, gate_data=image_folder(tmp_path / "truth", 3, seed=5))
    build(cfg)
    assert "colour_strength" in seen["inputs"] and "colour_strength" not in seen["initializers"]
    assert not list(tmp_path.glob("engines/.*trt-input.onnx"))  # the temporary graph is cleaned up
