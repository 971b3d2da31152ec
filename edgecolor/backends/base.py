"""The Engine protocol every backend follows (ONNX Runtime, TensorRT).

Polygraphy-style: this base class owns the public methods and their checks; a backend overrides only the
small ``*_impl`` methods. Frames at the boundary are ``numpy.uint8`` BGR, ``H x W x 3`` (one frame) or
``N x H x W x 3`` (a batch), C-contiguous; the output has the input's shape. That is checked where frames come
out (:func:`check_output`), on every frame: a model returning another size, dtype or layout is a one-line
:class:`~edgecolor.errors.ModelError` naming what it returned and what it must return.
:func:`edgecolor.backends.open_engine` runs one probe frame through each engine it opens, so a model that breaks
the contract is refused before a command starts its work.

Extra inputs are the frame model's scalar inputs with defaults (e.g. ``colour_strength``), recorded in its
metadata (:attr:`~edgecolor.graph.contract.FrameModelInfo.extra_inputs`). A value can change on every call, so a
control such as a style or strength switch takes effect on the next frame without reloading the engine.

Overlap: :meth:`Engine.submit` starts a frame and returns a :class:`Pending` to collect it later, so a caller
(the streaming pipeline) submits frame k+1 before it collects frame k. TensorRT overrides
:meth:`Engine._submit_impl` with its two CUDA-stream slots; every other backend inherits the default: one
worker thread per engine runs :meth:`Engine._infer_impl`, one frame at a time in submission order (two runs
of one network at once would only fight over the same cores). A :class:`TwoStageEngine` (the CPU split path,
whose network alternates with full-resolution colour math that keeps one core busy) has one worker per
stage instead, so the network of frame k+1 runs while the colour math of frame k does: its own version of
TensorRT's two slots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

from edgecolor.errors import InputError, ModelError
from edgecolor.graph.contract import FRAME, FrameModelInfo
from edgecolor.imageio import is_bgr_frame

OUTPUT_REMEDY = ("re-export the model so its output has the input frame's size and layout, or wrap its network: "
                 "edgecolor build NET --adapter SPEC")


def _dims(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def check_output(out: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    """The frame-model contract where frames come out: ``out`` must be ``uint8`` of the input batch's ``shape``
    (``N x H x W x 3``); anything else is the model's fault, a one-line ModelError (what ``name`` returned,
    what it must return)."""
    if not isinstance(out, np.ndarray):
        raise ModelError(f"{name} returned {type(out).__name__[:40]} for a uint8 {_dims(shape)} frame, must "
                         f"return a uint8 {_dims(shape)} array", OUTPUT_REMEDY)
    if out.shape != shape or out.dtype != np.uint8:
        raise ModelError(f"{name} returned {out.dtype} {_dims(out.shape)} for a uint8 {_dims(shape)} frame, must "
                         f"return uint8 {_dims(shape)} (the input's size, N x H x W x 3 BGR)", OUTPUT_REMEDY)


class Pending:
    """A submitted frame: call it to wait for the output (once or many times; it is kept).

    ``compute_ms`` is the engine's own time for it once collected: the worker thread's run for CPU
    backends (a two-stage engine's: both stages' runs, not the wait between them); from submission to the
    result for backends that override :meth:`Engine._submit_impl` (an upper bound: TensorRT's copy-in,
    compute and copy-out, plus any time before it was collected).
    """

    def __init__(self, wait: Callable[[], tuple[np.ndarray, float | None]], single: bool, shape: tuple[int, ...],
                 name: str, done: Callable[[], bool] | None = None) -> None:
        """``wait`` returns the output and the compute milliseconds when the backend measured them; ``name``:
        the engine's model, as a bad output names it."""
        self._wait, self._single, self._shape, self._name, self._done = wait, single, shape, name, done
        self._out: np.ndarray | None = None
        self.submitted = time.perf_counter()
        self.compute_ms: float | None = None

    def done(self) -> bool:
        """Whether collecting would not wait (``True`` when the backend cannot tell: collect at once)."""
        return self._out is not None or self._done is None or self._done()

    def __call__(self) -> np.ndarray:
        if self._out is None:
            out, self.compute_ms = self._wait()
            check_output(out, self._shape, self._name)
            if self.compute_ms is None:
                self.compute_ms = (time.perf_counter() - self.submitted) * 1000
            self._out = out[0] if self._single else out
        return self._out


