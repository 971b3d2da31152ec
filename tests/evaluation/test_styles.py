"""Style scores (issue 13): hand-checkable images, styles as plain functions."""

import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.evaluation.styles import TARGETS, edge_correlation, evaluate_styles, mean_abs_diff, square_photos

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
