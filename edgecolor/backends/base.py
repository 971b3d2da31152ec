"""The Engine protocol every backend follows (ONNX Runtime, TensorRT).

Polygraphy-style: this base class owns the public methods and their checks; a backend overrides only the
small ``*_impl`` methods. Frames at the boundary are ``numpy.uint8`` BGR, ``H x W x 3`` (one frame) or
``N x H x W x 3`` (a batch), C-contiguous; the output has the input's shape.

Extra inputs are the frame model's scalar inputs with defaults (e.g. ``colour_strength``), recorded in the
model's ``edgecolor.extra_inputs`` metadata. A value can change on every call, so a control such as a
style or strength switch takes effect on the next frame without reloading the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from edgecolor.errors import InputError, ModelError


def extra_defaults(spec: str | Mapping[str, Any] | None, what: str, remedy: str,
                   bare_values: bool = False) -> dict[str, float]:
    """Defaults of a model's extra scalar inputs from their record: JSON text or a mapping of name to
    ``{"default": value}`` (frame-model metadata) or, with ``bare_values``, to the value itself (manifests).
    A malformed record (not JSON, nested too deep, a default that is not a finite number) raises ModelError
    ``"{what} malformed (...)"`` with ``remedy``."""
    from edgecolor import jsonio

    try:
        extras = jsonio.loads(spec, "the record", ModelError) if isinstance(spec, str) else (spec or {})
    except ModelError as err:
        raise ModelError(f"{what} malformed ({err.problem[:80]})", remedy) from err
    if not isinstance(extras, Mapping):
        raise ModelError(f"{what} malformed (not a JSON object)", remedy)
    defaults = {}
    for name, entry in extras.items():
        value = entry if bare_values and not isinstance(entry, dict) else (
            entry.get("default") if isinstance(entry, dict) else None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelError(f"{what} malformed ('{str(name)[:40]}' has no finite numeric 'default')", remedy)
        defaults[str(name)] = float(value)
    return defaults


class Engine:
    """Base class: ``engine(frame, **extra) -> frame``; subclasses set ``defaults`` and ``metadata``."""

    backend = "abstract"

    def __init__(self) -> None:
        self.defaults: dict[str, float] = {}
        self.metadata: dict[str, str] = {}
        self._closed = False

    # --- public API (checks live here, once) ----------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        """``frame`` followed by the extra scalar inputs."""
        from edgecolor.graph.frame import FRAME  # lazily: graph.frame imports onnx

        return [FRAME, *self.defaults]

    def infer(self, frame: np.ndarray, **extra: float | None) -> np.ndarray:
        """Run the frame model on one frame (``H x W x 3``) or a batch (``N x H x W x 3``), uint8 BGR."""
        batch, single = self._check_frame(frame)
        values = self._check_extra(extra)
        out = self._infer_impl(batch, values)
        if out.shape != batch.shape or out.dtype != np.uint8:
            raise RuntimeError(f"{self.backend} returned {out.dtype}{out.shape} for input {batch.shape}")
        return out[0] if single else out

    __call__ = infer

    def submit(self, frame: np.ndarray, **extra: float | None) -> Callable[[], np.ndarray]:
        """Start inference and return a callable that waits for the result.

        Backends with asynchronous execution (TensorRT on two CUDA streams) override
        :meth:`_submit_impl` so the caller can prepare frame k+1 while frame k computes.
        """
        batch, single = self._check_frame(frame)
        values = self._check_extra(extra)
        wait = self._submit_impl(batch, values)

        def result() -> np.ndarray:
            out = wait()
            return out[0] if single else out

        return result

    def close(self) -> None:
        if not self._closed:
            self._closed = True
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
        out = self._infer_impl(batch, extra)
        return lambda: out

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
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[-1] != 3 or 0 in batch.shape:
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
