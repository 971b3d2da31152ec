"""Colorizer evaluation against the gray baseline, and the choice of the default colour strength.

"Gray input" is the grayscale photo itself (luma copied into three channels), scored against the colour
truth: what a user feeds in. Aggregates are means over photos, except the colourfulness ratio, which is
mean(colourfulness of outputs) / mean(colourfulness of truths). Colour recall and false colour
(:func:`edgecolor.quality.colour_recall`, :func:`~edgecolor.quality.false_colour`) are means over the photos that
have pixels to score (a photo with no colourful pixel has no recall; one with no neutral pixel, no false colour);
``None`` where no photo has any.

Beside gray, the luma-lookup baseline (:mod:`edgecolor.models.lookup`, built from training photos, never from the
photos scored) is the simplest prior the network must beat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from edgecolor.colour import to_gray_bgr
from edgecolor.errors import InputError
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.imageio import is_image, read_image
from edgecolor.models.lookup import LumaLookup, build_lookup
from edgecolor.models.scoring import (
    BAD_DB,
    Colorize,
    Photo,
    below_gray,
    mean_defined,
    refuse_gray,
    score,
)
from edgecolor.quality import colour_recall, colourfulness, contact_sheet, delta_e76, false_colour, psnr

WORST = 5


def load_photos(folder: Path) -> list[Photo]:
    if not folder.is_dir():
        raise InputError(f"evaluation folder {folder} does not exist",
                         "build the public set with: edgecolor data evalset --dest data/eval")
    photos = [(p.stem, read_image(p)) for p in sorted(folder.iterdir()) if p.is_file() and is_image(p)]
    if not photos:
        raise InputError(f"folder {folder} has no images", "pass a folder of colour photos")
    return photos


def load_validation_photos(corpus: Path, fold: int = 0) -> list[Photo]:
    """The corpus's validation photos (the sources fold ``fold`` holds out), named ``SOURCE/FILE`` for
    :func:`per_source`."""
    from edgecolor.data.corpus import load_manifest
    from edgecolor.data.split import source_of, split_corpus

    _, val = split_corpus(load_manifest(corpus), fold)
    if not val:
        raise InputError(f"corpus {corpus} has no validation photos for fold {fold}",
                         "rebuild it with more photos: edgecolor data fetch")
    return [(f"{source_of(e)}/{Path(e['file']).name}", read_image(corpus / e["file"])) for e in val]


def refuse_trained_on(info: FrameModelInfo, fold: int, label: str, held_out: set[str] | None = None) -> None:
    """Validation fold ``fold`` scores nothing the model did not train on unless the model held that fold out:
    raises :class:`InputError` for one trained on every source (the refit) or on another fold's split. Where the
    record names the sources the model trained on and ``held_out`` names the fold's, the test is theirs: a
    model that trained on none of them (the refit before the newer sources existed) may be scored.
    Models without edgecolor's training record (a user's ONNX) are not checked."""
    record = info.record("training", label, InputError)
    if record is None:
        return
    config = record.get("config") if isinstance(record, dict) else None
    sources = record.get("train_sources") if isinstance(record, dict) else None
    if held_out is not None and isinstance(sources, list):
        overlap = sorted(held_out & set(map(str, sources)))
        if overlap:
            raise InputError(f"{label} trained on {', '.join(overlap[:3])}{' ...' if len(overlap) > 3 else ''}, so "
                             f"validation fold {fold}'s photos are not held out from it",
                             "score the public set (--data data/eval), or a fold run's model with its own --val-fold")
        return
    trained = config.get("val_fold", 0) if isinstance(config, dict) else fold
    if trained != fold:
        what = "every source" if trained is None else f"fold {trained}'s split"
        raise InputError(f"{label} trained on {what}, so validation fold {fold}'s photos are not held out from it",
                         "score the public set (--data data/eval), or a fold run's model with its own --val-fold")


def photo_sources(folder: Path) -> dict[str, str]:
    """Photo name (as :func:`load_photos` names it) -> source, from the ``manifest.json`` that
    ``edgecolor data evalset`` writes beside the photos; empty without one."""
    from edgecolor import jsonio

    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    found = jsonio.load(path, f"evaluation manifest {path}", InputError, "rebuild it: edgecolor data evalset")
    entries = found.get("entries") if isinstance(found, dict) else None
    return {Path(str(e["file"])).stem: str(e["source"]) for e in entries or []
            if isinstance(e, dict) and "file" in e and "source" in e}


def _share(value: float) -> float | None:
    """A per-photo recall or false colour as JSON has it: rounded, ``None`` for NaN (nothing to score)."""
    return None if np.isnan(value) else round(float(value), 4)


def per_source(per_photo: list[dict], sources: dict[str, str] | None = None) -> dict[str, dict]:
    """Mean PSNR of model and gray, and photos more than :data:`BAD_DB` below gray, per source: ``sources[name]``
    where given, else the ``SOURCE/`` prefix of the photo's name (any grouping of the photos works: a scene type
    per photo too). Rows with Delta E76 (model, gray, lookup) add its mean; rows with colour recall and false
    colour, their means over the source's photos that have pixels to score (``None``: none has)."""
    groups: dict[str, list[dict]] = {}
    for row in per_photo:
        src = (sources or {}).get(row["name"]) or row["name"].rsplit("/", 1)[0]
        groups.setdefault(src, []).append(row)
    table = {}
    for src, rows in sorted(groups.items()):
        entry = {"photos": len(rows), "psnr_model": float(np.mean([r["psnr_model"] for r in rows])),
                 "psnr_gray": float(np.mean([r["psnr_gray"] for r in rows])),
                 "below_gray_2db": sum(r["psnr_gray"] - r["psnr_model"] > BAD_DB for r in rows)}
        for key in ("psnr_lookup", *(f"delta_e76_{who}" for who in ("model", "gray", "lookup"))):
            if key in rows[0]:
                entry[key] = float(np.mean([r[key] for r in rows]))
        for key in (f"{m}_{who}" for m in ("colour_recall", "false_colour") for who in ("model", "gray", "lookup")):
            if key in rows[0]:
                entry[key] = mean_defined([r[key] for r in rows])
        table[src] = entry
    return table


