"""One validator for every numeric option: finite and inside its bounds, or a one-line error.

Why not typer's ``min=``/``max=``: click's ranges let ``nan`` through (every comparison with NaN is false)
and have no upper bound unless one is given, so ``bench --duration nan`` never ended, ``--warmup inf``
never started timing and ``--threads 100000`` asked ONNX Runtime for 100,000 threads. Every numeric option
takes ``callback=bounded(lo, hi)``; the bounds are part of the option's contract and listed in its help.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import typer

from edgecolor.backends.streams import MAX_STREAMS
from edgecolor.choices import CpuPath
from edgecolor.errors import InputError

MAX_THREADS = 256  # more than any edge board has cores; ONNX Runtime / PyTorch spawn one OS thread each


def _name(param: Any) -> str:
    opts = getattr(param, "opts", None) or [getattr(param, "name", "value")]
    return max(opts, key=len)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def bounded(lo: float, hi: float, above: bool = False) -> Callable[[Any, Any, Any], Any]:
    """A typer callback accepting ``lo <= value <= hi`` (``lo < value`` with ``above``), finite, or ``None``."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return value
        low = "more than" if above else "at least"
        for v in value if isinstance(value, (list, tuple)) else (value,):
            ok = isinstance(v, (int, float)) and math.isfinite(v) and (v > lo if above else v >= lo) and v <= hi
            if not ok:
                raise InputError(f"{_name(param)} {v} is out of range (a finite number, {low} {_fmt(lo)} and at "
                                 f"most {_fmt(hi)})", f"pass {_name(param)} between {_fmt(lo)} and {_fmt(hi)}")
        return value

    return check


THREADS = bounded(0, MAX_THREADS)
STREAMS_HELP = ("Throughput mode for CPU engines: this many ONNX Runtime sessions, each with its share of --threads, "
                "frames dealt out in turn: more frames/s, each frame slower (for files, not a live camera).")
StreamsOpt = Annotated[int, typer.Option(help=STREAMS_HELP + " 1..64.", callback=bounded(1, MAX_STREAMS))]

CpuPathOpt = Annotated[CpuPath, typer.Option(
    help="How a CPU frame model runs. auto: the colorizer's network on ONNX Runtime and its colour math in OpenCV "
         "where the model allows it (faster), else the whole graph; graph: the whole frame model in ONNX Runtime "
         "(the two agree within 2 LSB); split: the OpenCV colour math, refused where impossible; openvino*: the "
         "network on OpenVINO.")]
