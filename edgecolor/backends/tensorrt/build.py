"""TensorRT engine building and loading (thin). Execution lives in ``tensorrt_runtime.py``.

Every call here exists, with these keyword names, in the Python bindings of TensorRT 10.3 (JetPack 6),
10.13 (JetPack 7) and 11.1; ``tests/backends/tensorrt/test_build.py`` checks that against strict fakes
generated from the recorded API surfaces. TensorRT itself is not installed on CI, so these paths have
not run against real TensorRT there.

The network is strongly typed (``NetworkDefinitionCreationFlag.STRONGLY_TYPED``; weak typing and
``BuilderFlag.FP16/INT8`` are gone in 11): the ONNX graph already carries its precision (FP16 tensors or
Q/DQ pairs), see :mod:`edgecolor.graph.precision`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecolor.errors import InputError, ModelError, require
from edgecolor.graph.contract import FRAME
from edgecolor.imageio import atomic_output

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Shapes:
    """One optimisation profile for the ``frame`` input, as ``(N, H, W)`` triples (channels are 3)."""

    min: tuple[int, int, int] = (1, 240, 320)
    opt: tuple[int, int, int] = (1, 720, 1280)
    max: tuple[int, int, int] = (1, 1080, 1920)

    @staticmethod
    def parse(text: str) -> Shapes:
        """``"1x240x320,1x720x1280,1x1080x1920"`` (min,opt,max) or ``"1x720x1280"`` (fixed)."""
        try:
            parts = [tuple(int(v) for v in p.lower().split("x")) for p in text.split(",")]
        except ValueError:
            parts = []
        if len(parts) == 1:
            parts *= 3
        if len(parts) != 3 or any(len(p) != 3 or min(p) < 1 for p in parts):
            raise InputError(
                f"--shapes '{text}' is not NxHxW[,NxHxW,NxHxW]",
                "e.g. --shapes 1x240x320,1x720x1280,1x1080x1920",
            )
        lo, mid, hi = parts
        if any(a > b or b > c for a, b, c in zip(lo, mid, hi, strict=True)):
            raise InputError(f"--shapes '{text}' must satisfy min <= opt <= max", "reorder the three shapes")
        return Shapes(lo, mid, hi)  # type: ignore[arg-type]

    def nhwc(self) -> tuple[tuple[int, ...], ...]:
        return tuple((*s, 3) for s in (self.min, self.opt, self.max))

    def __str__(self) -> str:
        return ",".join("x".join(map(str, s)) for s in (self.min, self.opt, self.max))


@dataclass(frozen=True)
class TrtBuildOptions:
    shapes: Shapes = Shapes()
    workspace_mib: int = 2048  # memory-pool limit for tactics; Jetson Orin Nano has 8 GB shared with the CPU
    optimization_level: int = 3  # builder_optimization_level 0..5 (TensorRT's default is 3)
    timing_cache: Path | None = None  # reused across builds; lives beside the engines


def trt_module() -> Any:
    return require("tensorrt", "trt")


def trt_version() -> str:
    return str(trt_module().__version__)


def gpu_identity() -> dict[str, str]:
    """GPU name and compute capability (cuda-python if present, else nvidia-smi); ``{}`` when unknown."""
    try:
        from cuda.bindings import runtime as cudart  # type: ignore[import-not-found]

        err, props = cudart.cudaGetDeviceProperties(0)
        if int(err) == 0:
            name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else str(props.name)
            return {"name": name.strip("\x00 "), "compute_capability": f"{props.major}.{props.minor}"}
    except ImportError:
        pass
    from edgecolor.system import nvidia_smi_gpus

    gpus, _ = nvidia_smi_gpus()
    return {"name": gpus[0]["name"], "compute_capability": gpus[0]["compute_capability"]} if gpus else {}


def make_logger(trt: Any) -> Any:
    """An ``ILogger`` that forwards TensorRT's messages to Python logging (errors kept for reports)."""

    class _Logger(trt.ILogger):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            level = getattr(severity, "name", str(severity)).upper()
            if "ERROR" in level:
                self.errors.append(msg)
                log.error("TensorRT: %s", msg)
            elif "WARN" in level:
                log.warning("TensorRT: %s", msg)
            else:
                log.debug("TensorRT: %s", msg)

    return _Logger()


def _parser_errors(parser: Any) -> str:
    lines = []
    for i in range(parser.num_errors):
        err = parser.get_error(i)
        node = err.node_name() or f"#{err.node()}"
        lines.append(f"node {node} ({err.node_operator() or '?'}): {err.desc()}")
    return "; ".join(lines) or "unknown parser error"


