"""The display overlay: one line of white text on a dark box, and nothing drawn outside the box."""

import cv2
import numpy as np
import pytest

from edgecolor.stream.sinks import OVERLAY_FONT, Output, overlay_layout, overlay_text, render
from edgecolor.stream.sources import Frame


def _output(height: int, width: int, value: int = 235) -> Output:
    plain = np.full((height, width, 3), value, np.uint8)
    return Output(Frame(0, 0.0, plain), plain, latency_s=0.0473, fps=28.6, style="colorizer")


@pytest.mark.parametrize("height, width", [(720, 1280), (480, 640), (1080, 1920)])
def test_the_overlay_is_single_text_on_a_box_and_nothing_outside_it(height, width):
    out = _output(height, width)
    shown = render(out)
    text = overlay_text(out)
    lay = overlay_layout(shown.shape, text)

    changed = np.argwhere((shown != out.image).any(axis=2))
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0) + 1
    box = shown[y0:y1, x0:x1]
    assert (y0, x0, y1, x1) == (lay.box[1], lay.box[0], lay.box[3], lay.box[2])  # no pixel changed outside it

    alone = np.zeros(shown.shape[:2], np.uint8)  # the text drawn once, alone: its pixels lie inside the box
    cv2.putText(alone, text, lay.org, OVERLAY_FONT, lay.scale, 255, 1, cv2.LINE_AA)
    ys, xs = np.nonzero(alone)
    assert ys.min() > y0 and ys.max() < y1 - 1 and xs.min() > x0 and xs.max() < x1 - 1

    background = box[alone[y0:y1, x0:x1] == 0]
    shade = background[0]
    assert (background == shade).all() and shade.max() < 235 // 2  # one dark colour behind the text

    # the box is exactly one putText (white, thickness 1) at the layout's origin on that colour
    reference = np.empty_like(shown)
    reference[:] = shade
    cv2.putText(reference, text, lay.org, OVERLAY_FONT, lay.scale, (255, 255, 255), 1, cv2.LINE_AA)
    assert np.array_equal(box, reference[y0:y1, x0:x1])
    assert (box[alone[y0:y1, x0:x1] == 255] == 255).all()


def test_without_overlay_the_output_is_shown_as_is_and_never_drawn_on():
    out = _output(48, 64, value=90)
    assert np.array_equal(render(out, overlay=False), out.image)
    render(out)
    assert (out.image == 90).all()  # the overlay draws on a copy; file sinks keep the clean output


def test_a_frame_smaller_than_the_text_clips_the_box():
    out = _output(12, 40)
    shown = render(out)
    x0, y0, x1, y1 = overlay_layout(shown.shape, overlay_text(out)).box
    assert x0 == 4 and (x1, y1) == (40, 12) and shown.shape == (12, 40, 3)  # clipped at the right and bottom
    assert (shown[:, :4] == 235).all()
