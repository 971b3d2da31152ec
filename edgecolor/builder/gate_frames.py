"""Which frames the accuracy gate compares on, and why a colorizer's must be colour photos.

A colorizer sees only luma, so calibration frames may be gray; but its gate measures the loss against the
held-out frame's true colour, and a gray "truth" rewards a gray output (an INT8 graph that lost all chroma
would pass best). So a colorizer is gated on colour photos only: ``--gate-data DIR``, else the corpus
validation split (``data/corpus``) of the fold the model held out (:func:`held_out_fold`; a refit on every
source holds none out), else the public evaluation set (``data/eval``), else the colour photos bundled in
the package (:data:`BUNDLED`: 26 photos of the evaluation set's sources at the gate's size, never trained
on; ``scripts/make_gate_photos.py``), so a build works on a fresh machine from any folder. Frames whose
mean colourfulness
(Hasler & Suesstrunk) is below :data:`MIN_COLOURFULNESS` are refused as a truth.

Style models have no ground truth (they are gated against their own FP32 output): their gate frames are
the calibration hold-out unless ``--gate-data`` names others.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgecolor.choices import Task
from edgecolor.errors import InputError
from edgecolor.graph.calibration import FrameSet, even_indices, fit_frame, frame_digest, iter_source
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.imageio import IMAGE_EXTS, is_video, read_image
from edgecolor.quality import colourfulness

log = logging.getLogger(__name__)

CORPUS = Path("data/corpus")
EVAL_SET = Path("data/eval")
BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "gate"
# The evaluation set keeps photos >= 8 (edgecolor.data.evalset); a gray or sepia clip scores ~0-3.
MIN_COLOURFULNESS = 8.0
NO_COLOUR_REMEDY = "pass --gate-data DIR of colour photos the model never trained on, or skip the gate with --no-gate"


@dataclass(frozen=True)
class GateFrames:
    """Held-out frames (BGR uint8, all one size) the variant is compared on, and where they came from."""

    frames: tuple[np.ndarray, ...]
    source: str
    colourfulness: float  # mean over the frames

    @property
    def digests(self) -> frozenset[str]:
        return frozenset(frame_digest(f) for f in self.frames)

    def describe(self) -> dict[str, object]:
        return {
            "frames": len(self.frames),
            "frames_source": self.source,
            "frames_colourfulness": round(self.colourfulness, 2),
        }


def corpus_validation_files(corpus: Path, fold: int | None = 0) -> list[Path]:
    """Image files of fold ``fold``'s corpus validation split (held-out sources, never trained on:
    :mod:`edgecolor.data.split`; none for ``None``, a model trained on every source)."""
    from edgecolor.data.corpus import load_manifest
    from edgecolor.data.split import split_corpus

    return [Path(corpus) / e["file"] for e in split_corpus(load_manifest(corpus), fold)[1]]


def held_out_fold(info: FrameModelInfo, name: str) -> int | None:
    """The corpus fold whose validation sources the colorizer recording ``info`` never trained on: its
    training record's ``val_fold`` (None: a refit that trained on every source), fold 0 for a model without
    one (a user's own model: the default split)."""
    from edgecolor.data.split import FOLDS

    record = info.record("training", name) or {}
    config = record.get("config") if isinstance(record, dict) else None
    fold = config.get("val_fold", 0) if isinstance(config, dict) else 0
    return fold if fold is None or (isinstance(fold, int) and 0 <= fold < FOLDS) else 0


def _is_corpus(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").is_file() and (path / "images").is_dir()


def _has_images(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in path.iterdir())


def _read(source: Path, count: int, size: int, fold: int | None) -> tuple[list[np.ndarray], str]:
    if _is_corpus(source):
        files = corpus_validation_files(source, fold)
        if not files:
            why = "the model trained on all its sources" if fold is None else "it has no validation photos"
            raise InputError(f"cannot gate on the corpus {source}: {why}",
                             "pass --gate-data DIR of colour photos the model never trained on (e.g. data/eval)")
        picked = [files[i] for i in even_indices(len(files), count)]
        which = "" if fold == 0 else f", fold {fold}"
        return [fit_frame(read_image(p), size) for p in picked], f"{source} (corpus validation split{which})"
    if not (_has_images(source) or (source.is_file() and is_video(source))):
        raise InputError(f"gate data {source} is neither an image folder, a corpus nor a video",
                         "pass --gate-data DIR with colour photos")
    return [fit_frame(f, size) for _, f in iter_source(source, count)], str(source)


def load_gate_frames(
    task: str, gate_data: Path | None, calib: FrameSet | None, count: int, size: int = 320, fold: int | None = 0
) -> GateFrames:
    """The gate's frames for a model of ``task``. ``calib``: the calibration frame set whose hold-out a style
    model is gated on when ``gate_data`` is None; ``fold``: the corpus fold a colorizer held out
    (:func:`held_out_fold`). Raises InputError (exit 2, with the remedy) for a colorizer without colour
    frames."""
    if count < 1:
        raise InputError(f"need at least 1 gate frame, got {count}", "use e.g. --gate-frames 16")
    if gate_data is not None:
        source = Path(gate_data)
        if not source.exists():
            raise InputError(f"gate data {source} does not exist", "pass --gate-data DIR with colour photos")
    elif task == Task.COLORIZE:
        places = (CORPUS, EVAL_SET, BUNDLED) if fold is not None else (EVAL_SET, BUNDLED)
        found = next((p for p in places if _is_corpus(p) or _has_images(p)), None)
        if found is None:  # only where the package's own photos were removed
            raise InputError(f"no colour photos for the colorizer's accuracy gate ({BUNDLED} is missing)",
                             NO_COLOUR_REMEDY)
        source = found
    elif calib is not None and calib.holdout:
        frames = calib.holdout
        return GateFrames(frames, f"{calib.source} (calibration hold-out)", _mean_colourfulness(frames))
    else:
        raise InputError("no frames for the accuracy gate", "pass --gate-data DIR or --calib with more frames")
    read, described = _read(source, count, size, fold)
    gate = GateFrames(tuple(read), described, _mean_colourfulness(read))
    if task == Task.COLORIZE and gate.colourfulness < MIN_COLOURFULNESS:
        raise InputError(
            f"the gate frames from {source} are not colour photos (mean colourfulness {gate.colourfulness:.1f}, "
            f"need >= {MIN_COLOURFULNESS}): a gray truth would reward a gray colorizer",
            NO_COLOUR_REMEDY,
        )
    log.info("gate frames: %s", json.dumps(gate.describe()))
    return gate


def _mean_colourfulness(frames: tuple[np.ndarray, ...] | list[np.ndarray]) -> float:
    return float(np.mean([colourfulness(f) for f in frames])) if len(frames) else 0.0