class Engine:
    """Base class: ``engine(frame, **extra) -> frame``; subclasses set ``defaults``, ``info`` (what the model
    records, :class:`~edgecolor.graph.contract.FrameModelInfo`) and ``name`` (the model's file name, as errors name
    it)."""

    backend = "abstract"

    def __init__(self) -> None:
        self.name = "the model"
        self.defaults: dict[str, float] = {}
        self.info = FrameModelInfo()
        self._closed = False
        self._workers: dict[str, ThreadPoolExecutor] = {}  # by name, made on first use, in order of use
        self._worker_lock = threading.Lock()
        # One run at a time per engine, whichever thread asks (infer() beside a submitted run): an OpenVINO
        # infer request is not safe to run from two threads at once (ONNX Runtime's session would be).
        self._run_lock = threading.Lock()

    # --- public API (checks live here, once) ----------------------------------------------------------
    @property
    def streams(self) -> int:
        """How many frames compute at once when submitted back to back (a streams engine: N; else 1)."""
        return 1

    @property
    def input_names(self) -> list[str]:
        """``frame`` followed by the extra scalar inputs."""
        return [FRAME, *self.defaults]

    def infer(self, frame: np.ndarray, **extra: float | None) -> np.ndarray:
        """Run the frame model on one frame (``H x W x 3``) or a batch (``N x H x W x 3``), uint8 BGR."""
        batch, single = self._check_frame(frame)
        values = self._check_extra(extra)
        with self._run_lock:
            out = self._infer_impl(batch, values)
        check_output(out, batch.shape, self.name)
        return out[0] if single else out

    __call__ = infer

    def submit(self, frame: np.ndarray, **extra: float | None) -> Pending:
        """Start inference of one frame (or batch) and return at once; call the :class:`Pending` for the
        output. Checks are the same as :meth:`infer`'s, on the caller's thread."""
        batch, single = self._check_frame(frame)
        values = self._check_extra(extra)
        if type(self)._submit_impl is Engine._submit_impl:
            future = self._on_worker(batch, values)
            return Pending(future.result, single, batch.shape, self.name, future.done)
        wait = self._submit_impl(batch, values)
        return Pending(lambda: (wait(), None), single, batch.shape, self.name)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with self._worker_lock:
                workers, self._workers = list(self._workers.values()), {}
            for worker in workers:  # in order of use: a submitted run finishes before its session goes
                worker.shutdown(wait=True)
            self._close_impl()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what backends override ------------------------------------------------------------------------
    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        """``batch``: checked, contiguous uint8 ``[N, H, W, 3]``; ``extra``: every extra input's value."""
        raise NotImplementedError

    def _submit_impl(self, batch: np.ndarray, extra: dict[str, float]) -> Callable[[], np.ndarray]:
        """Start ``batch`` and return a callable that waits for its output. Not overridden: the default
        worker thread runs :meth:`_infer_impl` (see the module docstring)."""
        future = self._on_worker(batch, extra)
        return lambda: future.result()[0]

    def _on_worker(self, batch: np.ndarray, extra: dict[str, float]) -> Future[tuple[np.ndarray, float]]:
        """Start ``batch`` on the engine's worker thread(s); the future gives the output and compute ms."""
        return self._worker("run").submit(self._timed_infer, batch, extra)

    def _worker(self, name: str) -> ThreadPoolExecutor:
        """The engine's one-thread worker called ``name`` (made on first use; runs in submission order)."""
        with self._worker_lock:
            if self._closed:
                raise RuntimeError(f"{self.backend} engine used after close()")
            if name not in self._workers:
                self._workers[name] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"edgecolor-{self.backend}-{name}")
            return self._workers[name]

    def _timed_infer(self, batch: np.ndarray, extra: dict[str, float]) -> tuple[np.ndarray, float]:
        with self._run_lock:
            t = time.perf_counter()
            out = self._infer_impl(batch, extra)
            return out, (time.perf_counter() - t) * 1000

    def _close_impl(self) -> None:
        """Release backend resources (sessions, contexts, CUDA memory)."""

    # --- checks ----------------------------------------------------------------------------------------
    def _check_frame(self, frame: np.ndarray) -> tuple[np.ndarray, bool]:
        if self._closed:
            raise RuntimeError(f"{self.backend} engine used after close()")
        if not isinstance(frame, np.ndarray):
            raise InputError(f"frame must be a numpy array, got {type(frame).__name__}", "decode it first")
        single = frame.ndim == 3
        batch = frame[None] if single else frame
        if not is_bgr_frame(batch, batch=True):
            raise InputError(
                f"frame must be uint8 HxWx3 (or NxHxWx3) BGR, got {frame.dtype}{frame.shape}",
                "convert it to 8-bit BGR first",
            )
        return np.ascontiguousarray(batch), single

    def _check_extra(self, extra: dict[str, float | None]) -> dict[str, float]:
        values = dict(self.defaults)
        for name, value in extra.items():
            if name not in self.defaults:
                known = ", ".join(self.defaults) or "none"
                raise InputError(f"unknown model input '{name}'", f"known: {known}")
            if value is not None:
                values[name] = float(value)
        return values


State = TypeVar("State")


class TwoStageEngine(Engine, Generic[State]):
    """An engine in two stages, each on its own worker thread when frames are submitted (see the module
    docstring): :meth:`_prepare_impl` (the network: one at a time, under the run lock, as every run of the
    other backends) and :meth:`_finish_impl` (work on the frame's own arrays only). :meth:`infer` runs both in
    turn on the caller's thread. Frames come out in submission order, at most one per stage at a time."""

    def _prepare_impl(self, batch: np.ndarray, extra: dict[str, float]) -> State:
        raise NotImplementedError

    def _finish_impl(self, state: State, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        raise NotImplementedError

    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        return self._finish_impl(self._prepare_impl(batch, extra), batch, extra)

    def _on_worker(self, batch: np.ndarray, extra: dict[str, float]) -> Future[tuple[np.ndarray, float]]:
        first = self._worker("prepare").submit(self._timed_prepare, batch, extra)
        return self._worker("finish").submit(self._timed_finish, first, batch, extra)

    def _timed_prepare(self, batch: np.ndarray, extra: dict[str, float]) -> tuple[State, float]:
        with self._run_lock:
            t = time.perf_counter()
            state = self._prepare_impl(batch, extra)
            return state, (time.perf_counter() - t) * 1000

    def _timed_finish(self, first: Future[tuple[State, float]], batch: np.ndarray,
                      extra: dict[str, float]) -> tuple[np.ndarray, float]:
        state, prepare_ms = first.result()  # its error, if any, is this frame's
        t = time.perf_counter()
        out = self._finish_impl(state, batch, extra)
        return out, prepare_ms + (time.perf_counter() - t) * 1000
