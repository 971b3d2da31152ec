import cv2
import numpy as np
import pytest

from edgecolor.colour import bgr_to_ycc, to_gray_bgr, ycc_to_bgr

from helpers import random_bgr


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 48)])
def test_ycc_matches_opencv_within_1_lsb(shape):
    img = random_bgr(*shape)
    luma, chroma = bgr_to_ycc(img)
    ref = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(np.float32)  # Y, Cr, Cb (offset 128)
    assert np.abs(luma - ref[..., 0]).max() <= 1.0
    assert np.abs(chroma[..., 0] + 128 - ref[..., 2]).max() <= 1.0
    assert np.abs(chroma[..., 1] + 128 - ref[..., 1]).max() <= 1.0


def test_round_trip_within_1_lsb():
    img = random_bgr(100, 100, seed=3)
    back = ycc_to_bgr(*bgr_to_ycc(img))
    assert back.dtype == np.uint8 and back.shape == img.shape
    assert np.abs(back.astype(int) - img).max() <= 1


def test_gray_matches_opencv_gray():
    img = random_bgr(50, 70, seed=4)
    gray = to_gray_bgr(img)
    ref = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    assert np.abs(gray[..., 0].astype(int) - ref).max() <= 1
    assert (gray[..., 0] == gray[..., 2]).all()


def test_zero_chroma_is_gray():
    luma = np.array([[0.0, 127.6, 255.0]], np.float32)
    out = ycc_to_bgr(luma, np.zeros((1, 3, 2), np.float32))
    assert out.tolist() == [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]]
