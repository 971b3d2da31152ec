"""CIE Lab graph pieces (sRGB, D65) for third-party colorizers that speak Lab.

edgecolor's own colour space is YCbCr (linear, see :mod:`edgecolor.colour`); Lab needs the sRGB curve
(pow 2.4) and a cube root, which is why the adapters use these pieces at the *network's* size where
they are cheap, and at full resolution only for the exact merge. The formulas are the CIE ones with
OpenCV's constants, so float ``cv2.cvtColor(..., COLOR_BGR2Lab)`` is the independent reference in tests.

Tensors are float NCHW: BGR in 0..255, L in 0..100, ab in CIE units.
"""

from __future__ import annotations

import numpy as np

from edgecolor.colour import LAB_DELTA, WHITE_D65, XYZ_FROM_BGR
from edgecolor.graph.pieces import GraphBuilder


def _where(b: GraphBuilder, cond: str, yes: str, no: str) -> str:
    return b.op("Where", [cond, yes, no])


def srgb_decode(b: GraphBuilder, bgr255: str) -> str:
    """sRGB 0..255 -> linear 0..1 (the piecewise sRGB curve)."""
    x = b.op("Clip", [b.op("Mul", [bgr255, b.const(1 / 255)]), b.const(0.0), b.const(1.0)])
    curve = b.op("Pow", [b.op("Add", [b.op("Mul", [x, b.const(1 / 1.055)]), b.const(0.055 / 1.055)]), b.const(2.4)])
    low = b.op("Mul", [x, b.const(1 / 12.92)])
    return _where(b, b.op("LessOrEqual", [x, b.const(0.04045)]), low, curve)


def srgb_encode(b: GraphBuilder, lin: str) -> str:
    """linear (clipped to 0..1) -> sRGB 0..255."""
    x = b.op("Clip", [lin, b.const(0.0), b.const(1.0)])
    curve = b.op("Sub", [b.op("Mul", [b.op("Pow", [x, b.const(1 / 2.4)]), b.const(1.055)]), b.const(0.055)])
    low = b.op("Mul", [x, b.const(12.92)])
    return b.op("Mul", [_where(b, b.op("LessOrEqual", [x, b.const(0.0031308)]), low, curve), b.const(255.0)])


def _lab_f(b: GraphBuilder, t: str) -> str:
    cube_root = b.op("Pow", [b.op("Max", [t, b.const(0.0)]), b.const(1 / 3)])
    linear = b.op("Add", [b.op("Mul", [t, b.const(1 / (3 * LAB_DELTA**2))]), b.const(4 / 29)])
    return _where(b, b.op("Greater", [t, b.const(LAB_DELTA**3)]), cube_root, linear)


def luminance(b: GraphBuilder, bgr255: str) -> str:
    """float [N,3,h,w] sRGB BGR 0..255 -> linear luminance Y [N,1,h,w] (0..1)."""
    return b.op("Conv", [srgb_decode(b, bgr255), b.const(XYZ_FROM_BGR[1].reshape(1, 3, 1, 1), "y_w")])


def lightness_of_luminance(b: GraphBuilder, y: str) -> str:
    """Linear luminance [N,1,h,w] -> CIE L [N,1,h,w] (0..100)."""
    return b.op("Sub", [b.op("Mul", [_lab_f(b, y), b.const(116.0)]), b.const(16.0)])


def lightness(b: GraphBuilder, bgr255: str) -> str:
    """float [N,3,h,w] sRGB BGR 0..255 -> CIE L [N,1,h,w] (0..100)."""
    return lightness_of_luminance(b, luminance(b, bgr255))


def gray_bgr_of_luminance(b: GraphBuilder, y: str) -> str:
    """Linear luminance [N,1,h,w] -> the Lab gray (L, 0, 0) as sRGB BGR 0..255 [N,3,h,w] (R = G = B)."""
    gray = srgb_encode(b, y)
    return b.op("Concat", [gray, gray, gray], axis=1)


def lab_to_bgr(b: GraphBuilder, lightness_: str, ab: str) -> str:
    """L [N,1,h,w] and ab [N,2,h,w] -> sRGB BGR 0..255 [N,3,h,w], clipped to the gamut."""
    lab = b.op("Concat", [lightness_, ab], axis=1)
    # fx, fy, fz as one 1x1 convolution of (L, a, b)
    w = np.array([[1 / 116, 1 / 500, 0], [1 / 116, 0, 0], [1 / 116, 0, -1 / 200]], np.float32)
    f = b.op("Conv", [lab, b.const(w.reshape(3, 3, 1, 1), "f_w"), b.const(np.full(3, 16 / 116), "f_b")])
    cube = b.op("Mul", [b.op("Mul", [f, f]), f])
    linear = b.op("Mul", [b.op("Sub", [f, b.const(4 / 29)]), b.const(3 * LAB_DELTA**2)])
    rel = _where(b, b.op("Greater", [f, b.const(LAB_DELTA)]), cube, linear)  # X/Xn, Y/Yn, Z/Zn
    bgr_from_rel = np.linalg.inv(XYZ_FROM_BGR) * WHITE_D65[None, :]
    lin = b.op("Conv", [rel, b.const(bgr_from_rel.astype(np.float32).reshape(3, 3, 1, 1), "bgr_w")])
    return srgb_encode(b, lin)
