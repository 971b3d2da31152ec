"""The colorizer cut for ``edgecolor tune`` (edgecolor.models.tune_graph): encoder, decoder and colour math run
apart give the whole model's frame, new decoder weights land where the model reads them, and a model that is not
edgecolor's colorizer is refused in one line."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgecolor.errors import ModelError
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import with_extra_default
from edgecolor.models.tune_graph import (
    colour_model,
    decoder_weights,
    encoder_model,
    find_decoder,
    prior_levels,
    prior_table,
    with_decoder,
    with_site_prior,
)
from edgecolor.models.tune_photos import split_photos
from edgecolor.registry import ASSETS

from helpers import random_bgr, tiny_colorizer
from style_helpers import tiny_style


@pytest.fixture(scope="module")
def shipped() -> onnx.ModelProto:
    return onnx.load(str(ASSETS / "colorizer.onnx"))


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _decode(weights, scale, feats):
    """The U-Net decoder in numpy-fed torch, as the colorizer's decode() computes it (batch norms folded)."""
    import torch
    import torch.nn.functional as F

    y = torch.from_numpy(feats[-1])
    for (w, b), skip in zip(weights[:-1], feats[:-1][::-1], strict=True):
        skip = torch.from_numpy(skip)
        y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        y = F.relu(F.conv2d(torch.cat([y, skip], 1), torch.from_numpy(w), torch.from_numpy(b), padding=1))
    w, b = weights[-1]
    return (F.conv2d(y, torch.from_numpy(w), torch.from_numpy(b), padding=1) * scale).numpy()


def test_encoder_decoder_and_colour_math_apart_give_the_whole_models_frame(shipped):
    decoder = find_decoder(shipped)
    assert decoder.scale == 64.0 and len(decoder.taps) == 5 and len(decoder.blocks) == 5
    frame = random_bgr(60, 80, seed=3)[None]
    *feats, luma = _session(encoder_model(shipped, decoder, from_frame=True)).run(None, {"frame": frame})
    assert [f.shape[1] for f in feats] == [16, 24, 40, 112, 320]  # finest first, the deepest last
    assert luma.shape == (1, 1, 224, 224) and 0 <= luma.min() and luma.max() <= 255  # the network's luma, 0..255
    chroma = _decode(decoder_weights(shipped, decoder), decoder.scale, feats)
    strength = np.array(0.3125, np.float32)
    parts = _session(colour_model(shipped, decoder)).run(
        None, {"frame": frame, decoder.chroma: chroma, "colour_strength": strength})[0]
    whole = _session(shipped).run(None, {"frame": frame})[0]
    assert np.abs(parts.astype(int) - whole).max() <= 1  # float sums in another order: one rounding step at most


def test_the_site_prior_in_the_graph_is_the_lookup_tune_trains_with(shipped):
    import torch

    from edgecolor.models.tune import site_prior

    decoder = find_decoder(shipped)
    table = np.stack([np.linspace(-30, 30, 256), np.linspace(20, -10, 256)], 1).astype(np.float32)
    with_prior = with_site_prior(shipped, table)
    found = find_decoder(with_prior)
    assert found.prior and not decoder.prior and found.chroma == decoder.chroma and found.blocks == decoder.blocks
    assert np.array_equal(prior_table(with_prior), table) and prior_table(shipped) is None
    frame = random_bgr(60, 80, seed=4)[None]
    *feats, luma = _session(encoder_model(with_prior, found, from_frame=True)).run(None, {"frame": frame})
    levels = torch.from_numpy(prior_levels(luma))
    chroma = _decode(decoder_weights(with_prior, found), found.scale, feats)
    prior = site_prior(torch.from_numpy(table), levels).numpy()
    assert np.abs(prior).max() > 5
    strength = np.array(0.3125, np.float32)
    parts = _session(colour_model(with_prior, found)).run(
        None, {"frame": frame, found.chroma: chroma + prior, "colour_strength": strength})[0]
    whole = _session(with_prior).run(None, {"frame": frame})[0]
    assert np.abs(parts.astype(int) - whole).max() <= 1
    assert np.abs(whole.astype(int) - _session(shipped).run(None, {"frame": frame})[0]).max() > 3
    again = with_site_prior(with_prior, np.zeros_like(table))  # a second prior replaces the first
    assert len(again.graph.node) == len(with_prior.graph.node)
    assert np.abs(_session(again).run(None, {"frame": frame})[0].astype(int)
                  - _session(shipped).run(None, {"frame": frame})[0]).max() <= 1


def test_new_decoder_weights_change_the_frame_and_nothing_else(shipped):
    decoder = find_decoder(shipped)
    weights = decoder_weights(shipped, decoder)
    w, b = weights[-1]
    tuned = with_decoder(shipped, decoder, [*weights[:-1], (w, b + np.array([0.2, 0.0], np.float32))])
    changed = {t.name for t, u in zip(shipped.graph.initializer, tuned.graph.initializer, strict=True)
               if t.raw_data != u.raw_data}
    assert changed == {decoder.blocks[-1].bias}
    frame = random_bgr(40, 40, seed=1)[None]
    assert not np.array_equal(_session(tuned).run(None, {"frame": frame})[0],
                              _session(shipped).run(None, {"frame": frame})[0])


def test_a_new_default_strength_is_the_initializer_and_the_record(shipped):
    model = with_extra_default(shipped, "colour_strength", 0.75)
    assert json.loads(FrameModelInfo.read(model).extra_inputs)["colour_strength"]["default"] == 0.75
    init = next(t for t in model.graph.initializer if t.name == "colour_strength")
    assert onnx.numpy_helper.to_array(init) == np.float32(0.75)
    assert json.loads(FrameModelInfo.read(shipped).extra_inputs)["colour_strength"]["default"] == 0.3125


@pytest.mark.parametrize("make", ["tiny colorizer", "style"])
def test_a_model_that_is_not_edgecolors_colorizer_is_refused(tmp_path, make):
    path = tiny_colorizer(tmp_path / "m.onnx") if make == "tiny colorizer" else tiny_style(tmp_path / "s.onnx")
    with pytest.raises(ModelError, match="Tune adapts edgecolor's own colorizer"):
        find_decoder(onnx.load(str(path)), "m.onnx")


@pytest.mark.parametrize(("n", "held"), [(5, [1, 3]), (10, [1, 5, 8]), (23, [1, 4, 8, 11, 14, 18, 21])])
def test_the_held_out_photos_are_spread_over_the_folder(n, held):
    photos = [(f"p{i:02d}", np.zeros((1, 1, 3), np.uint8)) for i in range(n)]
    train, out = split_photos(photos)
    assert [int(name[1:]) for name, _ in out] == held
    assert len(train) + len(out) == n and not {t for t, _ in train} & {o for o, _ in out}


def test_a_cut_at_a_tensor_the_output_does_not_read_is_refused(shipped):
    """Without its chroma curve the network's output is net/chroma, not net/raw_chroma: a colour model cut at the
    old name would run the whole network and ignore the chroma fed to it."""
    from edgecolor.graph.colorizer import with_chroma_curve

    plain = with_chroma_curve(shipped, 0.0)
    with pytest.raises(ModelError, match="without net/raw_chroma"):
        colour_model(plain, find_decoder(shipped))
    assert find_decoder(plain).chroma == "net/chroma"
    colour_model(plain, find_decoder(plain))
