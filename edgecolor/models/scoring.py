"""How a colorizer's outputs score against colour truth, and the rule that picks a model's default colour strength.

Training (checkpoint and strength selection), ``edgecolor tune`` and ``edgecolor eval colorizer``
(:mod:`edgecolor.evaluation.colorizer`) all score through here: per-photo PSNR, SSIM, colourfulness, Delta E76,
colour recall and false colour (:mod:`edgecolor.quality`) averaged; photos coloured worse than gray; the
strength table over a grid of colour strengths and :data:`STRENGTH_RULE`, which is applied on validation photos
from held-out sources, never on the evaluation set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edgecolor.colour import to_gray_bgr
from edgecolor.errors import InputError
from edgecolor.quality import colour_recall, colourfulness, delta_e76, false_colour, psnr, ssim

Photo = tuple[str, np.ndarray]
BAD_DB = 2.0  # a photo more than this far below the gray input is one the colorizer made worse
Colorize = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scores:
    psnr_db: float
    ssim: float
    colourfulness: float
    colourfulness_ratio: float
    delta_e76: float
    colour_recall: float | None = None
    false_colour: float | None = None
    classifier_agreement: float | None = None


def mean_defined(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values (``None`` and NaN left out); ``None`` when there are none."""
    kept = [float(v) for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(kept)) if kept else None


# Hasler-Suesstrunk colourfulness below this is gray to the eye (JPEG noise on a gray photo stays well under it;
# their "slightly colourful" class starts at 15).
GRAY_COLOURFULNESS = 1.0


def refuse_gray(photos: list[Photo]) -> None:
    """A colorizer is scored against colour truth: a gray "truth" gives no score (the colourfulness ratio
    divides by zero) or a meaningless one. Raises :class:`InputError` naming the gray photos."""
    gray = [name for name, img in photos if colourfulness(img) < GRAY_COLOURFULNESS]
    if gray:
        shown = ", ".join(gray[:3]) + (f" and {len(gray) - 3} more" if len(gray) > 3 else "")
        raise InputError(f"{len(gray)} of {len(photos)} evaluation photos are grayscale ({shown}); the colorizer "
                         "is scored against colour truth", "remove them or pass a folder of colour photos "
                         "(edgecolor data evalset --dest data/eval)")


def score(outputs: Sequence[np.ndarray], truths: Sequence[np.ndarray],
          top1: Callable[[np.ndarray], int] | None = None) -> Scores:
    pairs = list(zip(outputs, truths, strict=True))
    truth_c = float(np.mean([colourfulness(t) for t in truths]))
    out_c = float(np.mean([colourfulness(o) for o in outputs]))
    agreement = None
    if top1 is not None:
        agreement = float(np.mean([top1(o) == top1(t) for o, t in zip(outputs, truths, strict=True)]))
    return Scores(
        psnr_db=float(np.mean([psnr(o, t) for o, t in zip(outputs, truths, strict=True)])),
        ssim=float(np.mean([ssim(o, t) for o, t in zip(outputs, truths, strict=True)])),
        colourfulness=out_c,
        colourfulness_ratio=out_c / truth_c if truth_c else float("nan"),
        delta_e76=float(np.mean([delta_e76(o, t) for o, t in pairs])),
        colour_recall=mean_defined([colour_recall(o, t) for o, t in pairs]),
        false_colour=mean_defined([false_colour(o, t) for o, t in pairs]),
        classifier_agreement=agreement,
    )


