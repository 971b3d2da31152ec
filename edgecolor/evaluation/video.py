"""``edgecolor eval video``: temporal consistency of a video job, against the same frames colorized one by one.

Clips (:func:`make_clips`) are made from colour photos: slow pans over gray versions of them with hard cuts
between photos (``pans.mp4``), and the same with one shot left in colour (``mixed.mp4``, the colour segment
an archive film mixes in). :func:`evaluate_clip` colorizes every frame once and scores three outputs built
from those frames: each frame on its own (``per_frame``), the video job without the stabiliser
(``no_stabilize``: colour shots copied) and the video job as ``colorize`` runs it (``video_job``), through the
job's own :class:`~edgecolor.stream.temporal.TemporalStage`.

Metrics, within shots (the job's cut detector splits them; a pair of frames across a cut is never compared):

* **CDC**, colour distribution consistency (Liu et al., TCVC, after Lei & Chen 2019): the Jensen-Shannon
  divergence (natural log) between the 256-bin histograms of OpenCV's 8-bit Lab a and b channels of frames
  ``i`` and ``i + t``, averaged over a and b and over the pairs, for gaps ``t`` = 1, 2 and 4; CDC is the mean
  of the three. Lower is steadier.
* **Flicker**: the mean |chroma change| (BT.601 Cb and Cr, 0..255) between consecutive frames *after motion
  compensation*: the previous output is warped onto the current one by Farneback optical flow computed on the
  input's luma (long side 320 px), and only pixels whose warped luma matches within 8 are counted, so a pan's
  own motion is not counted as flicker.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgecolor.colour import CHROMA_FROM_BGR, LUMA_BGR, to_gray_bgr
from edgecolor.errors import InputError
from edgecolor.stream.temporal import TemporalConfig, TemporalStage

GAPS = (1, 2, 4)
FLOW_SIDE = 320  # long side the optical flow runs at
MATCH_LUMA = 8.0  # warped luma within this of the current frame's: the pixel is tracked (not occluded)
CLIP_SIZE = (640, 360)
SHOT_FRAMES = 40
PAN = 1 / 320  # of the clip's width per frame (2 px at 640x360): a slow pan, 2 s across an eighth of the frame


@dataclass(frozen=True)
class Clip:
    path: Path
    shots: list[int]  # first frame of each shot
    colour_shots: list[int]  # indices (into shots) left in colour


def _pan(photo: np.ndarray, size: tuple[int, int], frames: int, direction: int) -> list[np.ndarray]:
    """``frames`` crops of ``size`` (w, h) sliding ``PAN * w`` per frame over ``photo`` scaled to cover the path."""
    w, h = size
    step = PAN * w
    travel = step * (frames - 1)
    dx, dy = [(1, 0), (0, 1), (1, 1), (-1, 0)][direction % 4]
    need_w, need_h = w + abs(dx) * travel, h + abs(dy) * travel
    scale = max(need_w / photo.shape[1], need_h / photo.shape[0])
    big = cv2.resize(photo, (math.ceil(photo.shape[1] * scale), math.ceil(photo.shape[0] * scale)),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    x0 = 0 if dx >= 0 else travel
    out = []
    for k in range(frames):
        x, y = x0 + dx * step * k, dy * step * k
        m = np.array([[1, 0, -x], [0, 1, -y]], np.float32)  # sub-pixel positions: a smooth pan
        out.append(cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return out


def make_clips(photos: list[tuple[str, np.ndarray]], folder: Path, size: tuple[int, int] = CLIP_SIZE,
               shot_frames: int = SHOT_FRAMES, fps: float = 25.0, crf: int = 10) -> list[Clip]:
    """Write ``pans.mp4`` (four gray pans, each over another photo, cut hard one to the next) and ``mixed.mp4``
    (gray, colour, gray) into ``folder`` (H.264, ``crf``); ``photos`` are BGR colour photos, at least 4."""
    from edgecolor.imageio import VideoWriter
    from edgecolor.video_encode import Encoding

    if len(photos) < 4:
        raise InputError(f"{len(photos)} photos cannot make the clips", "pass a folder of at least 4 colour photos")
    folder.mkdir(parents=True, exist_ok=True)
    # Photos spread over the set, so neighbouring shots differ (the cut must be a cut).
    step = max(1, len(photos) // 7)
    picks = [photos[(i * step) % len(photos)][1] for i in range(7)]
    plans = {"pans.mp4": [(picks[i], False) for i in range(4)],
             "mixed.mp4": [(picks[4], False), (picks[5], True), (picks[6], False)]}
    clips = []
    for name, shots in plans.items():
        writer = VideoWriter(folder / name, fps, encoding=Encoding(crf=crf))
        starts, colour = [], []
        try:
            for i, (photo, keep) in enumerate(shots):
                starts.append(writer.frames)
                if keep:
                    colour.append(i)
                for frame in _pan(photo, size, shot_frames, i):
                    writer.write(frame if keep else to_gray_bgr(frame))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        clips.append(Clip(folder / name, starts, colour))
    return clips


def shot_starts(frames: list[np.ndarray], config: TemporalConfig | None = None) -> list[int]:
    """First frame of each shot, by the video job's cut detector."""
    from edgecolor.stream.stabilize import grid_luma, is_cut

    config = config or TemporalConfig()
    starts, prev = [], None
    for i, frame in enumerate(frames):
        luma = grid_luma(frame, config.stabilizer.grid)
        if prev is None or is_cut(prev, luma, config.stabilizer):
            starts.append(i)
        prev = luma
    return starts


