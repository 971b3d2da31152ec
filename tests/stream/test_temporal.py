"""The video job's temporal stage: shots split on the input, the stabiliser reset at each cut, colour shots
copied; judged on tiny hand-made frames and a fake engine whose output flickers."""

from __future__ import annotations

import numpy as np
import pytest

from edgecolor.colour import BGR_FROM_CHROMA, to_gray_bgr
from edgecolor.stream.temporal import COLOUR_THRESHOLD, TemporalConfig, TemporalStage, colour_score, is_colour_shot

from helpers import random_bgr


def _photo(seed: int, h: int = 72, w: int = 96) -> np.ndarray:
    """A smooth colour image: blocks of random colours, blurred (random noise would average out on the grid)."""
    import cv2

    return cv2.resize(random_bgr(6, 8, seed), (w, h), interpolation=cv2.INTER_LINEAR)


def _sepia(bgr: np.ndarray) -> np.ndarray:
    g = to_gray_bgr(bgr)[..., 0].astype(np.float32)
    return np.clip(np.stack([0.8 * g, 0.95 * g + 5, g + 12], -1), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("kind", "colour"), [("gray", False), ("noisy gray", False), ("sepia", False),
                                              ("colour", True)])
def test_the_colour_test_tells_colour_from_gray_and_toned(kind, colour):
    photo = _photo(3)
    rng = np.random.default_rng(0)
    frame = {"gray": to_gray_bgr(photo),
             "noisy gray": np.clip(to_gray_bgr(photo) + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8),
             "sepia": _sepia(photo), "colour": photo}[kind]
    assert (colour_score(frame) >= COLOUR_THRESHOLD) is colour
    assert is_colour_shot([frame] * 3) is colour


class FlickeringEngine:
    """A colorizer stand-in: gray in, a fixed tint plus up to +-8 of chroma (Cb, Cr; luma kept) that changes
    every frame."""

    def __init__(self) -> None:
        self.calls = 0
        self.rng = np.random.default_rng(1)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.calls += 1
        offset = (np.array([10.0, -10.0]) + self.rng.integers(-8, 9, 2)) @ BGR_FROM_CHROMA.T
        return np.clip(np.rint(frame.astype(np.float32) + offset), 0, 255).astype(np.uint8)

    def submit(self, frame: np.ndarray):
        out = self(frame)
        return lambda: out


def _run(frames: list[np.ndarray], config: TemporalConfig, engine: FlickeringEngine) -> tuple[list, TemporalStage]:
    stage = TemporalStage(engine.submit, config)
    written = []
    for f in frames:
        for out in stage.feed(f):
            out.start()
            written.append(out())
    written += [out() for out in stage.flush()]
    return written, stage


def test_cuts_reset_the_stabiliser_and_colour_shots_are_copied():
    a, b, c = (to_gray_bgr(_photo(s)) for s in (1, 2, 4))
    colour = _photo(5)
    frames = [a] * 10 + [colour] * 5 + [b] * 10 + [c] * 3  # gray, colour, gray, a short gray shot
    per_frame = FlickeringEngine()
    expected = [per_frame(f) for f in frames]  # same noise sequence as the stage's engine sees (minus copies)
    engine = FlickeringEngine()
    out, stage = _run(frames, TemporalConfig(passthrough=True), engine)
    assert len(out) == len(frames)
    assert (stage.stats.shots, stage.stats.colour_shots, stage.stats.copied_frames) == (4, 1, 5)
    assert engine.calls == len(frames) - 5  # a copied shot never reaches the engine
    for k in range(10, 15):
        assert np.array_equal(out[k], colour)
    assert np.array_equal(out[0], expected[0])  # the first frame of a shot is the engine's own output
    chroma_steps = [np.abs(out[k].astype(int) - out[k - 1].astype(int)).mean() for k in range(1, 10)]
    raw_steps = [np.abs(expected[k].astype(int) - expected[k - 1].astype(int)).mean() for k in range(1, 10)]
    assert np.mean(chroma_steps) < 0.5 * np.mean(raw_steps)  # the stabiliser works within a shot


def test_first_frame_after_a_cut_is_the_engine_output_exactly():
    a, b = to_gray_bgr(_photo(1)), to_gray_bgr(_photo(2))
    frames = [a] * 8 + [b] * 4
    engine = FlickeringEngine()
    raw: list[np.ndarray] = []

    def submit(frame):
        out = engine(frame)
        raw.append(out)
        return lambda: out

    stage = TemporalStage(submit, TemporalConfig())
    out = [o() for f in frames for o in stage.feed(f)] + [o() for o in stage.flush()]
    assert np.array_equal(out[8], raw[8]) and not np.array_equal(out[7], raw[7])


@pytest.mark.parametrize(("config", "task", "copies"), [
    (TemporalConfig(), "colorize", True), (TemporalConfig(), "stylize", False),
    (TemporalConfig(passthrough=False), "colorize", False), (TemporalConfig(passthrough=True), "stylize", True),
])
def test_passthrough_by_default_for_colorizers_only(config, task, copies):
    assert config.for_task(task).passthrough is copies


def test_off_is_the_engine_output_frame_by_frame():
    frames = [to_gray_bgr(_photo(1))] * 4 + [_photo(2)] * 4
    expected_engine, engine = FlickeringEngine(), FlickeringEngine()
    expected = [expected_engine(f) for f in frames]
    out, stage = _run(frames, TemporalConfig(stabilize=False, passthrough=False), engine)
    assert all(np.array_equal(x, y) for x, y in zip(out, expected, strict=True))
    assert stage.stats.copied_frames == 0
