"""Calibration frames for INT8 and held-out frames for the accuracy gate, plus the scale-cache key.

Frames come from an image folder or a video, sampled evenly over the whole source so a clip's start does
not dominate. The held-out frames are interleaved with (never part of) the calibration frames. Default
source when none is given: ``data/corpus/images`` if present, else the bundled ``edgecolor/assets/sample.mp4``
(a short grayscale clip: fine for a smoke build, not representative of colour video).

Scale cache: ONNX Runtime's calibration JSON, stored as ``calibration/cache/<key>.json`` beside a
``<key>.meta.json`` naming what went into the key: model sha256, preprocessing, the frame list with content
hashes, quantisation options and ONNX Runtime's version. Any change gives another key, so a stale cache is
never reused; a cache whose meta does not match its key is deleted with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.errors import InputError
from edgecolor.graph.contract import FRAME
from edgecolor.imageio import IMAGE_EXTS, VideoReader, is_video, read_image

log = logging.getLogger(__name__)

MIN_FRAMES = 8  # below this the ranges are noise: refuse
WARN_FRAMES = 32  # below this entropy/percentile histograms are thin: warn
DEFAULT_FRAMES = 64
DEFAULT_HOLDOUT = 8
CACHE_DIR = Path("calibration/cache")
CORPUS_IMAGES = Path("data/corpus/images")


@dataclass(frozen=True)
class FrameSet:
    """Calibration and held-out frames (BGR uint8, ``size*3/4`` x ``size`` x 3) and their identities."""

    source: str
    size: int
    calib: tuple[np.ndarray, ...]
    holdout: tuple[np.ndarray, ...]
    ids: tuple[str, ...]  # one per calib frame then per held-out frame: "name#sha256[:16]"

    def describe(self) -> dict[str, object]:
        return {
            "source": self.source,
            "size": self.size,
            "calibration_frames": len(self.calib),
            "holdout_frames": len(self.holdout),
        }


def default_source() -> Path:
    from edgecolor.registry import SAMPLE_CLIP

    if CORPUS_IMAGES.is_dir() and any(p.suffix.lower() in IMAGE_EXTS for p in CORPUS_IMAGES.iterdir()):
        return CORPUS_IMAGES
    log.warning(
        "no --calib given and no %s: calibrating on the bundled sample clip %s", CORPUS_IMAGES, SAMPLE_CLIP
    )
    return SAMPLE_CLIP


def even_indices(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)`` (all of them when ``count >= total``)."""
    if count >= total:
        return list(range(total))
    return sorted({int(round(x)) for x in np.linspace(0, total - 1, count)})


