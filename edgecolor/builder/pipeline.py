"""The build pipeline: resolve/wrap -> precision graph -> accuracy gate -> engine -> manifest.

Everything is written through :func:`edgecolor.imageio.atomic_output` (engine first, manifest last), so an
interrupted build leaves no engine behind, and an engine without a manifest is refused by the loader.
"""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import onnx

from edgecolor import __version__
from edgecolor.backends import manifest as mf
from edgecolor.backends.runtimes import EngineOptions, write_engine
from edgecolor.builder.gate import GateFailed, GateLimits, evaluate, layer_sensitivity
from edgecolor.builder.gate_frames import GateFrames, held_out_fold, load_gate_frames
from edgecolor.builder.precisions import Progress, prepared_for_int8, recipe
from edgecolor.choices import CalibMethod, CpuBackend, Overwrite, Precision, Runtime, Target, Task
from edgecolor.errors import InputError, ModelError
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.imageio import atomic_output
from edgecolor.overwrite import refuse_existing, refuse_overwrite
from edgecolor.tempdirs import work_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildConfig:
    model: str
    precision: Precision = Precision.FP16
    target: Target = Target.CPU
    output: Path | None = None
    calib: Path | None = None
    calib_method: CalibMethod = CalibMethod.ENTROPY
    calib_frames: int = 64
    holdout_frames: int = 16  # the gate's frames (--gate-frames)
    shapes: str = "1x240x320,1x720x1280,1x1080x1920"
    adapter: str | None = None
    keep_fp32: tuple[str, ...] = field(default_factory=tuple)
    auto_sensitivity: bool = False
    workspace_mib: int = 2048
    opt_level: int = 3
    threads: int = 0
    gate: bool = True
    gate_data: Path | None = None
    max_loss_db: float | None = None
    cpu_backend: CpuBackend | Runtime = CpuBackend.AUTO  # after __post_init__: the Runtime it builds for
    auto: dict[str, Any] | None = None  # --precision auto: what edgecolor.builder.auto chose and why

    def __post_init__(self) -> None:  # choices become Enums here, once (a manifest's build_config holds strings)
        set_ = object.__setattr__
        set_(self, "precision", Precision.parse(self.precision, "precision"))
        set_(self, "target", Target.parse(self.target, "target"))
        set_(self, "calib_method", CalibMethod.parse(self.calib_method, "calibration method"))
        # a manifest's build_config records the backend built for ("tensorrt" for a TensorRT plan)
        asked = CpuBackend.AUTO if self.cpu_backend == Runtime.TENSORRT else self.cpu_backend
        backend = CpuBackend.parse(asked, "CPU backend")
        if self.precision is Precision.AUTO:
            if self.target is not Target.CPU or backend is not CpuBackend.AUTO:
                raise InputError("--precision auto picks the precision and backend for this CPU",
                                 "use it with --target cpu and without --cpu-backend")
            from edgecolor.builder.auto import choose

            choice = choose()
            set_(self, "precision", choice.precision)
            set_(self, "auto", choice.describe())
            backend = CpuBackend(str(choice.backend))
        self._set_backend(backend)
        if self.max_loss_db is not None and not 0 <= self.max_loss_db <= 3:
            raise InputError(f"--max-loss-db must be in [0, 3] dB, got {self.max_loss_db}", "use e.g. 0.3")
        if not self.gate and (self.gate_data is not None or self.max_loss_db is not None):
            raise InputError("--no-gate contradicts --gate-data / --max-loss-db", "drop one of them")

    def _set_backend(self, asked: CpuBackend) -> None:
        """``cpu_backend`` as the Runtime this build writes for; a precision/backend pair that cannot be
        built is refused here, before any slow work."""
        own = recipe(self.precision).cpu_backend
        if self.target is Target.TRT:
            if asked is not CpuBackend.AUTO or own is not Runtime.ONNXRUNTIME:
                raise InputError(f"--precision {self.precision} --cpu-backend {asked} builds a CPU engine",
                                 "use --target cpu (TensorRT builds fp32, fp16 or int8)")
            object.__setattr__(self, "cpu_backend", Runtime.TENSORRT)
            return
        backend = own if asked is CpuBackend.AUTO else Runtime(str(asked))
        if backend is Runtime.OPENVINO and recipe(self.precision).openvino_hint is None:
            raise InputError(f"OpenVINO engines are built as fp32, bf16 or int8, not {self.precision}",
                             "use --precision fp32, bf16 or int8 with --cpu-backend openvino")
        if backend is not Runtime.OPENVINO and own is Runtime.OPENVINO:
            raise InputError(f"{self.precision} runs on OpenVINO only (its bfloat16 kernels)",
                             "drop --cpu-backend, or build --precision int8 / fp32 for ONNX Runtime")
        object.__setattr__(self, "cpu_backend", backend)

    @property
    def engine_path(self) -> Path:
        suffix = ".engine" if self.target is Target.TRT else ".onnx"
        if self.output is not None:
            out = Path(self.output)
            return out if out.suffix else out.with_name(out.name + suffix)
        # an engine for a backend other than its precision's own gets its name, so the two do not collide
        other = self.target is Target.CPU and self.cpu_backend is not recipe(self.precision).cpu_backend
        tag = f"-{self.cpu_backend}" if other else ""
        return Path("engines") / f"{Path(self.model).stem}-{self.precision}-{self.target}{tag}{suffix}"

    def command(self) -> str:
        args = [
            "edgecolor",
            "build",
            self.model,
            "--precision",
            str(self.precision),
            "--target",
            str(self.target),
            "-o",
            str(self.engine_path),
            "-y",  # it rebuilds the engine where it is
        ]
        if self.calib is not None:
            args += ["--calib", str(self.calib)]
        if recipe(self.precision).calibrates:
            args += ["--calib-method", str(self.calib_method), "--calib-frames", str(self.calib_frames)]
        if self.target is Target.TRT:
            args += ["--shapes", self.shapes]
        elif self.cpu_backend is not recipe(self.precision).cpu_backend:
            args += ["--cpu-backend", str(self.cpu_backend)]
        if self.adapter:
            args += ["--adapter", self.adapter]
        for name in self.keep_fp32:
            args += ["--keep-fp32", name]
        if self.gate_data is not None:
            args += ["--gate-data", str(self.gate_data)]
        if self.max_loss_db is not None:
            args += ["--max-loss-db", str(self.max_loss_db)]
        if not self.gate:
            args.append("--no-gate")
        return shlex.join(args)

    def engine_options(self) -> EngineOptions:
        return EngineOptions(label=self.model, precision=str(self.precision), threads=self.threads,
                             openvino_hint=recipe(self.precision).openvino_hint, shapes=self.shapes,
                             workspace_mib=self.workspace_mib, opt_level=self.opt_level)

    @staticmethod
    def from_manifest(manifest: mf.EngineManifest) -> BuildConfig:
        cfg = dict(manifest.build_config or {})
        for key in ("output", "calib", "gate_data"):
            cfg[key] = Path(cfg[key]) if cfg.get(key) else None
        cfg["keep_fp32"] = tuple(cfg.get("keep_fp32", ()))
        return BuildConfig(**cfg)


