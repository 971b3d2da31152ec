"""Style scores (issues 13 and 30): hand-checkable images with known answers, styles as plain functions."""

import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.evaluation.styles import (
    STRIPE_LIMIT,
    TARGETS,
    border_stripe,
    edge_correlation,
    evaluate_styles,
    grid_masks,
    grid_share,
    mean_abs_diff,
    palette_shift,
    score_outputs,
    square_photos,
)

from helpers import random_bgr


def _photo(seed=0):
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, 16:] = 200  # one vertical edge
    return np.clip(img.astype(int) + random_bgr(32, 32, seed) // 16, 0, 255).astype(np.uint8)


def test_mean_abs_diff_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 30, np.uint8)
    b[0, 0] = 0
    assert mean_abs_diff(a, b) == pytest.approx(30 * 3 / 4)
    assert mean_abs_diff(b, a) == mean_abs_diff(a, b)  # no uint8 wrap-around


def test_edge_correlation():
    p = _photo()
    assert edge_correlation(p, p) == pytest.approx(1.0)
    assert edge_correlation(p, 255 - p) == pytest.approx(1.0)  # an inverted image keeps its edges
    assert edge_correlation(p, np.full_like(p, 9)) == 0.0  # no edges at all
    assert edge_correlation(p, random_bgr(32, 32, 5)) < 0.3
    with pytest.raises(InputError, match="same shape"):
        edge_correlation(p, p[:8])


def test_evaluate_styles_table():
    photos = [_photo(i) for i in range(3)]
    styles = {"same": lambda f: f.copy(), "brighter": lambda f: np.clip(f.astype(int) + 40, 0, 255).astype(np.uint8),
              "flat": lambda f: np.full_like(f, 128)}
    gram = {"same": 1.0, "brighter": 0.4, "flat": 0.2}

    def losses(img):  # a stand-in: loss 1 for the photos themselves, the style's number for its outputs
        return {n: 1.0 if any(img is p for p in photos) else gram[n] for n in styles}

    scores = {s.name: s for s in evaluate_styles(styles, photos, losses)}
    assert scores["same"].mean_abs_change == 0 and scores["same"].edge_correlation == pytest.approx(1.0)
    assert scores["flat"].edge_correlation == 0.0
    assert scores["same"].nearest_style == "brighter" and scores["brighter"].nearest_style == "same"
    assert scores["same"].nearest_distance == pytest.approx(np.mean([mean_abs_diff(p, styles["brighter"](p))
                                                                     for p in photos]))
    assert scores["brighter"].gram_ratio == pytest.approx(0.4)
    passes = scores["flat"].passes()
    assert passes["gram_ratio"] is True and passes["edge_correlation"] is False
    assert TARGETS["gram_ratio"] == 0.5


def test_evaluate_styles_without_gram_or_peers():
    (s,) = evaluate_styles({"only": lambda f: 255 - f}, [_photo()])
    assert s.gram_ratio is None and s.nearest_style is None and s.passes()["nearest_distance"] is None


@pytest.mark.parametrize("styles,photos", [({}, [np.zeros((4, 4, 3), np.uint8)]), ({"x": lambda f: f}, [])])
def test_evaluate_styles_refuses_empty(styles, photos):
    with pytest.raises(InputError):
        evaluate_styles(styles, photos)


def test_square_photos():
    assert [p.shape for p in square_photos([random_bgr(20, 50), random_bgr(7, 3)], 16)] == [(16, 16, 3)] * 2


def _grey(y: np.ndarray) -> np.ndarray:
    return np.dstack([np.clip(np.rint(y), 0, 255).astype(np.uint8)] * 3)


YY, XX = np.mgrid[:128, :128]