def below_gray(outputs: Sequence[np.ndarray], grays: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> np.ndarray:
    """Per photo: how many dB the output is below the gray input (negative: better than gray)."""
    return np.array([psnr(g, t) - psnr(o, t) for o, g, t in zip(outputs, grays, truths, strict=True)])


ColorizeAt = Callable[[np.ndarray, float], np.ndarray]
# Finer below 0.5: with a chroma curve (edgecolor.graph.colorizer.with_chroma_curve) strong chroma is amplified,
# and the strength that keeps the limits falls near 0.3.
STRENGTHS = (0.25, 0.3125, 0.375, 0.4375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5)


def strength_table(groups: Sequence[tuple[ColorizeAt, list[Photo]]], grid: Sequence[float] = STRENGTHS,
                   per_group: bool = False) -> list[dict]:
    """Scores at each colour strength of ``grid``, pooled over ``groups``: each a colorizer and the photos it is
    scored on (one group for one model; cross-validation gives each fold's model its own held-out photos).
    ``per_group`` adds each group's own row (``groups``), averaged from the same per-photo scores."""
    truths = [img for _, photos in groups for _, img in photos]
    grays = [to_gray_bgr(t) for t in truths]
    spans, k = [], 0
    for _, photos in groups:
        spans.append(slice(k, k + len(photos)))
        k += len(photos)
    truth_colour = np.array([colourfulness(t) for t in truths])
    gray = _per_photo(grays, truths)  # the gray input's scores do not depend on the strength: once
    table = []
    for s in grid:
        outputs = [colorize_at(g, s) for (colorize_at, _), span in zip(groups, spans, strict=True)
                   for g in grays[span]]
        ours = _per_photo(outputs, truths)
        row = _strength_row(s, ours, gray, truth_colour, slice(None))
        if per_group:
            row["groups"] = [_strength_row(s, ours, gray, truth_colour, span) for span in spans]
        table.append(row)
    return table


def _per_photo(outputs: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each photo's PSNR, colourfulness, Delta E76, colour recall and false colour (NaN: nothing to score): what a
    :func:`strength_table` row averages (it reports no SSIM, the costliest metric, so none is computed)."""
    pairs = list(zip(outputs, truths, strict=True))
    return {"psnr": np.array([psnr(o, t) for o, t in pairs]),
            "colourfulness": np.array([colourfulness(o) for o in outputs]),
            "delta_e76": np.array([delta_e76(o, t) for o, t in pairs]),
            "colour_recall": np.array([colour_recall(o, t) for o, t in pairs]),
            "false_colour": np.array([false_colour(o, t) for o, t in pairs])}


def _nan_mean(values: np.ndarray) -> float:
    """Mean over the photos with pixels to score; 0.0 when none has (no pixel could be recalled or tinted), so a
    row stays finite for the model's metadata and comparable with ``==``."""
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else 0.0


def _strength_row(s: float, ours: dict[str, np.ndarray], gray: dict[str, np.ndarray], truth_colour: np.ndarray,
                  span: slice) -> dict:
    """The row of photos ``span``: means as :func:`score` takes them, and the share more than BAD_DB below gray."""
    truth_c = float(np.mean(truth_colour[span]))
    return {"strength": s, "psnr_db": float(np.mean(ours["psnr"][span])),
            "gray_psnr_db": float(np.mean(gray["psnr"][span])),
            "colourfulness_ratio": float(np.mean(ours["colourfulness"][span])) / truth_c if truth_c else float("nan"),
            "delta_e76": float(np.mean(ours["delta_e76"][span])),
            "gray_delta_e76": float(np.mean(gray["delta_e76"][span])),
            "colour_recall": _nan_mean(ours["colour_recall"][span]),
            "false_colour": _nan_mean(ours["false_colour"][span]),
            "bad_fraction": float((gray["psnr"][span] - ours["psnr"][span] > BAD_DB).mean())}


MAX_FALSE_COLOUR = 0.04  # at most 4% of the truth's neutral pixels tinted, on validation


def pick_strength(table: list[dict], min_ratio: float = 0.5, max_bad: float = 0.10,
                  max_false: float = MAX_FALSE_COLOUR) -> float:
    """The default chroma scale, chosen on *validation* photos from held-out sources (never the evaluation set).

    Rule (:data:`STRENGTH_RULE`) over a :func:`strength_table`: the best mean PSNR among strengths that keep
    the colourfulness ratio at least ``min_ratio`` (visible colour, not sepia), mean Delta E below the gray
    input's, at most ``max_bad`` of the photos more than :data:`BAD_DB` below gray and mean false colour at most
    ``max_false`` (neutral walls and skies left neutral); failing that, the best PSNR among those that keep
    ``max_bad``; failing that, the best PSNR."""
    for ok in (lambda r: meets_strength_limits(r, min_ratio, max_bad, max_false),
               lambda r: r["bad_fraction"] <= max_bad, lambda r: True):
        candidates = [r for r in table if ok(r)]
        if candidates:
            return float(max(candidates, key=lambda r: r["psnr_db"])["strength"])
    raise AssertionError("unreachable: the last rule accepts every strength")


def meets_strength_limits(row: dict, min_ratio: float = 0.5, max_bad: float = 0.10,
                          max_false: float = MAX_FALSE_COLOUR) -> bool:
    """Whether a row of a :func:`strength_table` meets every limit of :data:`STRENGTH_RULE`. A row recorded before
    false colour was measured (an older model's metadata) has no ``false_colour``: not known to meet that limit,
    so it does not."""
    false = row.get("false_colour")
    return (row["colourfulness_ratio"] >= min_ratio and row["delta_e76"] < row["gray_delta_e76"]
            and row["bad_fraction"] <= max_bad and false is not None and false <= max_false)


STRENGTH_RULE = ("best validation PSNR among strengths with colourfulness ratio >= 0.5, mean dE76 below gray, "
                 "<= 10% of photos more than 2 dB below gray and mean false colour <= 0.04 (share of the truth's "
                 "neutral pixels, Lab chroma < 8, tinted to chroma > 12) (validation = held-out sources)")