def load_frame_model(cfg: BuildConfig) -> tuple[onnx.ModelProto, Path]:
    """The FP32 frame model to build from, and the source file it came from; checked against the frame-model
    contract, statically and on a probe frame (:func:`_probe`), before any slow work."""
    from edgecolor.registry import resolve_model

    source = resolve_model(cfg.model)
    try:
        model = onnx.load(str(source))
    except Exception as exc:  # onnx raises DecodeError / ValidationError / OSError for bad files
        raise ModelError(
            f"{source} is not a readable ONNX model: {str(exc).splitlines()[0][:160]}", "pass a .onnx file"
        ) from exc
    from edgecolor.graph.contract import check_frame_model, onnx_signature

    if cfg.adapter:
        from edgecolor.graph.adapters import adapt

        try:
            adapted = adapt(model, cfg.adapter, Path(cfg.model).stem)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise ModelError(
                f"{source.name} cannot be wrapped with adapter '{cfg.adapter}': {str(exc).splitlines()[0][:200]}",
                "check the network is a valid ONNX and the adapter (or colorizer preset) matches it",
            ) from exc
        label = f"{source.name} wrapped with '{cfg.adapter}'"
        check_frame_model(*onnx_signature(adapted), label)
        _probe(adapted, label, cfg.threads)
        return adapted, source
    check_frame_model(*onnx_signature(model), source.name)
    _check_metadata(FrameModelInfo.read(model), source.name)
    _probe(model, source.name, cfg.threads)
    from edgecolor.graph.precision import name_nodes

    return name_nodes(model), source


