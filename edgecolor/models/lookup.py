"""The luma-lookup baseline: the simplest colour prior a colorizer must beat.

For each of the 256 luma levels, the mean chroma of the training photos' pixels of that level, added to a gray
frame pixel by pixel at a strength. It is a global tint that depends on brightness (skies bluish, mid-tones
warm): it knows nothing of what a pixel shows, so whatever a network scores above it is learnt from content.

It lives in ``models/`` because, like the networks here, it is fit on the training corpus and scored against
them; unlike them it is numpy only (no ``torch``), so ``edgecolor eval colorizer`` builds it without the
``train`` extra. Its colour space is the colorizer's own (:mod:`edgecolor.colour`: full-range BT.601 YCbCr,
centred chroma in the 0..255 scale), so "luma level" means the same thing as the frame model's input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from edgecolor.colour import bgr_to_ycc, ycc_to_bgr
from edgecolor.errors import InputError

LEVELS = 256


@dataclass(frozen=True)
class LumaLookup:
    """``chroma``: ``float32 [256, 2]``, the mean centred (Cb, Cr) per luma level (levels no training pixel had
    are interpolated linearly between the nearest seen levels, and hold the end value beyond the first or last);
    ``pixels``: ``int64 [256]``, how many training pixels each level had; ``photos``: how many photos."""

    chroma: np.ndarray
    pixels: np.ndarray
    photos: int


def _check_frame(img: np.ndarray, what: str) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        got = f"{img.dtype}{img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise InputError(f"{what} must be uint8 with shape (H, W, 3), got {got}", "pass BGR uint8 frames")


def _levels(luma: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(luma), 0, LEVELS - 1).astype(np.intp)


def build_lookup(photos: Iterable[np.ndarray]) -> LumaLookup:
    """The luma-lookup table of ``photos``: every pixel of every photo counts once (a large photo weighs more).

    Args:
        photos: ``uint8`` ``H x W x 3`` BGR colour photos (any sizes); consumed once, so a generator that reads
            files one at a time keeps memory to one photo.

    Raises:
        InputError: a photo is not ``uint8`` ``H x W x 3``, or there are no pixels at all.
    """
    sums = np.zeros((LEVELS, 2), np.float64)
    counts = np.zeros(LEVELS, np.int64)
    n = 0
    for img in photos:
        _check_frame(img, "a lookup training photo")
        luma, chroma = bgr_to_ycc(img)
        level = _levels(luma).ravel()
        counts += np.bincount(level, minlength=LEVELS)
        for k in range(2):
            sums[:, k] += np.bincount(level, weights=chroma[..., k].ravel().astype(np.float64), minlength=LEVELS)
        n += 1
    seen = np.flatnonzero(counts)
    if seen.size == 0:
        raise InputError("the luma-lookup baseline has no training pixels", "pass a folder of colour photos")
    means = sums[seen] / counts[seen, None]
    table = np.stack([np.interp(np.arange(LEVELS), seen, means[:, k]) for k in range(2)], axis=1)
    return LumaLookup(table.astype(np.float32), counts, n)


def apply_lookup(lookup: LumaLookup, frame: np.ndarray, strength: float = 0.5) -> np.ndarray:
    """Colour ``frame`` by its luma: each pixel gets ``strength`` times its level's mean chroma; luma is kept
    (up to rounding and clipping to 0..255).

    Args:
        lookup: from :func:`build_lookup`.
        frame: ``uint8`` ``H x W x 3`` BGR; its BT.601 luma is used, so a colour frame gives its gray's result
            (within 1 per channel: the gray frame's luma is rounded to 8 bits).
        strength: chroma scale, finite and >= 0 (0 gives the gray frame; 0.5 is the issue's baseline).

    Returns:
        ``uint8`` ``H x W x 3`` BGR, C-contiguous.

    Raises:
        InputError: ``frame`` is not ``uint8`` ``H x W x 3``, or ``strength`` is negative or not finite.
    """
    _check_frame(frame, "the frame")
    if not (math.isfinite(strength) and strength >= 0):
        raise InputError(f"the lookup strength must be a finite number >= 0, got {strength}", "pass e.g. 0.5")
    luma, _ = bgr_to_ycc(frame)
    chroma = lookup.chroma[_levels(luma)] * np.float32(strength)
    return np.ascontiguousarray(ycc_to_bgr(luma, chroma))
