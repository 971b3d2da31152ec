"""Colour math: the one source of truth for the coefficients used by the graph, training and tests.

edgecolor works in full-range BT.601 YCbCr (the JPEG / OpenCV ``COLOR_BGR2YCrCb`` convention).
Why not Lab: on the CPU path the colour math runs on every full-resolution pixel inside the ONNX graph,
and exact sRGB<->Lab (pow, cube root, branches) costs ~165 ms per 720p frame on the CI-class CPU versus
~22 ms for a 3x3 linear transform (measured, ``docs/architecture.md``). YCbCr is linear, so the graph's
post-processing reduces to "luma + upsampled chroma offset", and the gray baseline (Cb = Cr = 0) is
exactly OpenCV's ``COLOR_BGR2GRAY``.

Arrays here are float32, chroma centred on 0 (i.e. Cb - 128, Cr - 128) in the 0..255 scale.
"""

from __future__ import annotations

import numpy as np

# Y from B, G, R (BT.601 luma weights), in BGR order to match OpenCV frames.
LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)

# Centred chroma (Cb, Cr) from B, G, R: Cb = (B - Y) * 0.564, Cr = (R - Y) * 0.713.
CHROMA_FROM_BGR = np.array(
    [
        [0.5, -0.331264, -0.168736],  # Cb
        [-0.081312, -0.418688, 0.5],  # Cr
    ],
    dtype=np.float32,
)

# Offset added to Y to get B, G, R from centred (Cb, Cr): one row per output channel in BGR order.
BGR_FROM_CHROMA = np.array(
    [
        [1.772, 0.0],  # B = Y + 1.772 Cb
        [-0.344136, -0.714136],  # G = Y - 0.344 Cb - 0.714 Cr
        [0.0, 1.402],  # R = Y + 1.402 Cr
    ],
    dtype=np.float32,
)


def bgr_to_ycc(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``uint8``/float ``[..., 3]`` BGR into luma ``[...]`` (0..255) and centred chroma ``[..., 2]``."""
    x = bgr.astype(np.float32)
    return x @ LUMA_BGR, x @ CHROMA_FROM_BGR.T


def ycc_to_bgr(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Merge luma ``[...]`` and centred chroma ``[..., 2]`` into ``uint8 [..., 3]`` BGR (rounded, clamped)."""
    bgr = luma[..., None] + chroma @ BGR_FROM_CHROMA.T
    return np.clip(np.rint(bgr), 0, 255).astype(np.uint8)


def to_gray_bgr(bgr: np.ndarray) -> np.ndarray:
    """The gray baseline: luma copied into three channels (what a user feeds a colorizer)."""
    gray = np.clip(np.rint(bgr.astype(np.float32) @ LUMA_BGR), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)

# CIE Lab (D65, sRGB primaries; the constants OpenCV's cvtColor uses), for third-party colorizers that
# predict Lab ab (Zhang et al., DDColor). Rows X, Y, Z from linear B, G, R (BGR column order).
XYZ_FROM_BGR = np.array(
    [
        [0.180423, 0.357580, 0.412453],
        [0.072169, 0.715160, 0.212671],
        [0.950227, 0.119193, 0.019334],
    ],
    dtype=np.float32,
)
WHITE_D65 = np.array([0.950456, 1.0, 1.088754], dtype=np.float32)
LAB_DELTA = 6.0 / 29.0  # the knee of CIE Lab's cube-root curve