def _probe(model: onnx.ModelProto, name: str, threads: int) -> None:
    """One probe frame through the FP32 frame model on ONNX Runtime (:func:`edgecolor.backends.probe`): an output
    of another size, dtype or layout is refused in one line before calibration and the gate, and before a
    TensorRT engine, which the loader does not probe, is built from it."""
    from edgecolor.backends import probe
    from edgecolor.backends.onnxruntime import OrtEngine

    probe(OrtEngine(model.SerializeToString(), threads=threads, name=name)).close()


def _precision_graph(cfg: BuildConfig, fp32: Path, work: Path, model_sha: str, frames: Any, keep: tuple[str, ...],
                     on_progress: Progress | None = None) -> tuple[Path, dict]:
    """The precision variant of ``fp32`` (its recipe's graph maker) and the facts it adds to the manifest."""
    out = work / f"{cfg.precision}-{len(keep)}.onnx"
    maker = recipe(cfg.precision).graph
    if maker is None:
        raise RuntimeError("FP32 has no precision graph")  # a bug: build() runs no maker for FP32
    return out, maker(cfg, fp32, out, work, model_sha, frames, keep, on_progress)


def _check_metadata(info: FrameModelInfo, name: str) -> None:
    """Refuse absurd frame-model metadata before any slow work (the gate and the engine read it later)."""
    info.defaults()
    if info.task == Task.COLORIZE:
        info.checked_net_size(name)


def build(cfg: BuildConfig, on_step: Any = None, on_progress: Progress | None = None,
          overwrite: Overwrite = Overwrite.SKIP) -> dict[str, Any]:
    """Run the whole build; returns the manifest (also written beside the engine). ``on_step(message)``
    announces each stage; ``on_progress(what, done, total)`` counts frames in calibration and the gate. An
    existing engine is replaced only with ``overwrite`` ``yes`` (:func:`edgecolor.overwrite.refuse_existing`,
    checked before any slow work).

    ``--precision auto``: when the chosen precision/backend cannot be compiled or fails its gate, the next one
    the rule admits is built (:func:`edgecolor.builder.auto.candidates`, ending with ONNX Runtime FP32), with a
    warning naming why; the manifest's ``auto.fell_back_from`` records each one skipped.
    """
    if not cfg.auto or "fell_back_from" in cfg.auto:  # not auto, or one candidate (a rebuild from a manifest)
        return _build(cfg, on_step, on_progress, overwrite)
    from edgecolor.builder.auto import candidates
    from edgecolor.builder.gate import GateFailed
    from edgecolor.errors import MissingDependency

    load_frame_model(cfg)  # a fault of the model itself is refused once, not once per precision tried
    options = candidates(cfg.auto["cpu_flags"])
    skipped: list[dict[str, str]] = []
    for i, choice in enumerate(options):
        attempt = replace(cfg, precision=choice.precision, cpu_backend=choice.backend,
                          auto={**choice.describe(), "fell_back_from": list(skipped)})
        try:
            return _build(attempt, on_step, on_progress, overwrite)
        except (ModelError, GateFailed, MissingDependency) as err:
            if i == len(options) - 1:
                raise
            nxt = options[i + 1]
            log.warning("--precision auto: %s on %s failed (%s); building %s on %s instead", choice.precision,
                        choice.backend, err.problem[:200], nxt.precision, nxt.backend)
            skipped.append({"precision": str(choice.precision), "cpu_backend": str(choice.backend),
                            "why": err.problem[:300]})
    raise RuntimeError("--precision auto had no candidate")  # a bug: candidates() always ends with FP32