def lookup_baseline(source: Path, scored: list[Photo], val_fold: int | None = None) -> tuple[LumaLookup, dict]:
    """The luma-lookup baseline built from ``source``, and what it was built from.

    ``source`` is a corpus (``manifest.json`` and ``images/``, from ``edgecolor data fetch``: its training photos,
    i.e. every source, or with ``val_fold`` the sources that fold trains on) or a folder of colour photos (every
    image in it). Photos are read one at a time. Raises :class:`InputError` when ``source`` is missing or holds a
    photo pixel-identical to one of ``scored``: the baseline is a prior from training photos, never fit on the
    photos it is scored on."""
    if not source.is_dir():
        raise InputError(f"lookup folder {source} does not exist",
                         "build the corpus with: edgecolor data fetch --dest data/corpus, or pass --no-lookup")
    if (source / "manifest.json").is_file() and (source / "images").is_dir():
        from edgecolor.data.corpus import load_manifest
        from edgecolor.data.split import split_corpus

        train = split_corpus(load_manifest(source), val_fold)[0]
        files = [source / e["file"] for e in train]
        built_from = "every source" if val_fold is None else f"the sources validation fold {val_fold} trains on"
    else:
        files = [p for p in sorted(source.iterdir()) if p.is_file() and is_image(p)]
        built_from = "every photo in the folder"
    held = {_digest(img): name for name, img in scored}

    def photos() -> Iterator[np.ndarray]:
        for path in files:
            img = read_image(path)
            if _digest(img) in held:
                raise InputError(f"lookup photo {path} is scored photo {held[_digest(img)]}: the baseline would be "
                                 "fit on the photos it is scored on",
                                 "build it from training photos (--lookup-from data/corpus), not the evaluation set")
            yield img

    lookup = build_lookup(photos())
    return lookup, {"from": str(source), "built_from": built_from, "photos": lookup.photos}