def fit_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to 4:3 and resize to ``size`` x ``size*3/4``: one shape for every frame, because the
    histogram calibrators (entropy, percentile) merge tensors across frames and need equal shapes."""
    h, w = frame.shape[:2]
    if w * 3 > h * 4:
        cw = h * 4 // 3
        frame = frame[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = w * 3 // 4
        frame = frame[(h - ch) // 2 : (h - ch) // 2 + ch]
    return np.ascontiguousarray(cv2.resize(frame, (size, size * 3 // 4), interpolation=cv2.INTER_AREA))


def frame_digest(frame: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()[:16]


def iter_source(source: Path, wanted: int) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, BGR frame)`` for ``wanted`` images of a folder or frames of a video, spread evenly."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        for i in even_indices(len(files), wanted):
            yield files[i].name, read_image(files[i])  # unreadable -> InputError naming the file
        return
    if not is_video(source):
        raise InputError(
            f"{source} is neither an image folder nor a video", "pass a folder of images or a video"
        )
    reader = VideoReader(source)
    try:
        total = reader.frame_count
        if total <= 0:
            raise InputError(f"{source} reports no frames", "pass another video or an image folder")
        keep = set(even_indices(total, wanted))
        for i, frame in enumerate(reader):
            if i in keep:
                yield f"{source.name}@{i}", frame
        if reader.skipped:
            raise InputError(
                f"{reader.skipped} frame(s) of {source} could not be decoded",
                "re-encode the video or use an image folder",
            )
    finally:
        reader.close()


def load_frames(
    source: Path | None,
    count: int = DEFAULT_FRAMES,
    holdout: int = DEFAULT_HOLDOUT,
    size: int = 320,
    exclude: frozenset[str] = frozenset(),
) -> FrameSet:
    """Sample ``count + holdout`` frames evenly from ``source``; every k-th sampled frame is held out.

    ``holdout=0`` when the gate takes its frames elsewhere (a colorizer's colour truth); ``exclude``: content
    digests (:func:`frame_digest` at this ``size``) of those gate frames, never calibrated on.
    """
    if count < 1 or holdout < 0:
        raise InputError(
            f"need at least 1 calibration frame and no negative hold-out, got {count} and {holdout}",
            "raise --calib-frames",
        )
    src = default_source() if source is None else Path(source)
    if not src.exists():
        raise InputError(f"calibration source {src} does not exist", "pass --calib FOLDER_OR_VIDEO")
    if src.is_dir() and not any(p.suffix.lower() in IMAGE_EXTS for p in src.iterdir()):
        raise InputError(
            f"calibration folder {src} has no images ({', '.join(sorted(IMAGE_EXTS))})",
            "put JPEG/PNG frames in it or pass a video",
        )
    sampled = [(name, fit_frame(frame, size)) for name, frame in iter_source(src, count + holdout)]
    if exclude:
        kept = [(n, f) for n, f in sampled if frame_digest(f) not in exclude]
        if len(kept) < len(sampled):
            log.info("calibration: left out %d frame(s) that the gate uses", len(sampled) - len(kept))
        sampled = kept
    hold_pos: set[int] = set()
    if holdout:
        spare = len(sampled) - count
        n_hold = max(1, min(holdout, spare if spare > 0 else len(sampled) // 5))
        hold_pos = set(even_indices(len(sampled), n_hold + 2)[1:-1][:n_hold]) if len(sampled) > 2 else {0}
    calib = [(n, f) for i, (n, f) in enumerate(sampled) if i not in hold_pos]
    held = [(n, f) for i, (n, f) in enumerate(sampled) if i in hold_pos]
    if len(calib) < MIN_FRAMES:
        raise InputError(
            f"only {len(calib)} calibration frame(s) from {src} ({len(sampled)} read, {len(held)} held out); "
            f"at least {MIN_FRAMES} are needed",
            f"add frames (>= {WARN_FRAMES} recommended) or raise --calib-frames",
        )
    # Too few frames for INT8 ranges (< WARN_FRAMES) is the INT8 builder's warning, not this reader's: an FP16
    # build reads frames only for its accuracy gate.
    ids = tuple(f"{n}#{frame_digest(f)}" for n, f in calib + held)
    return FrameSet(str(src), size, tuple(f for _, f in calib), tuple(f for _, f in held), ids)


class FrameReader:
    """ONNX Runtime ``CalibrationDataReader`` over the calibration frames (one frame per batch)."""

    def __init__(self, frames: tuple[np.ndarray, ...], input_name: str = FRAME) -> None:
        self._frames, self._input, self._i = frames, input_name, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._i >= len(self._frames):
            return None
        self._i += 1
        return {self._input: np.ascontiguousarray(self._frames[self._i - 1][None])}

    def rewind(self) -> None:
        self._i = 0

    def __len__(self) -> int:
        return len(self._frames)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._i = start_index


def cache_key(model_sha256: str, frames: FrameSet, options: dict[str, object]) -> tuple[str, dict]:
    """Key and its ingredients: model, preprocessing, frame list (content hashes), options, ORT version."""
    import onnxruntime

    meta = {
        "model_sha256": model_sha256,
        "preprocessing": {"crop_resize_4_3_width": frames.size, "layout": "NHWC uint8 BGR"},
        "frames": list(frames.ids[: len(frames.calib)]),
        "options": options,
        "onnxruntime": onnxruntime.__version__,
    }
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()
    return key, meta


def cache_paths(key: str, meta: dict, cache_dir: Path = CACHE_DIR) -> tuple[Path, bool]:
    """``(scales.json, hit)``. Writes the meta file; a cache whose meta disagrees is removed (never reused)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    scales, meta_path = cache_dir / f"{key[:24]}.json", cache_dir / f"{key[:24]}.meta.json"
    if scales.is_file():
        try:
            stored = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            stored = None
        if stored == meta and _readable_scales(scales):
            log.info("reusing calibration scales %s", scales)
            return scales, True
        if stored == meta:
            log.warning("calibration cache %s is damaged (cut short or edited): recalibrating", scales)
        else:
            log.warning("calibration cache %s does not match this model/frames/options: recalibrating", scales)
        scales.unlink()
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True))
    return scales, False


def _readable_scales(path: Path) -> bool:
    """Whether a cached scales file is a whole JSON object (a cache cut short by a full disk or a kill must
    be rebuilt, not crash every later build)."""
    from edgecolor import jsonio
    from edgecolor.errors import EdgecolorError

    try:
        return isinstance(jsonio.load(path, f"calibration cache {path}", max_bytes=256 << 20), dict)
    except EdgecolorError:
        return False
