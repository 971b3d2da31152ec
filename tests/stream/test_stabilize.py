"""Temporal chroma stabilisation: flicker reduction, zero cost on stills, state resets, bad input."""

import numpy as np
import pytest

from edgecolor.colour import BGR_FROM_CHROMA
from edgecolor.stream.stabilize import (
    StabilizeConfig,
    Stabilizer,
    StabilizerState,
    chroma_flicker,
    stabilize,
)


def flickering(n, h=48, w=64, amp=6.0, seed=0):
    """A static gray-ish scene whose low-frequency chroma jitters from frame to frame (colorizer flicker)."""
    rng = np.random.default_rng(seed)
    base = np.full((h, w, 3), 120.0, np.float32)
    base[:, : w // 2] += 30
    out = []
    for _ in range(n):
        chroma = rng.normal(0, amp, 2).astype(np.float32)
        out.append(np.clip(np.rint(base + chroma @ BGR_FROM_CHROMA.T), 0, 255).astype(np.uint8))
    return out


def test_flicker_is_at_least_halved_on_a_static_scene():
    frames = flickering(40)
    stab = Stabilizer()
    smoothed = [stab(f) for f in frames]
    assert chroma_flicker(smoothed) <= 0.5 * chroma_flicker(frames)
    assert stab.state.resets == 0


def test_still_images_are_unchanged():
    still = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    stab = Stabilizer()
    for _ in range(5):
        np.testing.assert_array_equal(stab(still), still)


def test_scene_cut_resets_the_state_and_shows_the_new_frame_untouched():
    frames = flickering(10)
    stab = Stabilizer()
    for f in frames:
        stab(f)
    cut = np.full_like(frames[0], 250)
    cut[..., 2] = 200
    np.testing.assert_array_equal(stab(cut), cut)
    assert stab.state.resets == 1


def test_size_change_resets_the_state():
    out, state = stabilize(np.zeros((8, 8, 3), np.uint8), StabilizerState())
    assert state.resets == 0 and state.shape == (8, 8, 3)
    frame = np.full((10, 6, 3), 90, np.uint8)
    out, state = stabilize(frame, state)
    assert state.resets == 1 and state.shape == (10, 6, 3)
    np.testing.assert_array_equal(out, frame)


def test_moving_regions_follow_the_current_frame():
    frames = flickering(8, amp=0)
    stab = Stabilizer(StabilizeConfig(alpha=0.1, grid=16))
    for f in frames:
        stab(f)
    moved = frames[0].copy()
    moved[:16, :16] = (30, 200, 30)  # a green object enters: luma changes a lot in those cells
    out = stab(moved)
    assert np.abs(out[:8, :8].astype(int) - moved[:8, :8]).max() <= 2


def test_turning_off_resets_and_passes_frames_through():
    frames = flickering(6)
    stab = Stabilizer()
    for f in frames:
        stab(f)
    stab.enabled = False
    assert stab.state.ema is None
    np.testing.assert_array_equal(stab(frames[0]), frames[0])


@pytest.mark.parametrize("kw", [{"alpha": 0.0}, {"alpha": 1.5}, {"grid": 0}, {"cut": -1}])
def test_bad_config(kw):
    with pytest.raises(ValueError):
        StabilizeConfig(**kw)


@pytest.mark.parametrize("frame", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bad_frame(frame):
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        stabilize(frame, StabilizerState())


def test_flicker_metric_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[..., 0] = 10  # blue +10: Cb +5, Cr -0.81
    assert chroma_flicker([a, b]) == pytest.approx((5 + 0.81312) / 2, abs=1e-4)
    with pytest.raises(ValueError):
        chroma_flicker([a])