def _digest(img: np.ndarray) -> str:
    return hashlib.sha256(repr(img.shape).encode() + img.tobytes()).hexdigest()


def check_sheet_photos(photos: list[Photo], wanted: Sequence[str]) -> None:
    """Raises :class:`InputError` for a name in ``wanted`` that is not one of ``photos``."""
    names = [name for name, _ in photos]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise InputError(f"--sheet-photo {unknown[0]} is not one of the {len(photos)} photos scored",
                         f"name a photo by its file name without the extension, e.g. {names[0]}")


def evaluate_colorizer(colorize: Colorize, photos: list[Photo], top1: Callable[[np.ndarray], int] | None = None,
                       sheet: Path | None = None, sheet_rows: int = 8, lookup: Colorize | None = None,
                       sheet_photos: Sequence[str] | None = None) -> dict:
    """Scores of the colorizer, of the gray input and, given ``lookup`` (the luma-lookup baseline as a colorizer
    of gray frames), of that baseline; ``worst`` lists the photos the colorizer hurts most. Per photo: PSNR,
    Delta E76, colourfulness, colour recall and false colour of each. The contact sheet (gray input | model |
    truth, one row per photo) shows the photos named in ``sheet_photos``, in that order, or else the first
    ``sheet_rows`` photos, then the worst ones not already shown. Raises :class:`InputError` for a name in
    ``sheet_photos`` that is not one of ``photos``, before any photo is colorized."""
    check_sheet_photos(photos, sheet_photos or ())
    refuse_gray(photos)
    truths = [img for _, img in photos]
    grays = [to_gray_bgr(img) for img in truths]
    candidates = {"model": [colorize(g) for g in grays], "gray": grays}
    if lookup is not None:
        candidates["lookup"] = [lookup(g) for g in grays]
    outputs = candidates["model"]
    loss = below_gray(outputs, grays, truths)
    order = [int(i) for i in np.argsort(-loss)[:WORST]]
    result: dict = {"photos": len(photos)}
    for who, outs in candidates.items():
        below = int((below_gray(outs, grays, truths) > BAD_DB).sum())
        result[who] = asdict(score(outs, truths, top1)) | {"below_gray_2db": below}
    result["worst"] = [{"name": photos[i][0], "db_below_gray": round(float(loss[i]), 2)} for i in order]
    per_photo = []
    for i, (name, t) in enumerate(photos):
        row = {"name": name, "psnr_model": round(psnr(outputs[i], t), 2), "psnr_gray": round(psnr(grays[i], t), 2)}
        if lookup is not None:
            row["psnr_lookup"] = round(psnr(candidates["lookup"][i], t), 2)
        row |= {"colourfulness_model": round(colourfulness(outputs[i]), 1),
                "colourfulness_truth": round(colourfulness(t), 1)}
        for who, outs in candidates.items():
            row[f"delta_e76_{who}"] = round(delta_e76(outs[i], t), 2)
            row[f"colour_recall_{who}"] = _share(colour_recall(outs[i], t))
            row[f"false_colour_{who}"] = _share(false_colour(outs[i], t))
        per_photo.append(row)
    result["per_photo"] = per_photo
    if sheet is not None:
        from edgecolor.imageio import write_image

        if sheet_photos:
            names = [name for name, _ in photos]
            shown = [names.index(n) for n in sheet_photos]
        else:
            shown = list(range(min(sheet_rows, len(photos)))) + [i for i in order[:4] if i >= sheet_rows]
        rows = [[grays[i], outputs[i], truths[i]] for i in shown]
        write_image(sheet, contact_sheet(rows, ["gray input", "edgecolor", "truth"], cell=200))
    return result


