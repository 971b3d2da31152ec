"""One streaming session: a :class:`RunConfig` says what to stream, :func:`streaming` opens it all and owns its
cleanup on every path.

``edgecolor run``, the pipeline bench (``bench --mode pipeline``) and the soak all stream through here, so the
order things open in (engines, source, sinks, browser view) and the order they close in, after a success, an
error or Ctrl+C, are written once:

- engines are opened first (minutes for a big model) unless the caller passes its own, which it keeps;
- the source is opened next, then the sinks and the view; a failure at any step closes what was opened;
- once the pipeline has run it has closed the source and the sinks itself; before that they are closed and the
  sinks *aborted* (a file sink leaves no partial file); the view is stopped and owned engines closed last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from edgecolor.backends.base import Engine
from edgecolor.choices import Backend, CpuPath
from edgecolor.stream.camera_mode import DEVICE_MODE, CameraMode
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.pipeline import Pipeline, PipelineConfig, Stats, signals_stop
from edgecolor.stream.sinks import HttpViewSink, Sink, open_sink
from edgecolor.stream.sources import Source, open_source
from edgecolor.stream.stabilize import Stabilizer
from edgecolor.video_encode import Encoding


@dataclass(frozen=True)
class RunConfig:
    """What a session streams. ``source`` and each of ``sinks`` is a spec string (``camera:0``, ``clip.mp4``,
    ``null``, ``out.mp4``, ...: :mod:`edgecolor.stream.sources`, :mod:`edgecolor.stream.sinks`) or an object already
    made (the bench's looping clip, the soak's timing sink). Engines come from ``models`` (or ``engine``, a
    TensorRT plan) unless the caller passes them to :func:`streaming`."""

    source: str | Source
    sinks: tuple[str | Sink, ...] = ()
    models: tuple[str, ...] = ("colorizer",)
    engine: str | None = None
    backend: Backend = Backend.AUTO
    threads: int = 0
    streams: int = 1
    cpu_path: CpuPath = CpuPath.AUTO
    realtime: bool = False
    replays: int | None = 0  # a file source played again N times after its first pass; None: for ever
    camera: CameraMode = DEVICE_MODE
    split: bool = False
    fullscreen: bool = False
    stabilize: bool = True
    encoding: Encoding | None = None
    serve: tuple[str, int] | None = None  # the browser view's address
    token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    max_frames: int | None = None


@dataclass
class Session:
    """An open session: run :attr:`pipeline` (:meth:`run`), read its parts."""

    pipeline: Pipeline
    source: Source
    sinks: list[Sink]
    engines: dict[str, Engine]
    view: Any = None  # the HttpView when the config serves one
    ran: bool = field(default=False, init=False)

    def run(self, stop_on_signals: bool = True) -> Stats:
        """Run the pipeline to its end (SIGINT/SIGTERM stop it cleanly when ``stop_on_signals``)."""
        self.ran = True
        guard = signals_stop(self.pipeline) if stop_on_signals else contextlib.nullcontext()
        with guard:
            return self.pipeline.run()  # closes the source and the sinks itself

    @property
    def backend(self) -> str:
        return next(iter(self.engines.values())).backend


def open_engines(cfg: RunConfig) -> dict[str, Engine]:
    """The engines a config names (one per model, or the TensorRT ``engine``), from the one loader."""
    from pathlib import Path

    from edgecolor.backends import open_engine
    from edgecolor.errors import InputError
    from edgecolor.registry import resolve_model

    if cfg.engine is not None:
        if cfg.backend is Backend.ORT:
            raise InputError("--engine is a TensorRT engine but --backend ort was asked for",
                             "pass --model NAME for ONNX Runtime, or drop --backend")
        return {Path(cfg.engine).stem: open_engine(cfg.engine, backend=Backend.TRT, streams=cfg.streams)}
    if cfg.backend is Backend.TRT:
        raise InputError("--backend trt needs a built engine",
                         "build one with edgecolor build, then pass --engine PATH")
    engines: dict[str, Engine] = {}
    try:
        for name in cfg.models:  # onnxruntime-gpu's CUDA provider when present; else the CPU path
            engines[Path(name).stem] = open_engine(resolve_model(name), backend=cfg.backend, threads=cfg.threads,
                                                   ort_gpu=True, streams=cfg.streams, cpu_path=cfg.cpu_path)
    except BaseException:
        for engine in engines.values():
            engine.close()
        raise
    return engines


@contextlib.contextmanager
def streaming(cfg: RunConfig, engines: dict[str, Engine] | None = None) -> Iterator[Session]:
    """Open what ``cfg`` names and yield the :class:`Session`; close everything on every path (module docstring).
    ``engines``: the caller's own (kept open); None: opened from ``cfg`` and closed here."""
    from edgecolor.stream.http_view import HttpView

    owned = engines is None
    engines = open_engines(cfg) if engines is None else engines
    source: Source | None = None
    sinks: list[Sink] = []
    view = None
    session: Session | None = None
    try:
        source = cfg.source if isinstance(cfg.source, Source) else open_source(
            cfg.source, realtime=cfg.realtime, loop=cfg.replays != 0, replays=cfg.replays, camera=cfg.camera)
        controls = Controls([Style(name, name) for name in engines], split=cfg.split, stabilize=cfg.stabilize)
        for spec in cfg.sinks:
            sinks.append(spec if isinstance(spec, Sink) else
                         open_sink(spec, source.fps or 25.0, controls, cfg.fullscreen, cfg.encoding))
        if cfg.serve is not None:
            view = HttpView(*cfg.serve, controls=controls, token=cfg.token, allowed_hosts=cfg.allowed_hosts)
            sinks.append(HttpViewSink(view))
        pipeline = Pipeline(source, engines, controls, sinks, Stabilizer(enabled=cfg.stabilize),
                            PipelineConfig(max_frames=cfg.max_frames))
        if view is not None:
            view.status_fn = pipeline.stats.summary
        session = Session(pipeline, source, sinks, engines, view)
        yield session
    finally:
        if session is None or not session.ran:
            if source is not None:
                source.close()
            for sink in sinks:
                sink.abort()
        if view is not None:
            view.stop()
        if owned:
            for engine in engines.values():
                engine.close()
