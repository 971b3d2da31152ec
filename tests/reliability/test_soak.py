"""Soak, CI length (issue 7, item 3): the pipeline on the bundled clip, looped and paced like a camera, for
12 s with a tiny frame model: RSS growth after warm-up <= 5 MB, no output gap > 1 s. The 30-minute run is
``benchmarks/soak.py`` (results in ``benchmarks/soak_results.md``)."""

from __future__ import annotations

import pytest

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.bench.soak import LoopingSource, summarise
from edgecolor.bench.soak import soak as run_soak
from edgecolor.registry import SAMPLE_CLIP

from helpers import tiny_colorizer


def test_short_soak_holds_memory_and_never_stalls(tmp_path):
    engine = OrtEngine(tiny_colorizer(tmp_path / "tiny.onnx", net_size=32), threads=1)
    result = run_soak(engine, SAMPLE_CLIP, duration_s=12.0, warmup_s=4.0, sample_every_s=0.5)
    print({k: v for k, v in result.items() if k != "rss_samples"})
    assert result["stopped_by"] == "soak duration reached"
    assert result["loops"] >= 1  # the 12 s clip at 10 fps wrapped around at least once: looping is exercised
    assert result["frames"] >= 0.8 * 12 * result["clip_fps"]  # paced like a camera, and kept up
    assert result["rss_mb"]["growth_after_warmup"] <= 5.0, result["rss_mb"]
    assert result["longest_stall_s"] <= 1.0 and result["passed"]


def test_looping_source_wraps_and_stops():
    src = LoopingSource(SAMPLE_CLIP)
    src.fps = 10_000.0  # do not pace: just wrap around
    frames = src.frames()
    indices = [next(frames).index for _ in range(130)]  # the clip has 120 frames
    assert indices == list(range(130)) and src.loops == 1
    src.stop()
    assert sum(1 for _ in frames) <= 1


@pytest.mark.parametrize("rss, gap_at, passed", [
    ([100.0] * 20, None, True),
    ([100.0 + 0.5 * i for i in range(20)], None, False),  # +0.5 MB/s: a leak
    ([100.0] * 20, 15.0, False),  # a 1.5 s stall after warm-up
    ([100.0 + (30 if i < 5 else 0) for i in range(20)], None, True),  # warm-up spikes do not count
])
def test_summary_catches_leaks_and_stalls(rss, gap_at, passed):
    samples = [(float(i), m) for i, m in enumerate(rss)]
    times = [k * 0.1 for k in range(200)]
    if gap_at is not None:
        times = [t for t in times if not gap_at < t < gap_at + 1.5]
    result = summarise(samples, times, [10.0] * len(times), 0.0, warmup_s=5.0)
    assert result["passed"] is passed


def test_the_looped_clip_is_paced_by_the_sources_one_pacer(monkeypatch):
    from edgecolor.stream import sources

    calls = []
    monkeypatch.setattr(sources, "_pace", lambda index, t0, fps: calls.append((index, fps)) or 0.0)  # seconds slept
    src = LoopingSource(SAMPLE_CLIP)
    frames = src.frames()
    for _ in range(125):  # across the wrap of the 120-frame clip: the pace keeps counting
        next(frames)
    assert [i for i, _ in calls] == list(range(125)) and {f for _, f in calls} == {src.fps} and src.live
    src.close()
