"""``backends.open_engine``: the one loader picks each engine from the file's manifest and metadata, reads the
manifest once (backend before staleness, for CPU engines too) and parses a frame model once."""

import json

import onnx
import onnxruntime
import pytest
from typer.testing import CliRunner

import edgecolor.backends.openvino.engine as openvino_mod
import edgecolor.backends.tensorrt.engine as trt_runtime
from edgecolor.backends import manifest as mf
from edgecolor.backends import open_engine
from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.backends.onnxruntime.split import SplitColorizerEngine
from edgecolor.cli import app
from edgecolor.errors import InputError, ModelError

from helpers import random_bgr, tiny_colorizer
from style_helpers import tiny_style


@pytest.fixture(scope="module")
def colorizer(tmp_path_factory):
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "c.onnx", net_size=16)


def _adapted(src, dst):
    model = onnx.load(src)
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                        "edgecolor.adapter": "{}"})
    onnx.save(model, dst)
    return dst


def _cpu_manifest(engine, **changes):
    facts = {"backend": "onnxruntime", "backend_version": onnxruntime.__version__,
             "engine_sha256": mf.sha256_file(engine), "rebuild_command": f"edgecolor build x -o {engine}"}
    mf.write_json(engine, {**facts, **changes})


@pytest.mark.parametrize("kind, cpu_path, expected", [
    ("colorizer", "auto", SplitColorizerEngine),
    ("colorizer", "split", SplitColorizerEngine),
    ("colorizer", "graph", OrtEngine),
    ("style", "graph", OrtEngine),
    ("adapted", "auto", OrtEngine),  # adapted colorizers run as a graph
])
def test_the_path_follows_the_metadata(kind, cpu_path, expected, colorizer, tmp_path):
    model = {"colorizer": lambda: colorizer, "style": lambda: tiny_style(tmp_path / "s.onnx", net_size=16),
             "adapted": lambda: _adapted(colorizer, tmp_path / "a.onnx")}[kind]()
    engine = open_engine(model, cpu_path=cpu_path, threads=1)
    assert type(engine) is expected
    assert engine(random_bgr(8, 8)).shape == (8, 8, 3)


def test_auto_runs_a_style_network_on_openvino_when_it_is_installed(tmp_path, monkeypatch):
    import numpy as np

    pytest.importorskip("openvino")
    style = tiny_style(tmp_path / "s.onnx", net_size=16)
    auto = open_engine(style, threads=1)
    assert isinstance(auto, openvino_mod.OpenVinoStyleEngine) and auto.backend == "openvino-f32+onnxruntime"
    graph = open_engine(style, cpu_path="graph", threads=1)
    for h, w in ((40, 52), (64, 64), (33, 90)):  # one compile serves every size
        frame = random_bgr(h, w, seed=h)
        assert np.abs(auto(frame).astype(int) - graph(frame)).max() <= 1
    _cpu_manifest(style)  # a built engine for ONNX Runtime runs there
    assert type(open_engine(style, threads=1)) is OrtEngine
    mf.manifest_path(style).unlink()
    monkeypatch.setattr("edgecolor.backends._has_openvino", lambda: False)  # without the openvino extra
    assert type(open_engine(style, threads=1)) is OrtEngine


def test_openvino_paths_get_the_parsed_model_and_their_precision(colorizer, monkeypatch):
    seen = []

    class FakeOpenVino:
        backend = "openvino"

        def __init__(self, model, threads, precision, name):
            seen.append((type(model), precision, name))

        def infer(self, frame):  # the loader's probe frame
            seen.append(frame.shape)
            return frame

    monkeypatch.setattr(openvino_mod, "OpenVinoColorizerEngine", FakeOpenVino)
    open_engine(colorizer, cpu_path="openvino")
    open_engine(colorizer, cpu_path="openvino-bf16")
    assert seen == [(onnx.ModelProto, "f32", "c.onnx"), (37, 53, 3), (onnx.ModelProto, "bf16", "c.onnx"), (37, 53, 3)]


