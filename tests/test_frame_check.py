"""The one check of a frame passed between edgecolor's parts (engines, the stabiliser, the browser view)."""

import numpy as np
import pytest

from edgecolor.imageio import is_bgr_frame


@pytest.mark.parametrize("array, batch, ok", [
    (np.zeros((2, 3, 3), np.uint8), False, True),
    (np.zeros((1, 2, 3, 3), np.uint8), True, True),
    (np.zeros((1, 2, 3, 3), np.uint8), False, False),  # a batch where one frame is expected
    (np.zeros((2, 3, 3), np.uint8), True, False),
    (np.zeros((2, 3, 3), np.float32), False, False),
    (np.zeros((2, 3, 4), np.uint8), False, False),  # BGRA
    (np.zeros((2, 3), np.uint8), False, False),  # gray
    (np.zeros((0, 3, 3), np.uint8), False, False),
    ([[[0, 0, 0]]], False, False),  # not an array
])
def test_one_frame_check_serves_engines_the_stabiliser_and_the_view(array, batch, ok):
    assert is_bgr_frame(array, batch=batch) is ok
