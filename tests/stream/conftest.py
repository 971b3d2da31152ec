"""Shared fixtures for the streaming tests: tiny frame models and short clips generated here."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecolor.backends.onnxruntime import OrtEngine

from helpers import tiny_colorizer


def write_clip(path: Path, n: int, size: tuple[int, int] = (64, 48), fps: float = 10.0) -> Path:
    """A short clip whose frame k has a bright square at x = 2k (so frames are distinguishable)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for k in range(n):
        img = np.full((h, w, 3), 40, np.uint8)
        img[8:24, 2 * k % (w - 16) : 2 * k % (w - 16) + 16] = 220
        writer.write(img)
    writer.release()
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("models") / "tiny.onnx", gain=0.5)


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("models") / "tiny_b.onnx", cb=-30.0, cr=25.0)


@pytest.fixture(scope="session")
def engine(tiny_model):
    return OrtEngine(tiny_model, threads=1)


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", 12)


@pytest.fixture
def make_clip():
    """``make_clip(path, n, size=(64, 48), fps=10.0)`` writes a short generated clip."""
    return write_clip
