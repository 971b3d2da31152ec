"""The style frame-model wrapper on a tiny per-pixel core: contract, strength, preserve_colour, internal size."""

import json

import numpy as np
import onnx
import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import bgr_to_ycc

from helpers import random_bgr
from style_helpers import tiny_style

MIX = np.array([[0, 0, 0.8], [0, 0.8, 0], [0.8, 0, 0]], np.float32)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return OrtEngine(tiny_style(tmp_path_factory.mktemp("m") / "s.onnx", net_size=64), threads=1)


def test_signature_and_metadata(tmp_path):
    model = onnx.load(tiny_style(tmp_path / "s.onnx"))
    dims = [[d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
            for vi in (model.graph.input[0], model.graph.output[0])]
    assert dims == [["N", "H", "W", 3]] * 2
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["edgecolor.task"] == "stylize" and meta["edgecolor.net_size"] == "64"
    extras = json.loads(meta["edgecolor.extra_inputs"])
    assert extras["strength"]["default"] == 1.0 and extras["preserve_colour"]["default"] == 0.0
    assert extras["max_side"]["default"] == 64.0


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 5), (17, 31), (63, 65), (480, 640)])
def test_any_frame_size(engine, shape):
    frame = random_bgr(*shape)
    out = engine(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]


def test_small_frame_runs_the_core_at_full_size(engine):
    # 32x48 is within net_size 64 and a multiple of 4: no resize, so the output is exactly the core's.
    frame = random_bgr(32, 48)
    expected = np.clip(np.rint(frame.astype(np.float32) @ MIX.T), 0, 255)
    assert np.abs(engine(frame).astype(int) - expected).max() <= 1


def test_large_frame_is_downscaled_then_upsampled(engine):
    # A flat frame stays flat through any resize; a per-pixel core keeps it exact: checks the resize path.
    frame = np.full((300, 500, 3), (10, 100, 200), np.uint8)
    out = engine(frame)
    assert out.shape == frame.shape
    assert np.abs(out.astype(int) - np.rint(np.array([200, 100, 10]) * 0.8)).max() <= 1


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (300, 500)])
def test_strength_zero_returns_the_input(engine, shape):
    frame = random_bgr(*shape, seed=3)
    assert np.abs(engine(frame, strength=0.0).astype(int) - frame).max() <= 1


def test_strength_half_is_the_midpoint(engine):
    frame = random_bgr(32, 48, seed=4)
    full = frame.astype(np.float32) @ MIX.T
    expected = np.clip(np.rint((frame + full) / 2), 0, 255)
    assert np.abs(engine(frame, strength=0.5).astype(int) - expected).max() <= 1


def test_preserve_colour_keeps_chroma_and_takes_styled_luma(engine):
    frame = np.random.default_rng(5).integers(40, 216, (32, 48, 3)).astype(np.uint8)  # no clipping
    out = engine(frame, preserve_colour=1.0)
    luma_in, chroma_in = bgr_to_ycc(frame)
    luma_out, chroma_out = bgr_to_ycc(out)
    luma_styled, _ = bgr_to_ycc(frame.astype(np.float32) @ MIX.T)
    # Some (luma, chroma) pairs are out of the BGR gamut and clip; compare where they do not.
    kept = frame + (luma_styled - luma_in)[..., None]
    inside = ((kept >= 0) & (kept <= 255)).all(-1)
    assert inside.mean() > 0.5
    assert np.abs(chroma_out - chroma_in)[inside].max() < 1.5  # rounding of three channels
    assert np.abs(luma_out - luma_styled)[inside].max() < 1.0
    assert np.abs(luma_out - luma_in).mean() > 5  # the style did change the light


def test_batch_frames_are_independent(engine):
    a, b = random_bgr(20, 28, 1), random_bgr(20, 28, 2)
    batch = engine(np.stack([a, b]))
    assert np.array_equal(batch[0], engine(a)) and np.array_equal(batch[1], engine(b))


def test_max_side_sets_the_internal_resolution(engine):
    frame = random_bgr(96, 128, seed=6)
    exact = np.clip(np.rint(frame.astype(np.float32) @ MIX.T), 0, 255)
    # Default 64: the random frame is scaled down and up, which blurs it; 4096: the core sees every pixel.
    assert np.abs(engine(frame).astype(int) - exact).mean() > 10
    assert np.abs(engine(frame, max_side=4096.0).astype(int) - exact).max() <= 1
