"""One row per precision: how its graph is made, the accuracy gate's default limits, and the remedy a
failed gate names. The builder, the gate and ``--help`` read this table instead of comparing strings.

FP16: onnxconverter-common on the frame graph, colour math and I/O kept FP32. INT8: calibrated Q/DQ
(:mod:`edgecolor.graph.precision`), scales cached under ``calibration/``. FP32: the frame model itself.
BF16: the FP32 frame model run by OpenVINO with its ``bf16`` inference hint (the plugin picks bfloat16
kernels where the CPU has AVX-512 BF16 or AMX): the precision is the runtime's, so the gate runs the
variant on OpenVINO, as every CPU variant is gated on the backend it is built for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx

from edgecolor.choices import CalibMethod, Precision, Runtime, Target

if TYPE_CHECKING:
    from edgecolor.builder.pipeline import BuildConfig

Progress = Callable[[str, int, int], None]  # (what, done, total)
# (cfg, fp32 graph, output path, work folder, model hash, frames, nodes kept FP32, progress) -> extra manifest facts
GraphMaker = Callable[["BuildConfig", Path, Path, Path, str, Any, tuple[str, ...], "Progress | None"], dict]


@dataclass(frozen=True)
class Recipe:
    """``graph``: None for FP32 (the frame model is the engine's graph). ``max_loss_db``: colorizer gate, most dB
    of PSNR vs the colour truth the variant may lose; ``min_psnr_vs_fp32``: other tasks, PSNR floor vs FP32."""

    graph: GraphMaker | None
    max_loss_db: float | None
    min_psnr_vs_fp32: float | None
    remedy: Callable[[BuildConfig], str]
    calibrates: bool = False  # reads calibration frames (--calib, --calib-method, --calib-frames)
    cpu_backend: Runtime = Runtime.ONNXRUNTIME  # what --target cpu builds for by default
    openvino_hint: str | None = "f32"  # OpenVINO's INFERENCE_PRECISION_HINT; None: not buildable for OpenVINO


def _fp16_graph(cfg: BuildConfig, fp32: Path, out: Path, work: Path, model_sha: str, frames: Any,
                keep: tuple[str, ...], on_progress: Progress | None) -> dict:
    from edgecolor.graph import precision

    onnx.save(precision.to_fp16(onnx.load(str(fp32)), keep_fp32=keep), out)
    return {}


def _bf16_graph(cfg: BuildConfig, fp32: Path, out: Path, work: Path, model_sha: str, frames: Any,
                keep: tuple[str, ...], on_progress: Progress | None) -> dict:
    import shutil

    if keep:
        from edgecolor.errors import InputError

        raise InputError("--keep-fp32 does not apply to BF16 (OpenVINO picks the bfloat16 layers itself)",
                         "drop --keep-fp32, or build --precision int8")
    shutil.copyfile(fp32, out)  # the graph stays FP32: OpenVINO applies the precision when it compiles
    return {}


def _int8_graph(cfg: BuildConfig, fp32: Path, out: Path, work: Path, model_sha: str, frames: Any,
                keep: tuple[str, ...], on_progress: Progress | None) -> dict:
    from edgecolor.graph import precision
    from edgecolor.graph.calibration import cache_key, cache_paths

    opts = precision.Int8Options(target=cfg.target, method=cfg.calib_method, keep_fp32=keep,
                                 reduce_range=_saturating_cpu(cfg))
    described = opts.describe()
    key, meta = cache_key(model_sha, frames, dict(described))
    scales, hit = cache_paths(key, meta)
    prepared, facts = prepared_for_int8(fp32, work)
    for_speed = precision.quantize_int8(prepared, out, _counting_reader(frames.calib, on_progress), opts, scales)
    report = precision.qdq_report(onnx.load(str(out)))
    if report["on_output"] or report["on_colour_math"]:
        raise RuntimeError(f"Q/DQ leaked onto the output/colour math: {report}")  # a bug, not a user error
    return {
        "calibration_hash": key,
        "calibration_cache": "hit" if hit else "miss",
        "qdq": report,
        "calibration": {**frames.describe(), **described},
        "graph_preprocessing": facts,
        "kept_fp32_for_speed": for_speed,
    }


def _saturating_cpu(cfg: BuildConfig) -> bool:
    """Whether this build's INT8 engine runs on ONNX Runtime on an x86 CPU without integer dot products,
    where 8-bit weights saturate (:attr:`edgecolor.graph.precision.Int8Options.reduce_range`)."""
    from edgecolor.system import INT8_FLAGS, cpu_flags

    if cfg.target is not Target.CPU or cfg.cpu_backend is not Runtime.ONNXRUNTIME:
        return False
    flags = set(cpu_flags())
    return "avx2" in flags and not flags & set(INT8_FLAGS)


def prepared_for_int8(fp32: Path, work: Path) -> tuple[Path, dict]:
    """The FP32 graph after quantisation pre-processing (pads folded into Conv), made once per build."""
    import json

    from edgecolor.graph.precision import prepare_for_int8

    prepared, facts = work / "int8-prepared.onnx", work / "int8-prepared.json"
    if not prepared.is_file():
        facts.write_text(json.dumps(prepare_for_int8(fp32, prepared)))
    return prepared, json.loads(facts.read_text())


def _counting_reader(frames: tuple, on_progress: Progress | None) -> Any:
    """The calibration reader, reporting each frame ONNX Runtime takes (calibration is the slow step)."""
    from edgecolor.graph.calibration import FrameReader

    class CountingReader(FrameReader):
        def get_next(self) -> Any:
            item = super().get_next()
            if item is not None and on_progress is not None:
                on_progress("calibrating", self._i, len(self))
            return item

    return CountingReader(frames)


def _int8_remedy(cfg: BuildConfig) -> str:
    others = [m.value for m in CalibMethod if m != cfg.calib_method]
    return (
        f"use more/representative frames (--calib, --calib-frames {cfg.calib_frames * 2}), another method "
        f"(--calib-method {' or '.join(others)}), --keep-fp32 NODE, or --auto-sensitivity"
    )


RECIPES: dict[Precision, Recipe] = {
    Precision.FP32: Recipe(None, None, None, lambda cfg: "the FP32 frame model is its own reference"),
    Precision.FP16: Recipe(_fp16_graph, 0.1, 40.0, lambda cfg: "keep the named layers in FP32 with --keep-fp32 NODE, "
                                                                "or build --precision fp32", openvino_hint=None),
    Precision.INT8: Recipe(_int8_graph, 0.3, 30.0, _int8_remedy, calibrates=True),
    # BF16 keeps 8 exponent bits, so FP16's limits would be too strict for its 8-bit mantissa; INT8's apply.
    Precision.BF16: Recipe(_bf16_graph, 0.3, 30.0, lambda cfg: "build --precision int8 (calibrated) or fp32",
                           cpu_backend=Runtime.OPENVINO, openvino_hint="bf16"),
}


def recipe(precision: Precision | str) -> Recipe:
    found = RECIPES.get(Precision.parse(precision, "precision"))
    if found is None:
        raise RuntimeError(f"precision {precision} has no recipe")  # a bug: 'auto' is resolved by BuildConfig
    return found
