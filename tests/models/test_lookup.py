"""The luma-lookup baseline (issue 32): built from photos, applied to gray frames, checked against OpenCV's YCrCb."""

import math

import cv2
import numpy as np
import pytest

from edgecolor.colour import bgr_to_ycc, to_gray_bgr, ycc_to_bgr
from edgecolor.errors import InputError
from edgecolor.models.lookup import LEVELS, apply_lookup, build_lookup
from edgecolor.quality import to_lab

from helpers import random_bgr


def blue_dark_yellow_bright(height: int = 4) -> np.ndarray:
    """A luma gradient 0..255 whose dark half is blue (Cb +30) and bright half yellow (Cb -30, Cr +5)."""
    luma = np.tile(np.arange(LEVELS, dtype=np.float32), (height, 1))
    chroma = np.zeros((height, LEVELS, 2), np.float32)
    chroma[:, :128] = (30, 0)
    chroma[:, 128:] = (-30, 5)
    return ycc_to_bgr(luma, chroma)


def test_dark_gray_turns_blue_and_light_gray_yellow():
    table = build_lookup([blue_dark_yellow_bright()])
    dark, light = np.full((2, 2, 3), 60, np.uint8), np.full((2, 2, 3), 200, np.uint8)
    # rounding and clipping to 8 bits move the photo's chroma by a unit or two (more near black and white)
    assert table.chroma[60] == pytest.approx((30, 0), abs=2) and table.chroma[200] == pytest.approx((-30, 5), abs=2)
    blue, yellow = apply_lookup(table, dark, 1.0), apply_lookup(table, light, 1.0)
    assert blue[0, 0, 0] > blue[0, 0, 2] + 40 and yellow[0, 0, 2] > yellow[0, 0, 0] + 40  # B > R, then R > B
    hue_blue = math.degrees(math.atan2(to_lab(blue)[0, 0, 2], to_lab(blue)[0, 0, 1]))
    assert -135 < hue_blue < -45  # CIELAB b* < 0: blue
    assert to_lab(yellow)[0, 0, 2] > 20  # b* > 0: yellow
    half = apply_lookup(table, dark)  # default strength 0.5: half the chroma
    assert bgr_to_ycc(half)[1][0, 0] == pytest.approx(0.5 * table.chroma[60], abs=1)
    assert bgr_to_ycc(blue)[0] == pytest.approx(60, abs=0.6)  # luma kept


def test_table_matches_opencv_ycrcb_means():
    """Reference from OpenCV's own BT.601 conversion: per luma level, the mean of its Cb, Cr over all photos."""
    photos = [random_bgr(24, 32, 1), random_bgr(17, 9, 2)]
    table = build_lookup(iter(photos))  # a one-pass iterator is enough
    ycrcb = np.concatenate([cv2.cvtColor(p.astype(np.float32) / 255, cv2.COLOR_BGR2YCrCb).reshape(-1, 3)
                            for p in photos])
    level = np.rint(ycrcb[:, 0] * 255).astype(int)
    for v in np.unique(level):
        ref = ((ycrcb[level == v, 2] - 0.5) * 255).mean(), ((ycrcb[level == v, 1] - 0.5) * 255).mean()
        # OpenCV rounds the chroma scales (Cb: 0.564 for 0.5 / 0.886): the same means to 0.1%
        assert table.chroma[v] == pytest.approx(ref, rel=1e-3, abs=0.02)
    assert table.photos == 2 and table.pixels.sum() == 24 * 32 + 17 * 9
    assert table.pixels.tolist() == np.bincount(level, minlength=LEVELS).tolist()


def test_levels_never_seen_are_interpolated_and_held_at_the_ends():
    """Hand-checkable: two photos, levels 50 (Cb 10) and 150 (Cb 30, Cr -20, and Cb 10 in the other photo)."""
    a = ycc_to_bgr(np.array([[50, 150]], np.float32), np.array([[[10, 0], [30, -20]]], np.float32))
    b = ycc_to_bgr(np.array([[150]], np.float32), np.array([[[10, 0]]], np.float32))
    table = build_lookup([a, b])
    seen = {50: table.chroma[50], 150: table.chroma[150]}
    assert seen[50] == pytest.approx((10, 0), abs=1) and seen[150] == pytest.approx((20, -10), abs=1)
    assert table.chroma[100] == pytest.approx((seen[50] + seen[150]) / 2)
    assert (table.chroma[0] == seen[50]).all() and (table.chroma[255] == seen[150]).all()
    assert table.pixels[50] == 1 and table.pixels[150] == 2 and table.pixels.sum() == 3


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 48)])
def test_apply_keeps_shape_and_strength_zero_is_the_gray_frame(shape):
    table = build_lookup([random_bgr(16, 16, 5)])
    frame = to_gray_bgr(random_bgr(*shape, 6))
    out = apply_lookup(table, frame, 0.75)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert (apply_lookup(table, frame, 0.0) == frame).all()
    colour = random_bgr(*shape, 7)  # a colour frame is coloured from its luma alone (unrounded: within 1 LSB)
    diff = apply_lookup(table, colour, 0.75).astype(int) - apply_lookup(table, to_gray_bgr(colour), 0.75)
    assert np.abs(diff).max() <= 1


def test_bad_input_raises():
    table = build_lookup([random_bgr(4, 4)])
    with pytest.raises(InputError, match="no training pixels"):
        build_lookup([])
    with pytest.raises(InputError, match=r"uint8 with shape \(H, W, 3\), got float32"):
        build_lookup([np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(InputError, match=r"got uint8\(4, 4\)"):
        apply_lookup(table, np.zeros((4, 4), np.uint8))
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(InputError, match="finite number >= 0"):
            apply_lookup(table, np.zeros((2, 2, 3), np.uint8), bad)
