import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.quality import colourfulness, contact_sheet, delta_e76, psnr, ssim

from helpers import random_bgr


def test_psnr_known_value():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # mse = 256 / 48
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (256 / 48)))
    assert psnr(a, a) == float("inf")


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    a = random_bgr(64, 64, 1)
    b = np.clip(a.astype(int) + np.random.default_rng(2).integers(-20, 20, a.shape), 0, 255).astype(np.uint8)
    ref = metrics.structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
    assert ssim(a, b) == pytest.approx(ref, abs=0.01)
    assert ssim(a, a) == pytest.approx(1.0)


def test_colourfulness_gray_is_zero_and_colour_is_not():
    gray = np.repeat(random_bgr(10, 10)[..., :1], 3, axis=2)
    assert colourfulness(gray) == pytest.approx(0.0)
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 2] = 255  # rg = 255, yb = 127.5 everywhere: M = 0.3 * hypot(255, 127.5)
    assert colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_delta_e_zero_for_identical_and_matches_lab_distance():
    a = random_bgr(8, 8, 3)
    assert delta_e76(a, a) == 0.0
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert delta_e76(black, white) == pytest.approx(100.0, abs=0.1)


def test_mismatched_shapes_raise():
    with pytest.raises(InputError, match="same shape"):
        psnr(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8))


def test_contact_sheet_layout():
    rows = [[random_bgr(10, 20), random_bgr(10, 10)], [random_bgr(20, 20), random_bgr(5, 10)]]
    sheet = contact_sheet(rows, ["a", "b"], cell=32)
    assert sheet.dtype == np.uint8 and sheet.shape[0] == 28 + 2 * 32 and sheet.shape[1] == 64 + 64
