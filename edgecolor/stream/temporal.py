"""The temporal stage of a video job: shots, colour passthrough and the stabiliser, between engine and writer.

``colorize`` and ``stylize`` of a video hand every decoded frame to a :class:`TemporalStage`, which returns the
frames to write, in order, as :class:`Output` values (``start()`` submits one to the engine, calling it gives
the frame), so the caller keeps as many frames in the engine as it always did:

* **Shots.** A shot starts at the first frame and at every cut, found on the *input* by the stabiliser's cut
  detector (:func:`edgecolor.stream.stabilize.is_cut`: the mean luma change over a 256-cell grid above 20 of
  255), or at a change of frame size.
* **Stabiliser** (on by default, ``--no-stabilize``): each engine output goes through
  :class:`~edgecolor.stream.stabilize.Stabilizer` (chroma EMA), which is reset at every shot start, so no colour
  carries over a cut. It works on the output alone, so any frame model (shipped or adapted) gets it.
* **Colour passthrough** (colorizers only, shipped or adapted; ``--recolour`` turns it off): the first frames
  of each shot (up to :attr:`TemporalConfig.lookahead`) are held back and tested with :func:`is_colour_shot`;
  a shot that already carries colour is copied unchanged (the engine never sees it), any other is colorized.

The colour test (:func:`colour_score`, documented in docs/video.md): on a 64-cell grid, the BT.601 chroma of each
cell less the mean chroma of the cells of similar luma (8 luma bins), as an RMS in 0..255 units. Gray film is
near 0 whatever its compression noise; toned film (sepia, cyanotype, a tint) has one chroma per luma level, so
it is near 0 too and is colorized; a photograph in colour has different hues at the same luma. A shot carries
colour when the median score of its tested frames is at least :data:`COLOUR_THRESHOLD`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from edgecolor.choices import Task
from edgecolor.colour import CHROMA_FROM_BGR, LUMA_BGR
from edgecolor.stream.stabilize import StabilizeConfig, Stabilizer, grid_luma, is_cut

COLOUR_GRID = 64  # long side of the colour test's grid, in cells
LUMA_BINS = 8
# RMS chroma (0..255) beside the luma-predicted chroma at and above which a frame carries colour. Chosen on
# seven colour images outside data/eval (docs/video.md): their gray (with noise) and sepia versions score at
# most 1.24, the colour images 3.13 (a mostly black Hubble field) and up; 2.0 sits between with margin both ways.
COLOUR_THRESHOLD = 2.0
HELD_BYTES = 256 << 20  # the held frames' memory cap (24 frames up to 1080p, 10 at 4K; never fewer than 4)


def colour_score(frame: np.ndarray) -> float:
    """How much colour BGR uint8 ``frame`` (``H x W x 3``) carries beyond a tone: the RMS (0..255 units) of each
    grid cell's centred chroma less the mean chroma of the cells in its luma bin (see the module docstring)."""
    h, w = frame.shape[:2]
    scale = min(1.0, COLOUR_GRID / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1, 3)
    chroma = small @ CHROMA_FROM_BGR.T
    bins = np.minimum((small @ LUMA_BGR) * (LUMA_BINS / 256.0), LUMA_BINS - 1).astype(np.int64)
    counts = np.bincount(bins, minlength=LUMA_BINS).astype(np.float32)[:, None]
    sums = np.stack([np.bincount(bins, chroma[:, c], LUMA_BINS) for c in range(2)], axis=1)
    residual = chroma - (sums / np.maximum(counts, 1.0))[bins]
    return float(np.sqrt((residual**2).sum(axis=1).mean()))


def is_colour_shot(frames: list[np.ndarray], threshold: float = COLOUR_THRESHOLD) -> bool:
    """Whether a shot whose first frames are ``frames`` already carries colour: median :func:`colour_score`."""
    return bool(frames) and float(np.median([colour_score(f) for f in frames])) >= threshold


