"""Style evaluation on photos the styles never trained on (``edgecolor eval styles``).

Every photo is resized to ``size`` x ``size`` (INTER_AREA), stylised by each style, and scored:

- ``mean_abs_change``: mean |output - input| over pixels and channels (0..255): how much the style changed.
- ``edge_correlation``: Pearson correlation between the Sobel gradient magnitudes of the input's and the
  output's luma: whether the content is still recognisable (1 = the same edges).
- ``nearest_style`` / ``nearest_distance``: the other style whose outputs are closest (mean |a - b|).
- ``gram_ratio``: the VGG Gram-matrix style loss of the output against its painting divided by that of the
  unstyled photo (needs the paintings and the train extra): below 1 the output is nearer the painting's
  texture statistics than the photo was. The loss is the training loss's style term
  (:class:`edgecolor.models.style.PerceptualLoss`: relative Gram error, mean over VGG layers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.colour import LUMA_BGR
from edgecolor.errors import InputError

Stylize = Callable[[np.ndarray], np.ndarray]

# The bar for a style that "looks like a painting" and still shows the photo
TARGETS = {"mean_abs_change": 25.0, "edge_correlation": 0.35, "nearest_distance": 18.0, "gram_ratio": 0.5}


@dataclass(frozen=True)
class StyleScore:
    name: str
    mean_abs_change: float
    edge_correlation: float
    nearest_style: str | None
    nearest_distance: float | None
    gram_ratio: float | None

    def passes(self) -> dict[str, bool | None]:
        return {
            "mean_abs_change": self.mean_abs_change >= TARGETS["mean_abs_change"],
            "edge_correlation": self.edge_correlation >= TARGETS["edge_correlation"],
            "nearest_distance": None if self.nearest_distance is None
            else self.nearest_distance >= TARGETS["nearest_distance"],
            "gram_ratio": None if self.gram_ratio is None else self.gram_ratio <= TARGETS["gram_ratio"],
        }


def edge_map(img: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the BT.601 luma of a BGR uint8 image (float32, H x W)."""
    y = np.ascontiguousarray(img.astype(np.float32) @ LUMA_BGR)
    return np.asarray(cv2.magnitude(cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)))


def edge_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the edge maps of two same-size BGR images (0 if either has no edges)."""
    if a.shape != b.shape:
        raise InputError(f"images must have the same shape, got {a.shape} and {b.shape}", "resize one of them")
    ea, eb = edge_map(a).ravel(), edge_map(b).ravel()
    if ea.std() == 0 or eb.std() == 0:
        return 0.0
    return float(np.corrcoef(ea, eb)[0, 1])


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def square_photos(photos: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    return [cv2.resize(p, (size, size), interpolation=cv2.INTER_AREA) for p in photos]


GramLosses = Callable[[np.ndarray], dict[str, float]]


def evaluate_styles(styles: dict[str, Stylize], photos: Sequence[np.ndarray],
                    gram_losses: GramLosses | None = None) -> list[StyleScore]:
    """Score each style on ``photos`` (BGR uint8, already at the evaluation size). ``gram_losses(image)``
    is the style loss of ``image`` against each style's painting, by style name (None: not measured)."""
    if not styles:
        raise InputError("no styles to evaluate", "pass --style NAME or ship a style")
    if not photos:
        raise InputError("no photos to evaluate on", "build them with: edgecolor data evalset --dest data/eval")
    outs = {name: [fn(p) for p in photos] for name, fn in styles.items()}
    dist: dict[tuple[str, str], float] = {}
    for a, b in itertools.combinations(outs, 2):
        dist[a, b] = dist[b, a] = float(np.mean([mean_abs_diff(x, y) for x, y in zip(outs[a], outs[b], strict=True)]))
    plain = [gram_losses(p) for p in photos] if gram_losses is not None else []
    scores = []
    for name, out in outs.items():
        others = [(dist[name, o], o) for o in outs if o != name]
        near_d, near = min(others) if others else (None, None)
        ratio = None
        if gram_losses is not None:
            styled = np.mean([gram_losses(o)[name] for o in out])
            unstyled = np.mean([p[name] for p in plain])
            ratio = float(styled / unstyled) if unstyled > 0 else None
        scores.append(StyleScore(
            name=name,
            mean_abs_change=float(np.mean([mean_abs_diff(o, p) for o, p in zip(out, photos, strict=True)])),
            edge_correlation=float(np.mean([edge_correlation(p, o) for o, p in zip(out, photos, strict=True)])),
            nearest_style=near, nearest_distance=near_d, gram_ratio=ratio))
    return scores


def painting_for(style: str, folder: Path) -> Path:
    """The painting of ``style`` in a folder written by ``edgecolor data styles`` (``NAME.*``)."""
    # exact names, not a glob: a style's name is user text (a path, brackets) and never a pattern
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.stem == style) if folder.is_dir() else []
    if not found:
        raise InputError(f"no painting for style '{style}' in {folder}",
                         "write them with: edgecolor data styles --dest " + str(folder))
    return found[0]


def vgg_gram_losses(paintings: dict[str, Path], style_size: int = 256) -> GramLosses:
    """``losses(bgr_image)``: the training loss's style term against each painting, one VGG pass (torch)."""
    import torch

    from edgecolor.models.style import VGGFeatures, gram, style_distance
    from edgecolor.models.train_style import load_style_image

    vgg = VGGFeatures()
    with torch.no_grad():
        targets = {n: [gram(f) for f in vgg(_tensor(load_style_image(p, style_size)))] for n, p in paintings.items()}

    def losses(img: np.ndarray) -> dict[str, float]:
        with torch.no_grad():
            grams = [gram(f) for f in vgg(_tensor(img))]
            return {n: float(style_distance(grams, t)) for n, t in targets.items()}

    return losses


def _tensor(img: np.ndarray):  # type: ignore[no-untyped-def]
    import torch

    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None]
