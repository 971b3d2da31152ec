"""Image quality metrics for colorization and precision checks, on BGR uint8 frames.

- PSNR on 8-bit RGB (the same number for BGR).
- SSIM (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5) per colour channel, averaged. Written with
  OpenCV filters because scikit-image is not a core dependency; tests check it against scikit-image.
- Colourfulness: Hasler & Suesstrunk 2003, signed opponent channels rg = R - G, yb = (R + G)/2 - B,
  M = sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
- Delta E: CIE76 (Euclidean distance in CIELAB, D65, from OpenCV's float Lab conversion), mean over pixels.
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
