"""Temporal chroma stabilisation: an exponential moving average of low-resolution chroma, reset on cuts.

Per-frame colorizers flicker: the predicted chroma of a static wall changes a little every frame. This
works on the *output* of any frame model, so it needs nothing from the model:

1. Downscale the output (INTER_AREA) to a small grid and take its centred BT.601 chroma
   (``edgecolor.colour``; the transform is linear, so downscaling first is exact).
2. ``ema = alpha * chroma + (1 - alpha) * ema`` per grid cell, where ``alpha`` rises to 1 in cells whose
   luma moved (so moving people do not leave colour trails), and the state is reset on a scene cut
   (large mean luma change) or a change of frame size.
3. Add the low-resolution correction ``ema - chroma`` back, upsampled, as a BGR offset: fine chroma detail
   and the luma of the current frame are kept; only slow, low-frequency colour changes are smoothed.

On a still image the correction is exactly zero, so stabilisation costs nothing there.
The state is an explicit :class:`StabilizerState` value, not hidden globals.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgecolor.colour import BGR_FROM_CHROMA, CHROMA_FROM_BGR, LUMA_BGR
from edgecolor.imageio import is_bgr_frame


@dataclass(frozen=True)
class StabilizeConfig:
    # Defaults chosen on vtest.avi with a colorizer (benchmarks/stream_results.md): flicker reduction rose
    # with a finer grid (64 -> 256 cells: 44% -> 53% at alpha 0.1), as networks predict chroma at ~112 px.
    alpha: float = 0.1  # weight of the current frame in still regions (lower = smoother, slower)
    grid: int = 256  # long side of the low-resolution chroma grid, in cells
    motion: float = 12.0  # luma change (0..255) per cell at which a cell follows the current frame fully
    cut: float = 20.0  # mean luma change (0..255) over the grid that counts as a scene cut

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.grid < 1 or self.motion <= 0 or self.cut <= 0:
            raise ValueError(
                f"grid, motion and cut must be positive, got {self.grid}, {self.motion}, {self.cut}"
            )


@dataclass(frozen=True)
class StabilizerState:
    """What carries over between frames; ``None`` fields mean "start afresh"."""

    ema: np.ndarray | None = None  # float32 [h, w, 2] smoothed chroma on the grid
    luma: np.ndarray | None = None  # float32 [h, w] luma of the last frame on the grid
    shape: tuple[int, ...] | None = None  # full frame shape the grid belongs to
    resets: int = 0  # scene cuts and size changes seen


def _grid_size(h: int, w: int, grid: int) -> tuple[int, int]:
    scale = min(1.0, grid / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def grid_luma(frame: np.ndarray, grid: int) -> np.ndarray:
    """Luma (0..255, float32) of BGR ``frame`` on the stabiliser's grid (long side ``grid`` cells, INTER_AREA)."""
    small = cv2.resize(frame, _grid_size(frame.shape[0], frame.shape[1], grid), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) @ LUMA_BGR


def is_cut(previous: np.ndarray, luma: np.ndarray, config: StabilizeConfig = StabilizeConfig()) -> bool:
    """The cut detector: the mean luma change over the grid (:func:`grid_luma`) exceeds ``config.cut``. The
    stabiliser resets on it, and video jobs split shots with it (:mod:`edgecolor.stream.temporal`)."""
    return previous.shape != luma.shape or float(np.abs(luma - previous).mean()) > config.cut


def stabilize(
    frame: np.ndarray, state: StabilizerState, config: StabilizeConfig = StabilizeConfig()
) -> tuple[np.ndarray, StabilizerState]:
    """Smooth the chroma of ``frame`` (BGR uint8 ``H x W x 3``) given ``state``; return (frame, new state)."""
    if not is_bgr_frame(frame):
        raise ValueError(f"frame must be uint8 HxWx3, got {frame.dtype}{frame.shape}")
    size = _grid_size(frame.shape[0], frame.shape[1], config.grid)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    chroma = small @ CHROMA_FROM_BGR.T
    luma = small @ LUMA_BGR
    if state.ema is None or state.luma is None or state.shape != frame.shape:
        return frame, StabilizerState(chroma, luma, frame.shape, state.resets + (state.shape is not None))
    if is_cut(state.luma, luma, config):
        return frame, StabilizerState(chroma, luma, frame.shape, state.resets + 1)
    moved = np.abs(luma - state.luma)
    alpha = np.clip(config.alpha + (1.0 - config.alpha) * moved / config.motion, config.alpha, 1.0)[..., None]
    ema = alpha * chroma + (1.0 - alpha) * state.ema
    offset = (ema - chroma) @ BGR_FROM_CHROMA.T  # [h, w, 3] BGR offset on the grid
    offset = cv2.resize(offset, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
    # One saturating, rounding pass in OpenCV: 3.3x faster at 720p than numpy's float round trip, which video
    # jobs (a stabilised frame each) felt; it differs from np.rint only on exact halves (1 LSB, a few pixels).
    out = cv2.add(frame, offset, dtype=cv2.CV_8U)
    return out, StabilizerState(ema.astype(np.float32), luma, frame.shape, state.resets)


class Stabilizer:
    """Holds a :class:`StabilizerState` for a stream; ``enabled`` may be toggled live (off resets it)."""

    def __init__(self, config: StabilizeConfig = StabilizeConfig(), enabled: bool = True) -> None:
        self.config = config
        self.state = StabilizerState()
        self._enabled = enabled

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if value != self._enabled:
            self.reset()  # stale chroma from before a pause would bleed into the first frames
        self._enabled = value

    def reset(self) -> None:
        self.state = StabilizerState(resets=self.state.resets)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if not self._enabled:
            return frame
        out, self.state = stabilize(frame, self.state, self.config)
        return out


def chroma_flicker(frames: list[np.ndarray]) -> float:
    """Mean |delta chroma| (0..255 scale, Cb and Cr) between consecutive BGR frames: the flicker metric."""
    if len(frames) < 2:
        raise ValueError(f"need at least 2 frames, got {len(frames)}")
    total = 0.0
    prev = frames[0].astype(np.float32) @ CHROMA_FROM_BGR.T
    for frame in frames[1:]:
        cur = frame.astype(np.float32) @ CHROMA_FROM_BGR.T
        total += float(np.abs(cur - prev).mean())
        prev = cur
    return total / (len(frames) - 1)
