"""An OpenVINO engine: the graph as it is (FP32 or Q/DQ: OpenVINO reads standard ONNX), and what the CPU plugin
reports it will run: a BF16 hint on a CPU without bfloat16 kernels runs f32, and the manifest says so."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx

from edgecolor.backends.openvino.engine import compile_network
from edgecolor.choices import OpenVinoPrecision, Runtime
from edgecolor.errors import OutputError, require
from edgecolor.imageio import space_note
from edgecolor.system import BF16_FLAGS, cpu_flags

if TYPE_CHECKING:
    from edgecolor.backends.runtimes import EngineOptions

log = logging.getLogger(__name__)


def write_engine(graph: Path, engine: Path, options: EngineOptions) -> dict[str, Any]:
    ov = require("openvino", "openvino")
    hint = OpenVinoPrecision.parse(options.openvino_hint or "", "OpenVINO precision")
    try:
        shutil.copyfile(graph, engine)
    except OSError as exc:
        raise OutputError(f"cannot write {engine}: {exc.strerror}{space_note(engine)}",
                          "free disk space or choose another output location with -o") from exc
    _, used = compile_network(onnx.load(str(graph)), hint, options.threads, "build --precision fp32 or int8")
    flags = [f for f in BF16_FLAGS if f in cpu_flags()]
    if hint == OpenVinoPrecision.BF16 and used != "bf16":
        note = (f"OpenVINO's CPU plugin reports {used}, not bf16: this CPU has no {'/'.join(BF16_FLAGS)}, so the "
                f"engine runs in {used} (no faster than FP32 on OpenVINO)")
        log.warning(note)
    else:
        note = (f"OpenVINO's CPU plugin reports {used} for a {hint} hint "
                f"(CPU bfloat16 flags: {', '.join(flags) or 'none'})")
    return {
        "backend": str(Runtime.OPENVINO),
        "backend_version": ov.__version__,
        "openvino": {"inference_precision_hint": str(hint), "plugin_precision": used, "cpu_bf16_flags": flags,
                     "note": note},
    }