def _build(cfg: BuildConfig, on_step: Any = None, on_progress: Progress | None = None,
           overwrite: Overwrite = Overwrite.SKIP) -> dict[str, Any]:
    step = on_step or (lambda msg: log.info(msg))

    def gate_progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress("accuracy gate", done, total)

    t0 = time.perf_counter()
    if cfg.target is Target.TRT or cfg.cpu_backend is Runtime.OPENVINO:
        from edgecolor.errors import require

        # fail in one line before any slow work
        require(*(("tensorrt", "trt") if cfg.target is Target.TRT else ("openvino", "openvino")))
    engine = cfg.engine_path
    model, source = load_frame_model(cfg)
    read = [source, *([Path(cfg.adapter)] if cfg.adapter and cfg.adapter.endswith(".json") else [])]
    refuse_overwrite([engine, mf.manifest_path(engine)], read, "engine")
    refuse_existing(engine, overwrite, "engine")
    info = FrameModelInfo.read(model)
    task = info.runs_as
    with work_dir("build") as work:
        fp32 = work / "fp32.onnx"
        onnx.save(model, fp32)
        model_sha = mf.sha256_file(fp32)
        extra: dict[str, Any] = {}
        gate: dict[str, Any] | None = None
        graph = fp32
        keep = tuple(cfg.keep_fp32)
        if recipe(cfg.precision).graph is not None:
            fold = held_out_fold(info, source.name)
            frames, gate_set = _frames(cfg, task, step, fold)
            step(f"{cfg.precision} graph")
            graph, extra = _precision_graph(cfg, fp32, work, model_sha, frames, keep, on_progress)
            if gate_set is None:
                gate = {"verdict": "skipped", "reason": "--no-gate"}
            else:
                step(f"accuracy gate vs FP32 on {len(gate_set.frames)} frames from {gate_set.source}")
                gate = _evaluate(cfg, fp32, graph, gate_set, task, gate_progress)
                if not gate["passed"] and recipe(cfg.precision).calibrates and cfg.auto_sensitivity:
                    graph, extra, gate, keep = _sensitivity(
                        cfg, fp32, graph, work, model_sha, frames, gate_set, task, gate, step
                    )
                if not gate["passed"]:
                    raise GateFailed(gate, recipe(cfg.precision).remedy(cfg))
        step(f"writing the {cfg.target} engine")
        # The engine is staged beside its final path and renamed only after its manifest is in place: a
        # failure writing either (a full disk) leaves no engine without a manifest.
        written: Path | None = None
        try:
            with atomic_output(engine) as staged:
                facts = write_engine(cfg.cpu_backend, graph, staged, cfg.engine_options())
                manifest = {
                    "edgecolor_version": __version__,
                    "precision": cfg.precision,
                    "target": cfg.target,
                    "engine": engine.name,
                    "engine_sha256": mf.sha256_file(staged),
                    "source_onnx": str(source.resolve()),
                    "source_sha256": mf.sha256_file(source),
                    "frame_model_sha256": model_sha,
                    "task": task,
                    "gate": gate,
                    "kept_fp32": list(keep),
                    "build_seconds": round(time.perf_counter() - t0, 2),
                    "rebuild_command": BuildConfig(**{**asdict(cfg), "keep_fp32": keep}).command(),
                    "build_config": {**asdict(cfg), "keep_fp32": list(keep)},
                    **({"auto": cfg.auto} if cfg.auto else {}),
                    **extra,
                    **facts,
                }
                written = mf.write(engine, mf.EngineManifest.from_json(manifest))
        except BaseException:
            if written is not None:  # the engine's rename failed: its manifest must not stay alone
                written.unlink(missing_ok=True)
            raise
    return manifest


def rebuild(manifest: mf.EngineManifest) -> dict[str, Any]:
    """Rebuild a stale engine the way its manifest records (:attr:`~edgecolor.backends.manifest.StaleEngine.manifest`),
    in place."""
    return build(BuildConfig.from_manifest(manifest), overwrite=Overwrite.YES)


def up_to_date(cfg: BuildConfig) -> mf.EngineManifest | None:
    """The manifest of ``cfg``'s engine when it exists, fits this machine and is what ``cfg`` asks for (the same
    model, precision, target, adapter, calibration); None when there is no engine yet. A stale one raises
    :class:`~edgecolor.backends.manifest.StaleEngine` saying why (``build --rebuild-if-stale`` then rebuilds)."""
    engine = cfg.engine_path
    if not mf.manifest_path(engine).is_file():
        return None
    manifest = mf.check(engine)
    changed = differences(cfg, manifest)  # an up-to-date engine of another model is still stale
    if changed:
        raise mf.StaleEngine(f"engine {engine.name} is stale: {'; '.join(changed)}", "rebuild it", manifest)
    return manifest


def differences(cfg: BuildConfig, manifest: mf.EngineManifest) -> list[str]:
    """How an existing engine's manifest differs from what ``cfg`` asks for (another model, precision,
    target, adapter, calibration): ``--rebuild-if-stale`` rebuilds on any of them."""
    from edgecolor.registry import resolve_model

    found = []
    source = resolve_model(cfg.model)
    if manifest.source_sha256 != mf.sha256_file(source):
        found.append(f"it was built from another model ({str(manifest.source_onnx)[:80]}), not {source}")
    recorded = manifest.build_config or {}
    keys = ["precision", "target", "adapter"]
    keys += ["calib", "calib_method", "calib_frames"] if recipe(cfg.precision).calibrates else []
    keys += ["shapes"] if cfg.target is Target.TRT else ["cpu_backend"]
    wanted = asdict(cfg)
    recorded = {"cpu_backend": str(Runtime.ONNXRUNTIME), **recorded}  # manifests from before OpenVINO
    for key in keys:
        want = None if wanted[key] is None else str(wanted[key])
        have = None if recorded.get(key) is None else str(recorded.get(key))
        if want != have:
            found.append(f"it was built with {key} {str(have)[:60]}, {want} was asked for")
    return found


