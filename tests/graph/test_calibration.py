"""Calibration frames (even sampling, hold-out, limits, bad sources) and the scale-cache key."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.graph.calibration import MIN_FRAMES, cache_key, cache_paths, even_indices, load_frames

from build_helpers import image_folder


@pytest.mark.parametrize(("total", "count", "want"), [(10, 3, [0, 4, 9]), (3, 5, [0, 1, 2]), (1, 1, [0])])
def test_even_indices(total, count, want):
    assert even_indices(total, count) == want


def test_folder_split_is_disjoint_and_sized(tmp_path):
    frames = load_frames(image_folder(tmp_path / "f", 14), count=10, holdout=4, size=32)
    assert len(frames.calib) == 10 and len(frames.holdout) == 4
    assert all(f.shape == (24, 32, 3) and f.dtype == np.uint8 for f in frames.calib + frames.holdout)
    assert len(set(frames.ids)) == 14  # held-out frames are not calibration frames


def test_video_source(tmp_path):
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (40, 30))
    for i in range(20):
        writer.write(np.full((30, 40, 3), i * 10, np.uint8))
    writer.release()
    frames = load_frames(path, count=MIN_FRAMES, holdout=2, size=32)
    assert len(frames.calib) == MIN_FRAMES and frames.ids[0].startswith("v.avi@0#")


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_frames(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        load_frames(tmp_path / "empty")
    with pytest.raises(InputError, match="at least"):
        load_frames(image_folder(tmp_path / "few", 5), count=10, holdout=2)
    bad = image_folder(tmp_path / "bad", 12)
    (bad / "f005.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="f005.png"):
        load_frames(bad, count=10, holdout=2)


def test_reading_few_frames_does_not_warn_about_int8_ranges(tmp_path, caplog):
    """FP16 builds read frames for the gate only; the INT8 builder warns (tests/cli/test_help_and_progress.py)."""
    load_frames(image_folder(tmp_path / "f", 12), count=10, holdout=2, size=32)
    assert "INT8 ranges" not in caplog.text


def test_cache_key_invalidation(tmp_path):
    a = load_frames(image_folder(tmp_path / "a", 12), count=10, holdout=2, size=32)
    b = load_frames(image_folder(tmp_path / "b", 12, seed=1), count=10, holdout=2, size=32)
    opts = {"target": "trt", "method": "entropy"}
    key, meta = cache_key("m1", a, opts)
    assert key == cache_key("m1", a, opts)[0]
    assert key != cache_key("m2", a, opts)[0]  # model changed
    assert key != cache_key("m1", b, opts)[0]  # frames changed
    assert key != cache_key("m1", a, {**opts, "method": "max"})[0]  # options changed
    scales, hit = cache_paths(key, meta, tmp_path / "cache")
    assert not hit
    scales.write_text("{}")
    assert cache_paths(key, meta, tmp_path / "cache") == (scales, True)
    stale = {**meta, "frames": ["other"]}  # same file name, different ingredients: never reused
    path, hit = cache_paths(key, stale, tmp_path / "cache")
    assert not hit and not path.exists()
