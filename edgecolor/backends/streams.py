"""Throughput mode for CPU engines: N sessions of one model, each on its own share of the cores, frames dealt out
in turn (trtexec's ``--streams``, OpenVINO's THROUGHPUT hint).

One ONNX Runtime session with every core splits each operator across its threads, and each thread waits for the
slowest at every operator; a small network at 720p spends much of its time so. Two sessions of one thread each,
frame k on one and k+1 on the other, never wait for each other: on the 2-core CI VM the split colorizer ran
1.42x the frames/s in engine mode and 1.30x in the pipeline
(``benchmarks/results/pipeline-overlap-2026-12-01-no-spin-streams.md``).
The price is latency: each frame gets fewer threads, so it takes longer, and N frames are in flight at once.
So it is for files and archives; a live camera keeps one stream (the default).

:func:`edgecolor.backends.open_engine` builds it (``streams=N``); TensorRT overlaps through its own CUDA-stream
slots instead.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

import numpy as np

from edgecolor.backends.base import Engine, Pending

MAX_STREAMS = 64  # as many sessions as an edge board has cores, and then some


class StreamsEngine(Engine):
    """``engines`` (N sessions of one model) behind one Engine: :meth:`submit` deals frames out in turn, each to
    its session's worker thread, so N frames compute at once; :meth:`infer` (one frame, waiting) runs on the next
    session in turn. Frames come out in the order the caller collects them."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        super().__init__()
        if len(engines) < 2:
            raise ValueError("a streams engine needs at least two engines")
        self.engines = list(engines)
        first = self.engines[0]
        self.backend, self.info, self.defaults = first.backend, first.info, first.defaults
        self.name = first.name
        self._turn = itertools.cycle(self.engines)
        self._turn_lock = threading.Lock()

    @property
    def streams(self) -> int:
        return len(self.engines)

    def _next(self) -> Engine:
        with self._turn_lock:
            return next(self._turn)

    def infer(self, frame: np.ndarray, **extra: float | None) -> np.ndarray:
        return self._next().infer(frame, **extra)

    __call__ = infer

    def submit(self, frame: np.ndarray, **extra: float | None) -> Pending:
        return self._next().submit(frame, **extra)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for engine in self.engines:
                engine.close()
