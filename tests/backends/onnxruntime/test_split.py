"""The CPU fast path (OpenCV colour math) agrees with the frame graph within 1-2 LSB."""

import cv2
import numpy as np
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.backends.onnxruntime.split import SplitColorizerEngine
from edgecolor.errors import ModelError

from helpers import random_bgr, tiny_colorizer


def _natural(h, w, seed):
    return cv2.GaussianBlur(random_bgr(h, w, seed), (0, 0), 3)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    path = tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx", net_size=32, gain=0.5)
    return OrtEngine(path, threads=1), SplitColorizerEngine(path, threads=1)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (31, 47), (240, 320), (720, 1280)])
def test_agrees_with_graph(engines, shape):
    graph, split = engines
    frame = _natural(*shape, seed=sum(shape))
    a, b = graph(frame).astype(int), split(frame).astype(int)
    diff = np.abs(a - b)
    assert diff.max() <= 2, diff.max()
    if frame.size >= 300:
        assert diff.mean() < 0.5


def test_strength_and_batch(engines):
    graph, split = engines
    frames = np.stack([_natural(40, 60, 1), _natural(40, 60, 2)])
    for s in (0.0, 2.0):
        assert np.abs(graph(frames, colour_strength=s).astype(int) - split(frames, colour_strength=s)).max() <= 2


def test_refuses_non_colorizer(tmp_path):
    import onnx

    path = tiny_colorizer(tmp_path / "t.onnx")
    m = onnx.load(path)
    for p in m.metadata_props:
        if p.key == "edgecolor.task":
            p.value = "stylize"
    onnx.save(m, tmp_path / "s.onnx")
    with pytest.raises(ModelError, match="not a colorizer"):
        SplitColorizerEngine(tmp_path / "s.onnx")


def test_runs_on_a_built_and_optimised_cpu_engine(tmp_path, monkeypatch):
    """Built CPU engines are ONNX Runtime-optimised (fused contrib ops); the network is still found."""
    from edgecolor.builder.pipeline import BuildConfig, build

    monkeypatch.chdir(tmp_path)
    path = tiny_colorizer(tmp_path / "tiny.onnx", net_size=32, gain=0.5)
    cfg = BuildConfig(str(path), "fp32", "cpu", threads=1)
    build(cfg)
    frame = _natural(48, 64, 9)
    ref = OrtEngine(path, threads=1)(frame).astype(int)
    assert np.abs(SplitColorizerEngine(cfg.engine_path, threads=1)(frame).astype(int) - ref).max() <= 2


def test_split_session_does_not_spin_and_the_graph_keeps_the_default():
    """The split path's ONNX Runtime runs alternate with OpenCV's colour math: its idle threads must not spin
    (see ``cpu_session_options``); a whole-graph engine keeps ONNX Runtime's default."""
    from edgecolor.backends import open_engine

    key = "session.intra_op.allow_spinning"
    with open_engine("colorizer", cpu_path="split", threads=1) as split:
        assert split.session.get_session_options().get_session_config_entry(key) == "0"
    with open_engine("colorizer", cpu_path="graph", threads=1) as graph:
        with pytest.raises(Exception, match=key):  # never set: ONNX Runtime's default (spinning) applies
            graph.session.get_session_options().get_session_config_entry(key)


def test_agrees_with_graph_with_a_chroma_curve(tmp_path):
    import onnx

    from edgecolor.graph.colorizer import with_chroma_curve

    path = tiny_colorizer(tmp_path / "tiny.onnx", net_size=32, gain=0.5)
    curved = tmp_path / "curved.onnx"
    onnx.save(with_chroma_curve(onnx.load(path), 0.75), curved)
    graph, split = OrtEngine(curved, threads=1), SplitColorizerEngine(curved, threads=1)
    frame = _natural(120, 160, 3)
    assert np.abs(graph(frame).astype(int) - split(frame).astype(int)).max() <= 2
    assert np.abs(graph(frame).astype(int) - OrtEngine(path, threads=1)(frame).astype(int)).max() > 5  # it acts