def build_engine(onnx_path: Path, engine_path: Path, opts: TrtBuildOptions) -> dict[str, Any]:
    """Build a strongly typed engine from ``onnx_path`` and write it atomically to ``engine_path``.

    Returns facts for the manifest (TensorRT version, I/O, profile, timing-cache use).
    """
    trt = trt_module()
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        raise ModelError(
            f"TensorRT {trt.__version__} cannot parse {onnx_path.name}: {_parser_errors(parser)}",
            "replace the unsupported node(s) in the network or use --target cpu",
        )
    inputs = [network.get_input(i) for i in range(network.num_inputs)]  # checked: builder.load_frame_model
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, opts.workspace_mib << 20)
    config.builder_optimization_level = opts.optimization_level
    profile = builder.create_optimization_profile()
    lo, mid, hi = opts.shapes.nhwc()
    profile.set_shape(FRAME, lo, mid, hi)
    config.add_optimization_profile(profile)
    cache_info = _attach_timing_cache(config, opts.timing_cache)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        detail = logger.errors[-1] if logger.errors else "no detail from TensorRT"
        raise ModelError(
            f"TensorRT could not build an engine from {onnx_path.name}: {detail}",
            "check the log with -v, lower --opt-level or raise --workspace-mib",
        )
    with atomic_output(engine_path) as tmp:
        tmp.write_bytes(bytes(plan))
    if opts.timing_cache is not None:
        with atomic_output(opts.timing_cache) as tmp:
            tmp.write_bytes(bytes(config.get_timing_cache().serialize()))
    io = [
        {"name": t.name, "shape": [int(d) for d in t.shape], "dtype": str(getattr(t.dtype, "name", t.dtype))}
        for t in inputs
    ]
    io += [
        {"name": t.name, "shape": [int(d) for d in t.shape], "dtype": str(getattr(t.dtype, "name", t.dtype))}
        for t in (network.get_output(i) for i in range(network.num_outputs))
    ]
    return {
        "tensorrt": str(trt.__version__),
        "io": io,
        "profile": str(opts.shapes),
        "timing_cache": cache_info,
        "workspace_mib": opts.workspace_mib,
        "optimization_level": opts.optimization_level,
    }


def _attach_timing_cache(config: Any, path: Path | None) -> str:
    if path is None:
        return "off"
    data = path.read_bytes() if path.is_file() else b""
    cache = config.create_timing_cache(data)
    if config.set_timing_cache(cache, ignore_mismatch=False):
        return "reused" if data else "new"
    log.warning("timing cache %s is from another TensorRT/GPU: starting a new one", path)
    config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    return "replaced (mismatch)"


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    """The plan for a precision graph (its extra inputs kept as run-time inputs, not constants), and the facts its
    manifest records."""
    import onnx

    from edgecolor.graph.pieces import extras_as_plain_inputs

    opts = TrtBuildOptions(Shapes.parse(options.shapes), options.workspace_mib, options.opt_level,
                           timing_cache=engine.parent / "timing.cache")
    engine.parent.mkdir(parents=True, exist_ok=True)
    plain = engine.parent / f".{engine.stem}.trt-input.onnx"
    onnx.save(extras_as_plain_inputs(onnx.load(str(graph))), plain)
    try:
        facts = build_engine(plain, engine, opts)
    finally:
        plain.unlink(missing_ok=True)
    return {"backend": "tensorrt", "backend_version": facts.pop("tensorrt"), "gpu": gpu_identity(), **facts}


def missing_engine(engine_path: Path) -> ModelError:
    """The one error for a TensorRT engine that is not there."""
    return ModelError(f"engine {engine_path} does not exist", "build it with: edgecolor build MODEL --target trt")


def deserialize(engine_path: Path, rebuild_command: str | None = None) -> tuple[Any, Any]:
    """``(runtime, engine)`` for a plan file (keep the runtime as long as the engine); check its manifest first
    (:func:`edgecolor.backends.manifest.check`), whose ``rebuild_command`` the error names."""
    trt = trt_module()
    if not engine_path.is_file():
        raise missing_engine(engine_path)
    logger = make_logger(trt)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
    if engine is None:
        detail = logger.errors[-1] if logger.errors else "corrupt or incompatible plan"
        raise ModelError(
            f"TensorRT {trt.__version__} cannot deserialize {engine_path.name}: {detail}",
            f"rebuild it on this machine: {rebuild_command or 'the command is in its .json manifest'}",
        )
    return runtime, engine


def engine_io(engine: Any) -> list[dict[str, Any]]:
    """Names, modes, dtypes and shapes of an engine's I/O tensors (``-1`` = dynamic)."""
    trt = trt_module()
    out = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        mode = engine.get_tensor_mode(name)
        out.append(
            {
                "name": name,
                "mode": "input" if mode == trt.TensorIOMode.INPUT else "output",
                "dtype": str(getattr(engine.get_tensor_dtype(name), "name", "?")),
                "shape": [int(d) for d in engine.get_tensor_shape(name)],
            }
        )
    return out