def _pairs(n: int, starts: list[int], gap: int) -> list[tuple[int, int]]:
    shot = np.searchsorted(starts, np.arange(n), side="right")
    return [(i, i + gap) for i in range(n - gap) if shot[i] == shot[i + gap]]


def _ab_hist(frame: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(frame, cv2.COLOR_BGR2LAB)
    hist = np.stack([np.bincount(lab[..., c].ravel(), minlength=256) for c in (1, 2)]).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def _js(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float((a[nz] * np.log(a[nz] / m[nz])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


def cdc(frames: list[np.ndarray], starts: list[int]) -> float | None:
    """CDC of BGR ``frames`` (see the module docstring); None when no shot has two frames."""
    hists = [_ab_hist(f) for f in frames]
    per_gap = []
    for gap in GAPS:
        pairs = _pairs(len(frames), starts, gap)
        if pairs:
            per_gap.append(np.mean([np.mean([_js(hists[i][c], hists[j][c]) for c in (0, 1)]) for i, j in pairs]))
    return float(np.mean(per_gap)) if per_gap else None


def _small(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    s = min(1.0, FLOW_SIDE / max(h, w))
    return cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


Motion = dict[int, tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]  # frame -> ((map x, map y), tracked mask)


def flows(inputs: list[np.ndarray], starts: list[int]) -> Motion:
    """For each frame ``i`` with a predecessor in its shot: the remap grids that warp frame ``i - 1`` onto it
    (Farneback flow on the input's luma at :data:`FLOW_SIDE`) and the mask of tracked pixels."""
    lumas = [(_small(f).astype(np.float32) @ LUMA_BGR) for f in inputs]
    out: Motion = {}
    for i, _ in _pairs(len(inputs), starts, 1):
        cur, prev = lumas[i + 1], lumas[i]
        flow = cv2.calcOpticalFlowFarneback(cur.astype(np.uint8), prev.astype(np.uint8), None,  # type: ignore[call-overload]
                                            0.5, 3, 15, 3, 5, 1.2, 0)
        h, w = cur.shape
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        maps = (xs + flow[..., 0], ys + flow[..., 1])
        warped = cv2.remap(prev, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (maps[0] >= 0) & (maps[0] <= w - 1) & (maps[1] >= 0) & (maps[1] <= h - 1)
        out[i + 1] = (maps, inside & (np.abs(warped - cur) < MATCH_LUMA))
    return out


def flicker(frames: list[np.ndarray], motion: Motion) -> float | None:
    """Motion-compensated chroma flicker of BGR ``frames`` (see the module docstring); ``motion``: :func:`flows`."""
    chroma = [_small(f).astype(np.float32) @ CHROMA_FROM_BGR.T for f in frames]
    diffs = []
    for i, (maps, mask) in motion.items():
        if mask.any():
            warped = cv2.remap(chroma[i - 1], *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            diffs.append(float(np.abs(chroma[i] - warped)[mask].mean()))
    return float(np.mean(diffs)) if diffs else None


VARIANTS = {"per_frame": None, "no_stabilize": TemporalConfig(stabilize=False, passthrough=True),
            "video_job": TemporalConfig(passthrough=True)}  # colorize's defaults


def through_stage(inputs: list[np.ndarray], outputs: list[np.ndarray], config: TemporalConfig) -> list[np.ndarray]:
    """What the video job writes for ``inputs`` whose engine outputs are ``outputs`` (in memory, no encoding)."""
    by_id = {id(f): o for f, o in zip(inputs, outputs, strict=True)}
    stage = TemporalStage(lambda f: lambda: by_id[id(f)], config)
    written = []
    for frame in inputs:
        written += [out() for out in stage.feed(frame)]
    written += [out() for out in stage.flush()]
    return written


def evaluate_clip(path: Path, colorize: Callable[[np.ndarray], np.ndarray],
                  on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """CDC and flicker of each of :data:`VARIANTS` on the clip at ``path`` (``colorize``: one BGR frame in, out)."""
    from edgecolor.imageio import VideoReader

    reader = VideoReader(path)
    try:
        inputs = list(reader)
    finally:
        reader.close()
    if len(inputs) < 2:
        raise InputError(f"{path} has {len(inputs)} frame(s)", "pass a clip of at least 2 frames")
    per_frame = []
    for frame in inputs:
        per_frame.append(colorize(frame))
        if on_frame:
            on_frame()
    starts = shot_starts(inputs)
    motion = flows(inputs, starts)
    rows: dict[str, Any] = {}
    for name, config in VARIANTS.items():
        frames = per_frame if config is None else through_stage(inputs, per_frame, config)
        rows[name] = {"cdc": cdc(frames, starts), "flicker": flicker(frames, motion)}
    for name in ("no_stabilize", "video_job"):
        for metric in ("cdc", "flicker"):
            base, value = rows["per_frame"][metric], rows[name][metric]
            rows[name][f"{metric}_ratio"] = round(value / base, 4) if base and value is not None else None
    return {"clip": str(path), "frames": len(inputs), "shots": len(starts), "shot_starts": starts, **rows}


def summarise(clips: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over clips of each variant's CDC and flicker, and the video job's ratios to per-frame."""
    out: dict[str, Any] = {}
    for name in VARIANTS:
        out[name] = {m: float(np.mean([c[name][m] for c in clips if c[name][m] is not None]))
                     for m in ("cdc", "flicker")}
    for name in ("no_stabilize", "video_job"):
        for m in ("cdc", "flicker"):
            out[name][f"{m}_ratio"] = round(out[name][m] / out["per_frame"][m], 4) if out["per_frame"][m] else None
    return out
