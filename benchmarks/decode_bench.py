"""Decoding for video jobs: PyAV (FFmpeg in its wheels, frame threads) against today's OpenCV reader
(``edgecolor.imageio.VideoReader``), alone and inside ``bench --mode pipeline`` (issue 28, item 1).

Usage: PYTHONPATH=. python benchmarks/decode_bench.py [--rounds 3] [--seconds 8] > results/NAME.json

The 720p clip is the pipeline bench's own (the bundled clip resized, H.264, 120 frames). Decode-only rows read
the whole clip into BGR arrays; pipeline rows run :func:`edgecolor.bench.pipeline_mode.time_pipeline` with the
shipped colorizer (default CPU path) and the file source's reader swapped. Rows alternate round by round so a
neighbour's load falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class PyAvReader:
    """The part of :class:`~edgecolor.imageio.VideoReader` the file source uses, decoded by PyAV with FFmpeg's
    frame and slice threads (``AUTO``)."""

    threads = "AUTO"

    def __init__(self, path: Path, max_pixels: int | None = None) -> None:
        import av

        self._f = av.open(str(path))
        self._s = self._f.streams.video[0]
        if self.threads == "AUTO":
            self._s.thread_type = "AUTO"
        else:
            self._s.codec_context.thread_count = 1
        self.fps = float(self._s.average_rate or 25)
        self.frame_count = self._s.frames
        self.skipped = 0

    def indexed(self):
        for i, frame in enumerate(self._f.decode(self._s)):
            yield i, frame.to_ndarray(format="bgr24")

    def __iter__(self):
        for _, f in self.indexed():
            yield f

    def close(self) -> None:
        self._f.close()


class PyAvOneThread(PyAvReader):
    """PyAV decoding on one thread (the engine keeps the cores)."""

    threads = "1"


def decode_rate(reader_cls, clip: Path) -> float:
    t0 = time.perf_counter()
    r = reader_cls(clip)
    n = sum(1 for f in r if isinstance(f, np.ndarray))
    r.close()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()

    import edgecolor.stream.sources as sources
    from edgecolor.backends import open_engine
    from edgecolor.bench.pipeline_mode import time_pipeline
    from edgecolor.bench.runner import make_clip
    from edgecolor.imageio import VideoReader
    from edgecolor.registry import resolve_model
    from edgecolor.system import describe_machine

    readers = {"opencv": VideoReader, "pyav": PyAvReader, "pyav_1_thread": PyAvOneThread}
    rows: dict[str, dict[str, list[float]]] = {k: {"decode_fps": [], "pipeline_fps": []} for k in readers}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(720, 1280, Path(tmp))
        engine = open_engine(resolve_model("colorizer"))
        for _ in range(args.rounds):
            for name, cls in readers.items():
                rows[name]["decode_fps"].append(round(decode_rate(cls, clip), 1))
                sources.VideoReader = cls  # the file source's reader
                try:
                    stats, _ = time_pipeline(engine, 720, 1280, 1.0, Path(tmp), duration_s=args.seconds)
                finally:
                    sources.VideoReader = VideoReader
                rows[name]["pipeline_fps"].append(round(stats.throughput_fps, 2))
                print(name, rows[name], file=sys.stderr)
    summary = {k: {m: float(np.median(v)) for m, v in r.items()} for k, r in rows.items()}
    ratios = {k: {m: round(summary[k][m] / summary["opencv"][m], 3) for m in summary[k]} for k in summary}
    json.dump({"machine": describe_machine(), "clip": "bundled clip at 1280x720, H.264 (bench's make_clip)",
               "rounds": rows, "median": summary, "over_opencv": ratios},
              sys.stdout, indent=1)


if __name__ == "__main__":
    main()
