"""Image quality metrics for colorization and precision checks, on BGR uint8 frames.

- PSNR on 8-bit RGB (the same number for BGR).
- SSIM (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5) per colour channel, averaged. Written with
  OpenCV filters because scikit-image is not a core dependency; tests check it against scikit-image.
- Colourfulness: Hasler & Suesstrunk 2003, signed opponent channels rg = R - G, yb = (R + G)/2 - B,
  M = sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
- Delta E: CIE76 (Euclidean distance in CIELAB, D65, from OpenCV's float Lab conversion), mean over pixels.
- Colour recall and false colour: per-pixel tests in CIELAB from the same float conversion (BGR scaled
  to [0, 1] float32, so a* and b* are in real CIE units, not OpenCV's 8-bit +128 encoding); chroma
  C = sqrt(a*^2 + b*^2), hue h = atan2(b*, a*). They say what PSNR and Delta E hide: whether the colourful parts
  got their colour (a sepia tint scores well on Delta E and near zero here), and whether neutral parts stayed
  neutral.
"""

from __future__ import annotations

import cv2
import numpy as np

from edgecolor.errors import InputError


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise InputError(
            f"images must be uint8 with the same shape, got {a.dtype}{a.shape} and {b.dtype}{b.shape}",
            "resize or convert them first",
        )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (inf when identical)."""
    _check_pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over channels of two uint8 images."""
    _check_pair(a, b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x, y = a.astype(np.float64), b.astype(np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def colourfulness(img: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M of a BGR image (0 for gray)."""
    f = img.reshape(-1, 3).astype(np.float64)
    b, g, r = f[:, 0], f[:, 1], f[:, 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def to_lab(img: np.ndarray) -> np.ndarray:
    """CIELAB (L in 0..100) of a BGR uint8 image, float32."""
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)


def delta_e76(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIE76 Delta E*ab between two BGR uint8 images."""
    _check_pair(a, b)
    return float(np.linalg.norm(to_lab(a) - to_lab(b), axis=-1).mean())


# Colour recall: truth pixels with chroma above COLOURFUL_CHROMA count; each is recalled when the output's chroma
# is above RECALLED_CHROMA and its hue within RECALL_HUE_DEG of the truth's. False colour: truth pixels with chroma
# below NEUTRAL_CHROMA count; each is false colour when the output's chroma is above TINTED_CHROMA.
COLOURFUL_CHROMA = 20.0
RECALLED_CHROMA = 10.0
RECALL_HUE_DEG = 45.0
NEUTRAL_CHROMA = 8.0
TINTED_CHROMA = 12.0


def _chroma_hue(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab chroma C* and hue angle (radians, -pi..pi) of each pixel of a BGR uint8 image."""
    lab = to_lab(img).astype(np.float64)
    a, b = lab[..., 1], lab[..., 2]
    return np.hypot(a, b), np.arctan2(b, a)


def _check_frames(output: np.ndarray, truth: np.ndarray) -> None:
    _check_pair(output, truth)
    if output.ndim != 3 or output.shape[2] != 3:
        raise InputError(f"images must have shape (H, W, 3), got {output.shape}", "pass BGR colour frames")


def colour_recall(output: np.ndarray, truth: np.ndarray) -> float:
    """Of the truth's colourful pixels (Lab chroma > 20), the share the output gives chroma > 10 and a hue
    within 45 degrees of the truth's (both ends inclusive of the hue limit, exclusive of the chroma limits).

    Args:
        output: ``uint8`` ``H x W x 3`` BGR, the colorizer's output.
        truth: ``uint8`` ``H x W x 3`` BGR, the colour photo, same shape.

    Returns:
        A share in 0..1; ``nan`` when the truth has no colourful pixel (nothing to recall: callers average with
        ``nanmean``, leaving such photos out).

    Raises:
        InputError: the images differ in shape, are not ``uint8`` or are not three-channel.
    """
    _check_frames(output, truth)
    c_t, h_t = _chroma_hue(truth)
    colourful = c_t > COLOURFUL_CHROMA
    if not colourful.any():
        return float("nan")
    c_o, h_o = _chroma_hue(output)
    turn = np.abs(h_o - h_t) % (2 * np.pi)
    off = np.degrees(np.minimum(turn, 2 * np.pi - turn))[colourful]
    return float(((c_o[colourful] > RECALLED_CHROMA) & (off <= RECALL_HUE_DEG)).mean())


def false_colour(output: np.ndarray, truth: np.ndarray) -> float:
    """Of the truth's neutral pixels (Lab chroma < 8), the share the output tints to chroma > 12.

    Args:
        output: ``uint8`` ``H x W x 3`` BGR, the colorizer's output.
        truth: ``uint8`` ``H x W x 3`` BGR, the colour photo, same shape.

    Returns:
        A share in 0..1 (0 for the gray input); ``nan`` when the truth has no neutral pixel (callers average with
        ``nanmean``, leaving such photos out).

    Raises:
        InputError: the images differ in shape, are not ``uint8`` or are not three-channel.
    """
    _check_frames(output, truth)
    neutral = _chroma_hue(truth)[0] < NEUTRAL_CHROMA
    if not neutral.any():
        return float("nan")
    return float((_chroma_hue(output)[0][neutral] > TINTED_CHROMA).mean())


def contact_sheet(rows: list[list[np.ndarray]], labels: list[str], cell: int = 256) -> np.ndarray:
    """Tile rows of BGR images (each scaled to ``cell`` pixels high) with column labels on top."""
    bands = []
    for row in rows:
        tiles = []
        for img in row:
            w = max(1, round(img.shape[1] * cell / img.shape[0]))
            tiles.append(cv2.resize(img, (w, cell), interpolation=cv2.INTER_AREA))
        bands.append(tiles)
    widths = [max(band[i].shape[1] for band in bands) for i in range(len(labels))]
    header = np.full((28, sum(widths), 3), 255, np.uint8)
    x = 0
    for label, w in zip(labels, widths, strict=True):
        cv2.putText(header, label, (x + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        x += w
    out = [header]
    for band in bands:
        line = np.full((cell, sum(widths), 3), 255, np.uint8)
        x = 0
        for tile, w in zip(band, widths, strict=True):
            line[:, x : x + tile.shape[1]] = tile
            x += w
        out.append(line)
    return np.vstack(out)