def _frames(cfg: BuildConfig, task: str, step: Any, fold: int | None) -> tuple[Any, GateFrames | None]:
    """Calibration frames (INT8; None otherwise) and the gate's frames (None with --no-gate); ``fold``: the
    corpus fold a colorizer held out (:func:`~edgecolor.builder.gate_frames.held_out_fold`).

    A colorizer's gate frames are colour photos from elsewhere (read first, so a missing truth fails before
    any slow work, and never calibrated on); a style model's are the calibration hold-out by default.
    """
    from edgecolor.graph.calibration import MIN_FRAMES, WARN_FRAMES, load_frames

    gate_set = None
    if cfg.gate and (task == Task.COLORIZE or cfg.gate_data is not None):
        step("reading the gate's frames")
        gate_set = load_gate_frames(task, cfg.gate_data, None, cfg.holdout_frames, fold=fold)
    elif cfg.max_loss_db is not None and task != Task.COLORIZE:
        raise InputError(
            f"--max-loss-db bounds a colorizer's loss against the colour truth; {cfg.model} is a {task} model",
            "gate a style model on its PSNR vs FP32 (the default) and drop --max-loss-db",
        )
    wants_holdout = cfg.gate and gate_set is None
    calibrates = recipe(cfg.precision).calibrates
    if not calibrates and not wants_holdout:
        return None, gate_set
    count = cfg.calib_frames if calibrates else MIN_FRAMES
    step(f"reading {'calibration' if calibrates else 'held-out'} frames")
    exclude = gate_set.digests if gate_set is not None else frozenset()
    frames = load_frames(cfg.calib, count, cfg.holdout_frames if wants_holdout else 0, exclude=exclude)
    if calibrates and len(frames.calib) < WARN_FRAMES:
        log.warning("only %d calibration frames (>= %d recommended): INT8 ranges may be unrepresentative",
                    len(frames.calib), WARN_FRAMES)
    if wants_holdout:
        gate_set = load_gate_frames(task, None, frames, cfg.holdout_frames)
    return frames, gate_set


def _evaluate(cfg: BuildConfig, fp32: Path, graph: Path, gate_set: GateFrames, task: str,
              on_frame: Any = None) -> dict[str, Any]:
    limits = GateLimits(max_loss_db=cfg.max_loss_db)
    result = evaluate(fp32, graph, gate_set.frames, cfg.precision, task, limits, cfg.threads, on_frame,
                      backend=cfg.cpu_backend)
    return {**result, **gate_set.describe()}


def _sensitivity(
    cfg: BuildConfig,
    fp32: Path,
    graph: Path,
    work: Path,
    model_sha: str,
    frames: Any,
    gate_set: GateFrames,
    task: str,
    gate: dict,
    step: Any,
) -> tuple[Path, dict, dict, tuple[str, ...]]:
    """Keep the worst layers out of INT8 (1, 2, 4, ... of them) until the gate passes or 5 rounds ran."""
    from edgecolor.graph.precision import Int8Options, network_nodes

    ops = Int8Options(target=cfg.target).op_types
    prepared, _ = prepared_for_int8(fp32, work)  # the graph Q/DQ went into: its tensor names match the INT8 graph's
    names = [n.name for n in network_nodes(onnx.load(str(prepared))) if n.op_type in ops]
    ranked = layer_sensitivity(prepared, graph, gate_set.frames, names)
    extra: dict = {}
    keep: tuple[str, ...] = tuple(cfg.keep_fp32)
    for count in (1, 2, 4, 8, 16):
        keep = tuple(dict.fromkeys([*cfg.keep_fp32, *ranked[:count]]))
        step(f"sensitivity pass: {len(keep)} layer(s) kept FP32")
        if len(keep) >= len(names):
            break
        graph, extra = _precision_graph(cfg, fp32, work, model_sha, frames, keep)
        gate = _evaluate(cfg, fp32, graph, gate_set, task)
        gate["sensitivity_kept_fp32"] = list(keep)
        if gate["passed"]:
            break
    return graph, extra, gate, keep