def test_a_tensorrt_manifest_opens_the_tensorrt_engine_with_the_manifest_read_once(colorizer, tmp_path,
                                                                                    monkeypatch):
    engine = tmp_path / "c.engine"
    engine.write_bytes(b"plan")
    mf.write_json(engine, {"backend": "tensorrt", "backend_version": "10.3.0", "engine_sha256": mf.sha256_file(engine),
                      "gpu": {}, "rebuild_command": "edgecolor build c --target trt"})
    monkeypatch.setattr(mf, "environment", lambda backend: {"backend_version": "10.3.0", "gpu": {}})
    reads, opened = [], []
    real_read = mf.read
    monkeypatch.setattr(mf, "read", lambda path: reads.append(path) or real_read(path))

    class FakeTrt:  # no infer(): the loader does not probe a TensorRT engine outside its profile's shapes
        backend = "tensorrt"

        def __init__(self, path, manifest, **options):
            opened.append((path, manifest.backend, options))

    monkeypatch.setattr(trt_runtime, "TrtEngine", FakeTrt)
    open_engine(engine, slots=1)  # auto: the manifest says TensorRT
    open_engine(engine, backend="trt")
    assert opened == [(engine, "tensorrt", {"slots": 1}), (engine, "tensorrt", {})] and len(reads) == 2
    with pytest.raises(ModelError, match="built for tensorrt, not ONNX Runtime"):
        open_engine(engine, backend="ort")


def test_a_frame_model_is_parsed_once_and_never_opened_twice(colorizer, tmp_path, monkeypatch):
    loads, sessions = [], []
    real_load, real_session = onnx.load, onnxruntime.InferenceSession
    monkeypatch.setattr(onnx, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    monkeypatch.setattr(onnxruntime, "InferenceSession",
                        lambda *a, **k: sessions.append(type(a[0])) or real_session(*a, **k))
    open_engine(colorizer, threads=1)  # split: the network cut from the one parsed model
    assert loads == [str(colorizer)] and sessions == [bytes]
    loads.clear(), sessions.clear()
    # a style: its network on OpenVINO with pre and post on ONNX Runtime, or (without OpenVINO) the graph
    open_engine(tiny_style(tmp_path / "s.onnx", net_size=16), threads=1)
    assert len(loads) == 1 and sessions and set(sessions) == {bytes}
    loads.clear(), sessions.clear()
    open_engine(colorizer, cpu_path="graph", threads=1)  # ONNX Runtime reads the metadata itself
    assert loads == [] and sessions == [str]


def test_a_cpu_engine_manifest_is_checked_backend_first_then_staleness(colorizer, tmp_path):
    engine = tmp_path / "e.onnx"
    engine.write_bytes(colorizer.read_bytes())
    _cpu_manifest(engine)
    assert type(open_engine(engine, threads=1)) is SplitColorizerEngine  # fresh: accepted
    _cpu_manifest(engine, engine_sha256="0" * 64)
    with pytest.raises(ModelError, match="is stale: the engine file was changed") as err:
        open_engine(engine, threads=1)
    assert "edgecolor build x" in str(err.value)
    _cpu_manifest(engine, backend="tensorrt", engine_sha256="0" * 64)  # stale *and* another backend
    with pytest.raises(ModelError, match="built for tensorrt, not ONNX Runtime") as err:
        open_engine(engine, backend="ort")
    assert "--backend trt" in str(err.value)


@pytest.mark.parametrize("change, said", [
    ({"engine_sha256": "0" * 64}, "is stale"),
    ({"backend": "tensorrt"}, "was built for tensorrt"),
])
def test_cli_refuses_a_stale_or_foreign_cpu_engine_in_one_line(change, said, colorizer, tmp_path):
    engine = tmp_path / "e.onnx"
    engine.write_bytes(colorizer.read_bytes())
    _cpu_manifest(engine, **change)
    import cv2

    cv2.imwrite(str(tmp_path / "in.png"), random_bgr(8, 8))
    args = ["colorize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--model", str(engine)]
    if change.get("backend"):
        args = ["run", "--model", str(engine), "--backend", "ort", "--source", str(tmp_path / "in.png"),
                "--sink", "null"]
    res = CliRunner().invoke(app, args)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and said in lines[0], res.output
    assert not (tmp_path / "out.png").exists()


def test_unknown_choices_are_refused_in_one_line(colorizer):
    with pytest.raises(InputError, match=r"unknown CPU path 'fast'.*auto, graph, split, openvino, openvino-bf16"):
        open_engine(colorizer, cpu_path="fast")
    with pytest.raises(InputError, match="unknown backend 'gpu'"):
        open_engine(colorizer, backend="gpu")


def test_manifest_json_is_plain_strings():
    """Enums are str: a manifest written from them holds the plain values."""
    from edgecolor.choices import Precision, Runtime

    assert json.loads(json.dumps({"p": Precision.INT8, "b": Runtime.TENSORRT})) == {"p": "int8", "b": "tensorrt"}
    assert f"{Precision.FP16}" == "fp16" and str(Precision.FP16) == "fp16"