@dataclass(frozen=True)
class TemporalConfig:
    stabilize: bool = True
    # Copy colour shots unchanged: True, False, or None for "by the model": a colorizer's job keeps them, a
    # style's does not (:meth:`for_task`).
    passthrough: bool | None = None
    stabilizer: StabilizeConfig = field(default_factory=StabilizeConfig)
    lookahead: int = 24  # frames of a shot held back for the colour test, at most HELD_BYTES of them
    threshold: float = COLOUR_THRESHOLD

    def for_task(self, task: str | None) -> TemporalConfig:
        """This config with ``passthrough`` decided for a model whose ``edgecolor.task`` is ``task``."""
        if self.passthrough is not None:
            return self
        return replace(self, passthrough=task == Task.COLORIZE)

    @property
    def active(self) -> bool:
        return self.stabilize or bool(self.passthrough)

    def key(self) -> dict[str, object]:
        """What an output depends on, for the resume record (:func:`edgecolor.jobs.record.settings_key`)."""
        return {"stabilize": self.stabilize, "keep_colour": "auto" if self.passthrough is None else self.passthrough}


@dataclass
class TemporalStats:
    shots: int = 0
    colour_shots: int = 0
    copied_frames: int = 0  # frames of colour shots written unchanged


class Output:
    """One frame to write: :meth:`start` hands it to the engine (a copied frame needs none); calling it waits for
    the frame, stabilised. Outputs are called in the order the stage returned them (the stabiliser's order)."""

    def __init__(self, frame: np.ndarray, stage: TemporalStage, shot_start: bool, copy: bool) -> None:
        self.frame, self.shot_start, self.copy = frame, shot_start, copy
        self._stage = stage
        self._pending: Callable[[], np.ndarray] | None = None

    def start(self) -> None:
        if not self.copy and self._pending is None:
            self._pending = self._stage._submit(self.frame)

    def __call__(self) -> np.ndarray:
        if self.copy:
            return self.frame
        pending = self._pending or self._stage._submit(self.frame)
        stabilizer = self._stage._stabilizer
        if self.shot_start:
            stabilizer.reset()  # nothing of the shot before a cut bleeds into this one
        return stabilizer(pending())


class TemporalStage:
    """Turns decoded frames (BGR uint8 ``H x W x 3``) into the frames to write, in order: :meth:`feed` each
    input frame, then :meth:`flush` at the end; each returns the :class:`Output` values that are ready, to be
    started and called in the order given. ``submit`` sends one frame to the engine and returns its pending
    output (``lambda f: engine.submit(f, **values)``)."""

    def __init__(self, submit: Callable[[np.ndarray], Callable[[], np.ndarray]],
                 config: TemporalConfig = TemporalConfig()) -> None:
        self.config = config
        self.stats = TemporalStats()
        self._submit = submit
        self._stabilizer = Stabilizer(config.stabilizer, enabled=config.stabilize)
        self._luma: np.ndarray | None = None
        self._held: list[tuple[np.ndarray, bool]] = []  # (frame, starts a shot) awaiting the colour test
        self._colour: bool | None = False  # the current shot's verdict; None: not decided yet

    def feed(self, frame: np.ndarray) -> list[Output]:
        ready: list[Output] = []
        start = self._starts_shot(frame)
        if start:
            self.stats.shots += 1
            ready += self._release()  # a shot shorter than the lookahead is judged on all of its frames
            self._colour = None if self.config.passthrough else False
        if self._colour is None:
            self._held.append((frame, start))
            if len(self._held) >= max(4, min(self.config.lookahead, HELD_BYTES // frame.nbytes)):
                ready += self._release()
            return ready
        ready.append(self._output(frame, start))
        return ready

    def flush(self) -> list[Output]:
        return self._release()

    def _starts_shot(self, frame: np.ndarray) -> bool:
        if not self.config.active:  # nothing needs shots: no per-frame grid work
            return self.stats.shots == 0
        luma = grid_luma(frame, self.config.stabilizer.grid)
        start = self._luma is None or is_cut(self._luma, luma, self.config.stabilizer)
        self._luma = luma
        return start

    def _release(self) -> list[Output]:
        if not self._held:
            return []
        self._colour = is_colour_shot([f for f, _ in self._held], self.config.threshold)
        self.stats.colour_shots += self._colour
        held, self._held = self._held, []
        return [self._output(f, s) for f, s in held]

    def _output(self, frame: np.ndarray, start: bool) -> Output:
        self.stats.copied_frames += bool(self._colour)
        return Output(frame, self, start, bool(self._colour))
