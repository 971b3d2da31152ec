"""Inference backends behind one small Engine protocol (:mod:`edgecolor.backends.base`), opened by one loader.

:func:`open_engine` is the only place that decides which engine runs a file. It reads a built engine's
manifest once (checked: the backend first, then staleness) and a frame model's metadata once, and returns:

- a TensorRT engine (:class:`~edgecolor.backends.tensorrt.engine.TrtEngine`) for a manifest that says
  ``tensorrt``;
- for an ONNX frame model (shipped, exported or a CPU engine from ``edgecolor build``), by ``cpu_path``:
  ``graph`` runs the whole frame model in ONNX Runtime; ``split`` (colorizer only) runs its network in ONNX
  Runtime and the colour math in OpenCV, faster on small CPUs (:mod:`edgecolor.backends.onnxruntime.split`);
  ``auto`` = split for edgecolor's own colorizer; for an exported style frame model (not a built engine) its
  network on OpenVINO when the ``openvino`` extra is installed (1.6-2.1x ONNX Runtime's frames/s at 512x512 on
  the 2-core AVX2 VM: ``benchmarks/results/styles-2026-12-07-openvino.md``), else the graph; the graph for anything
  else (adapted colorizers, and an FP16 colorizer engine, whose optimised graph no longer has the network's
  boundary tensors);
  ``openvino`` / ``openvino-bf16`` run the network on OpenVINO (:mod:`edgecolor.backends.openvino`: the
  colorizer's colour math in OpenCV, a style model's pre/post on ONNX Runtime). With ``ort_gpu`` and
  onnxruntime-gpu's CUDA provider present, the whole graph runs there instead;
- an OpenVINO engine (``edgecolor build ... --target cpu`` with ``--precision bf16`` or ``--cpu-backend
  openvino``) for a manifest that says ``openvino``, with the inference precision hint it records.

Two checks run here, so every command gets them (``colorize``, ``stylize``, ``run``, ``bench``, the build's gate):
``task`` refuses a model made for another task (a style given to ``colorize``, a colorizer to ``stylize``) before
a frame runs, by what the file records (a built engine's manifest, read before the engine loads; else the frame
model's recorded task, read as it loads); and
every engine but TensorRT's runs one probe frame (:func:`probe`) before it is returned, so a model whose output
is not its input frame's size, dtype or layout is refused before a job writes anything.

``streams=N`` (CPU engines) opens N of that engine, each with its share of the threads, behind one
:class:`~edgecolor.backends.streams.StreamsEngine` (throughput mode: frames dealt out in turn).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecolor.backends import manifest as mf
from edgecolor.backends.base import OUTPUT_REMEDY, Engine
from edgecolor.backends.streams import MAX_STREAMS, StreamsEngine
from edgecolor.choices import Backend, CpuPath, Runtime, Task
from edgecolor.errors import InputError, ModelError
from edgecolor.graph.contract import NET_CHROMA, NET_LUMA, TASK_WHERE, FrameModelInfo

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

CPU_PATHS = CpuPath.values()
TRT_SUFFIXES = (".engine", ".plan")  # what ``edgecolor build --target trt`` writes (trtexec's names too)
# Odd and not square: an output of half the size, one pixel less, transposed or padded differs from the input's
# shape here, and it is small enough to cost a few milliseconds even for the shipped colorizer.
PROBE_SHAPE = (37, 53, 3)
_RUNTIMES = ("onnxruntime", "openvino")  # whose own exception types mean "this graph cannot run that frame"
_TASK_NOUNS = {Task.COLORIZE: "a colorizer", Task.STYLIZE: "a style"}
_TASK_REMEDIES = {
    Task.COLORIZE: "pass a colorizer (--model colorizer, or one from 'edgecolor train colorizer'); a style paints in "
                   "'edgecolor stylize --style NAME'",
    Task.STYLIZE: "pass a style (see 'edgecolor models', or one from 'edgecolor train style'); a colorizer runs in "
                  "'edgecolor colorize --model NAME'",
}


def open_engine(model: str | Path, *, backend: Backend | str = Backend.AUTO, cpu_path: CpuPath | str = CpuPath.AUTO,
                threads: int = 0, ort_gpu: bool = False, streams: int = 1,
                task: Task | str | None = None, **trt_options: Any) -> Engine:
    """The engine for ``model`` (a shipped model name or a path): see the module docstring.

    ``backend``: ``trt`` or ``ort`` refuse an engine built for the other (the manifest's backend is checked
    before anything else); ``auto`` follows the manifest (a ``.engine``/``.plan`` file is TensorRT's), and a
    file without one is a frame model for ONNX Runtime. A stale engine is refused with
    :class:`~edgecolor.backends.manifest.StaleEngine`, which carries its manifest for a caller that rebuilds.
    ``trt_options`` go to
    :class:`~edgecolor.backends.tensorrt.engine.TrtEngine` (``slots``, ``cuda_graphs``, ``mapped``, ``cuda``).
    ``streams`` > 1: N CPU engines of ``threads // N`` threads each (``threads`` 0: this machine's cores).
    ``task``: the task the caller runs (``colorize`` / ``stylize``); a model recorded as made for another one, or
    recording none, is refused with a one-line ModelError before a frame runs (:func:`check_task`).
    The engine has run :func:`probe` (a frame model breaking the output contract is a one-line ModelError).
    """
    if isinstance(streams, bool) or not isinstance(streams, int) or not 1 <= streams <= MAX_STREAMS:
        raise InputError(f"streams must be a whole number from 1 to {MAX_STREAMS}, got {streams!r}",
                         "e.g. --streams 2 on a 2-core CPU")
    wanted_task = None if task is None else Task.parse(task, "task")
    if streams == 1:
        return probe(_open_one(model, backend, cpu_path, threads, ort_gpu, wanted_task, trt_options))
    from edgecolor.system import usable_cores

    each = max(1, (threads or usable_cores()) // streams)
    engines: list[Engine] = []
    try:
        for _ in range(streams):
            engines.append(_open_one(model, backend, cpu_path, each, ort_gpu, wanted_task, trt_options))
            if engines[-1].backend == Runtime.TENSORRT:  # checked on the first one
                raise InputError(f"--streams is for ONNX Runtime and OpenVINO engines; {Path(str(model)).name} is "
                                 "a TensorRT engine", "drop --streams (TensorRT overlaps frames in its own slots)")
            if len(engines) == 1:  # the others are the same model: one probe answers for them all
                probe(engines[0])
    except BaseException:
        for engine in engines:
            engine.close()
        raise
    return StreamsEngine(engines)


def probe(engine: Engine) -> Engine:
    """``engine`` after one frame of :data:`PROBE_SHAPE` went through it, checked as every frame is
    (:func:`~edgecolor.backends.base.check_output`): a model whose output is not the input's size, dtype or layout
    is a one-line ModelError here, before a command starts its work.

    Not for TensorRT: its engine runs only within the shapes of its optimisation profile (a probe outside them
    fails for that reason alone), it is built by ``edgecolor build``, which probed the frame model it was built
    from (:func:`edgecolor.builder.pipeline.load_frame_model`), and every frame it returns is still checked."""
    if engine.backend == Runtime.TENSORRT:
        return engine
    try:
        engine.infer(np.full(PROBE_SHAPE, 128, np.uint8))
    except Exception as exc:
        engine.close()
        if type(exc).__module__.split(".")[0] not in _RUNTIMES:
            raise  # a ModelError from the output check, or a bug of ours
        h, w, _ = PROBE_SHAPE
        raise ModelError(f"{engine.name} cannot run a {h}x{w} frame ({str(exc).strip().splitlines()[0][:160]}), must "
                         "run frames of any size (uint8 [N, H, W, 3], N, H and W dynamic)", OUTPUT_REMEDY) from exc
    except BaseException:
        engine.close()
        raise
    return engine


def check_task(name: str, recorded: object, task: Task, where: str) -> None:
    """Refuse a model ``recorded`` (its frame model's task metadata, or its manifest's ``task``; None: not
    recorded) as made for another task than ``task``, in one line naming the file ``name`` and ``where`` the record
    is."""
    if recorded == task:
        return
    if recorded is None or recorded == "":
        raise ModelError(f"{name} records no task ({where} is missing), so it is not known to be "
                         f"{_TASK_NOUNS[task]}", _TASK_REMEDIES[task])
    shown = str(recorded)[:40]
    noun = _TASK_NOUNS[Task(shown)] if shown in Task.values() else f"a '{shown}' model"
    raise ModelError(f"{name} is {noun}, not {_TASK_NOUNS[task]} ({where} is {shown})", _TASK_REMEDIES[task])


def _open_one(model: str | Path, backend: Backend | str, cpu_path: CpuPath | str, threads: int, ort_gpu: bool,
              task: Task | None, trt_options: dict[str, Any]) -> Engine:
    backend = Backend.parse(backend, "backend")
    cpu_path = CpuPath.parse(cpu_path, "CPU path")
    path = _path(model)
    wanted = backend.runtime
    if wanted is None and path.suffix.lower() in TRT_SUFFIXES:
        wanted = Runtime.TENSORRT  # a serialized plan: ONNX Runtime could only fail to parse it
    manifest = None
    if wanted is Runtime.TENSORRT or mf.manifest_path(path).is_file():
        manifest = mf.check(path, backend=wanted)
    if manifest is not None:
        if task is not None:  # a built engine: its manifest says what it was built from, before it loads
            check_task(path.name, manifest.task, task, f"the task in its manifest {mf.manifest_path(path).name}")
        if manifest.backend == Runtime.TENSORRT:
            from edgecolor.backends.tensorrt.engine import TrtEngine

            return TrtEngine(path, manifest=manifest, **trt_options)
    if trt_options:
        raise TypeError(f"TensorRT options {sorted(trt_options)} given for an ONNX Runtime model {path}")
    if manifest is not None and manifest.backend == Runtime.OPENVINO:
        return _open_openvino_engine(path, manifest, cpu_path, threads)
    engine = _open_onnx(path, cpu_path, threads, ort_gpu, built=manifest is not None)
    if task is not None and manifest is None:
        # A frame model's task is its metadata, read as it loads: a file that is no frame model at all was refused
        # for that first (the more basic fault), and no frame has run yet.
        try:
            check_task(path.name, engine.info.task, task, TASK_WHERE)
        except ModelError:
            engine.close()
            raise
    return engine


def _open_openvino_engine(path: Path, manifest: mf.EngineManifest, cpu_path: CpuPath, threads: int) -> Engine:
    """A built OpenVINO engine runs with the precision hint its manifest records (its gate measured that);
    another CPU path would silently run it at another precision, so it is refused."""
    from edgecolor.backends.openvino.engine import open_openvino

    hint = manifest.openvino_hint
    fits = {CpuPath.AUTO, CpuPath.OPENVINO_BF16 if hint == "bf16" else CpuPath.OPENVINO}
    if cpu_path not in fits:
        raise InputError(f"{path.name} is an OpenVINO engine (precision hint {hint[:10]}, gated so); "
                         f"--cpu-path {cpu_path} would run it another way",
                         "drop --cpu-path, or build the engine for that path")
    return open_openvino(_load(path), hint, threads=threads, name=path.name)


def _path(model: str | Path) -> Path:
    from edgecolor.registry import shipped_models, shipped_name

    name = shipped_name(model)
    return shipped_models()[name] if name is not None else Path(model)


def _open_onnx(path: Path, cpu_path: CpuPath, threads: int, ort_gpu: bool, built: bool = False) -> Engine:
    """``built``: a CPU engine from ``edgecolor build`` (its manifest says ONNX Runtime: it runs there)."""
    from edgecolor.backends.onnxruntime import OrtEngine

    if ort_gpu:
        from edgecolor.errors import require

        if "CUDAExecutionProvider" in require("onnxruntime", "core").get_available_providers():
            return OrtEngine(path, threads=threads, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    if cpu_path is CpuPath.GRAPH:
        return OrtEngine(path, threads=threads)  # ONNX Runtime reads the metadata itself
    proto = _load(path)
    info = FrameModelInfo.read(proto)
    if cpu_path is CpuPath.AUTO and not built and info.task == Task.STYLIZE and not info.adapted and _has_openvino():
        from edgecolor.backends.openvino.engine import open_openvino

        try:
            return open_openvino(proto, "f32", threads=threads, name=path.name)
        except ModelError as exc:  # a network OpenVINO cannot compile still runs, as a graph
            log.warning("%s: %s; running it on ONNX Runtime", path.name, exc.problem)
            return OrtEngine(proto.SerializeToString(), threads=threads, name=path.name)
    # The split path knows edgecolor's own colorizer contract only; adapted colorizers run as a graph, and
    # so does a colorizer whose network boundary an optimised FP16 engine no longer has.
    if cpu_path is CpuPath.AUTO and not _splittable(proto, info, path.name):
        return OrtEngine(proto.SerializeToString(), threads=threads, name=path.name)
    if cpu_path in (CpuPath.OPENVINO, CpuPath.OPENVINO_BF16):
        if info.adapted:
            raise InputError(f"--cpu-path {cpu_path} runs edgecolor's own colorizer and style networks only "
                             "(this is an adapted model)", "use --cpu-path graph")
        from edgecolor.backends.openvino.engine import open_openvino

        precision = "bf16" if cpu_path is CpuPath.OPENVINO_BF16 else "f32"
        return open_openvino(proto, precision, threads=threads, name=path.name)
    from edgecolor.backends.onnxruntime.split import SplitColorizerEngine

    return SplitColorizerEngine(proto, threads=threads, name=path.name)


def _has_openvino() -> bool:
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def _splittable(proto: onnx.ModelProto, info: FrameModelInfo, name: str) -> bool:
    """Whether the CPU fast path (network cut out, colour math in OpenCV) can run this frame model."""
    from edgecolor.backends.onnxruntime.split import has_network_boundary

    if not info.own_colorizer:
        return False
    if has_network_boundary(proto):
        return True
    log.info("%s has no %s -> %s boundary left (an optimised FP16 engine): running it as a graph",
             name, NET_LUMA, NET_CHROMA)
    return False


def _load(path: Path) -> onnx.ModelProto:
    """The frame model, parsed once (its metadata decides the path, and the split path cuts it)."""
    import onnx

    if not path.is_file():
        raise ModelError(f"model {path} does not exist", "pass a frame-model .onnx file or a shipped model name")
    try:
        return onnx.load(str(path))
    except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends: let ONNX Runtime say what is wrong
        from edgecolor.backends.onnxruntime import OrtEngine

        OrtEngine(path).close()  # raises its one-line "cannot load" ModelError for a corrupt file
        raise ModelError(f"{path} is not a readable ONNX file", "check the file") from None
