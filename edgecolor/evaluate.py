"""Colorizer evaluation against the gray baseline, and the choice of the default colour strength.

"Gray input" is the grayscale photo itself (luma copied into three channels), scored against the colour
truth: what a user feeds in. Aggregates are means over photos, except the colourfulness ratio, which is
mean(colourfulness of outputs) / mean(colourfulness of truths).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgecolor.colour import to_gray_bgr
from edgecolor.errors import InputError
from edgecolor.imageio import is_image, read_image
from edgecolor.quality import colourfulness, contact_sheet, delta_e76, psnr, ssim

Photo = tuple[str, np.ndarray]
Colorize = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Scores:
    psnr_db: float
    ssim: float
    colourfulness: float
    colourfulness_ratio: float
    delta_e76: float
    classifier_agreement: float | None = None


def load_photos(folder: Path) -> list[Photo]:
    if not folder.is_dir():
        raise InputError(f"evaluation folder {folder} does not exist",
                         "build the public set with: edgecolor data evalset --dest data/eval")
    photos = [(p.stem, read_image(p)) for p in sorted(folder.iterdir()) if p.is_file() and is_image(p)]
    if not photos:
        raise InputError(f"folder {folder} has no images", "pass a folder of colour photos")
    return photos


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
        delta_e76=float(np.mean([delta_e76(o, t) for o, t in zip(outputs, truths, strict=True)])),
        classifier_agreement=agreement,
    )


def evaluate_colorizer(colorize: Colorize, photos: list[Photo], top1: Callable[[np.ndarray], int] | None = None,
                       sheet: Path | None = None, sheet_rows: int = 8) -> dict:
    refuse_gray(photos)
    truths = [img for _, img in photos]
    grays = [to_gray_bgr(img) for img in truths]
    outputs = [colorize(g) for g in grays]
    result = {
        "photos": len(photos),
        "model": asdict(score(outputs, truths, top1)),
        "gray": asdict(score(grays, truths, top1)),
        "per_photo": [
            {"name": name, "psnr_model": round(psnr(o, t), 2), "psnr_gray": round(psnr(g, t), 2),
             "colourfulness_model": round(colourfulness(o), 1), "colourfulness_truth": round(colourfulness(t), 1)}
            for (name, t), o, g in zip(photos, outputs, grays, strict=True)
        ],
    }
    if sheet is not None:
        from edgecolor.imageio import write_image

        rows = [[g, o, t] for g, o, t in list(zip(grays, outputs, truths, strict=True))[:sheet_rows]]
        write_image(sheet, contact_sheet(rows, ["gray input", "edgecolor", "truth"], cell=200))
    return result


def choose_colour_strength(colorize_at: Callable[[np.ndarray, float], np.ndarray], photos: list[Photo],
                           grid: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0),
                           min_ratio: float = 0.5) -> tuple[float, list[dict]]:
    """Pick the default chroma scale on *validation* photos (never the evaluation set).

    Rule: the strength with the best mean PSNR among those whose colourfulness ratio is at least
    ``min_ratio`` (the product's floor: colour that is visible, not sepia); if none reaches it, the most
    colourful strength. PSNR is what MSE training optimises, so this is the most faithful setting that
    still gives visible colour.
    """
    truths = [img for _, img in photos]
    grays = [to_gray_bgr(t) for t in truths]
    gray = score(grays, truths)
    table = []
    for s in grid:
        sc = score([colorize_at(g, s) for g in grays], truths)
        table.append({"strength": s, "psnr_db": sc.psnr_db, "gray_psnr_db": gray.psnr_db,
                      "colourfulness_ratio": sc.colourfulness_ratio, "delta_e76": sc.delta_e76,
                      "gray_delta_e76": gray.delta_e76})
    ok = [r for r in table if r["colourfulness_ratio"] >= min_ratio]
    best = max(ok, key=lambda r: r["psnr_db"]) if ok else max(table, key=lambda r: r["colourfulness_ratio"])
    return float(best["strength"]), table