@pytest.mark.parametrize("pattern", [
    (YY + XX) % 2 * 255,  # 2-px checkerboard (pixel-shuffle's dots)
    YY % 2 * 200,  # rows alternating every pixel
    (XX % 3 == 0) * 180,  # a column every 3 px
    ((XX // 2 + YY // 2) % 2) * 220,  # 4-px checkerboard (the second pixel-shuffle, at half resolution)
])
def test_grid_share_of_a_pixel_grid_is_near_1(pattern):
    assert grid_share(_grey(pattern)) > 0.95


def test_grid_share_of_smooth_and_noisy_images():
    high, band = grid_masks(128, 128)
    area = band.sum() / high.sum()  # the share white noise has: the bands' part of the high frequencies
    assert 0.02 < area < 0.04
    smooth = _grey(128 + 90 * np.sin(XX / 17.0) * np.cos(YY / 23.0))
    assert grid_share(smooth) < 0.05  # only its 8-bit rounding noise is high-frequency
    assert grid_share(np.full((64, 64, 3), 77, np.uint8)) == 0.0  # no high frequencies at all
    noise = np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert grid_share(noise) == pytest.approx(area, abs=0.01)
    dotted = smooth.astype(int)
    dotted[::2, ::2] += 12  # a faint dot grid over the smooth image dominates its fine texture
    assert grid_share(np.clip(dotted, 0, 255).astype(np.uint8)) > 0.9


def test_palette_shift_known_answers():
    p = _photo()
    assert palette_shift(p, p) == 0.0
    assert palette_shift(_grey(np.full((8, 8), 200)), _grey(np.full((8, 8), 40))) == pytest.approx(0, abs=1e-3)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 2] = 255
    # sRGB red is a* 80.09, b* 67.20 (CIE 1976, D65); grey is a* = b* = 0
    assert palette_shift(red, _grey(np.full((8, 8), 128))) == pytest.approx((80.09 + 67.20) / 2, abs=0.1)
    with pytest.raises(InputError, match="same shape"):
        palette_shift(p, p[:8])


def test_edge_correlation_ignores_fine_texture_after_the_blur():
    p = _grey(np.where(XX < 64, 80, 140) + np.where(YY < 40, 30, 0))
    noisy = np.clip(p.astype(int) + np.random.default_rng(2).integers(-25, 26, p.shape[:2])[..., None], 0, 255)
    noisy = noisy.astype(np.uint8)
    assert edge_correlation(p, noisy) > 0.9  # sigma = 2: the same edges under new fine texture
    assert edge_correlation(p, noisy, sigma=0) < edge_correlation(p, noisy) - 0.2


def test_border_stripe_finds_a_bright_left_border():
    p = _grey(100 + 50 * np.sin(XX / 9.0))
    assert border_stripe(p, p) == (0.0, "left")
    striped = p.copy()
    striped[:, :3] = 255
    strength, side = border_stripe(p, striped)
    assert side == "left" and strength > STRIPE_LIMIT
    brighter = np.clip(p.astype(int) + 40, 0, 255).astype(np.uint8)  # a change everywhere is no stripe
    assert border_stripe(p, brighter)[0] < 1.0


def test_scores_compare_distinctness_within_each_maker_and_check_issue_30_targets():
    photos = [_photo(i) for i in range(2)]
    ours = {"same": [p.copy() for p in photos], "inverted": [255 - p for p in photos]}
    theirs = {"peer-1": [np.clip(p.astype(int) + 60, 0, 255).astype(np.uint8) for p in photos]}
    scores = {s.name: s for s in score_outputs(ours, photos) + score_outputs(theirs, photos, group="peer")}
    assert scores["same"].nearest_style == "inverted" and scores["peer-1"].nearest_style is None
    assert scores["peer-1"].group == "peer" and scores["same"].group == "edgecolor"
    same = scores["same"]
    assert same.palette_shift == 0 and same.edge_correlation == pytest.approx(1) and same.border_stripe == 0
    assert same.passes()["palette_shift"] is False and same.passes()["edge_correlation"] is True
    assert TARGETS["grid_share"] == 0.15 and TARGETS["palette_shift"] == 15 and TARGETS["edge_correlation"] == 0.30
