"""``--precision auto --target cpu``: the precision and CPU backend expected to be fastest on this CPU.

Decided from the CPU's flags (``/proc/cpuinfo``, :func:`edgecolor.bench.machine.cpu_flags`) and whether the
``openvino`` extra is installed; nothing is timed, so the choice is deterministic and cheap. The order comes
from one measurement (``benchmarks/results/2026-12-01-cpu-backends.md``, AMD Zen 4 with AVX-512 VNNI and
BF16): OpenVINO BF16 and OpenVINO INT8 were both ~3 x ONNX Runtime FP32 on the colorizer, ONNX Runtime INT8
~2 x. BF16 is preferred where the CPU has bfloat16 kernels because it needs no calibration and stays closer
to FP32 (max 5-6 LSB against 13 for INT8). The chosen precision still goes through its accuracy gate;
the choice and its reason are recorded in the engine's manifest (``auto``) and printed by ``build``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

from edgecolor.choices import EngineBackend, Precision

BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 bfloat16 matrix / dot-product instructions
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni", "asimddp", "i8mm")  # integer dot products (x86, Arm)


@dataclass(frozen=True)
class CpuChoice:
    precision: Precision
    backend: EngineBackend
    reason: str
    flags: tuple[str, ...]

    def describe(self) -> dict[str, object]:
        return {"precision": str(self.precision), "cpu_backend": str(self.backend), "reason": self.reason,
                "cpu_flags": list(self.flags)}


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def choose(flags: Iterable[str] | None = None, openvino: bool | None = None) -> CpuChoice:
    """The fastest precision/backend for this CPU (``flags`` / ``openvino`` given: for that CPU / install)."""
    if flags is None:
        from edgecolor.bench.machine import cpu_flags

        flags = cpu_flags()
    have = tuple(flags)
    ov = openvino_installed() if openvino is None else openvino
    bf16 = [f for f in BF16_FLAGS if f in have]
    int8 = [f for f in INT8_FLAGS if f in have]
    if bf16 and ov:
        return CpuChoice(Precision.BF16, EngineBackend.OPENVINO,
                         f"the CPU has {', '.join(bf16)} and OpenVINO is installed: bfloat16 kernels, no calibration",
                         have)
    if bf16:
        why = f"the CPU has {', '.join(bf16)}, but OpenVINO is not installed (pip install 'edgecolor[openvino]')"
        if int8:
            return CpuChoice(Precision.INT8, EngineBackend.ONNXRUNTIME,
                             f"{why}; {', '.join(int8)}: ONNX Runtime's integer kernels", have)
        return CpuChoice(Precision.FP32, EngineBackend.ONNXRUNTIME, f"{why}: ONNX Runtime FP32", have)
    if int8:
        backend = EngineBackend.OPENVINO if ov else EngineBackend.ONNXRUNTIME
        return CpuChoice(Precision.INT8, backend,
                         f"the CPU has {', '.join(int8)} (integer dot products), no bfloat16 kernels: "
                         f"{backend.label} INT8", have)
    if ov:
        return CpuChoice(Precision.FP32, EngineBackend.OPENVINO,
                         "no integer dot-product or bfloat16 flags: INT8/BF16 would be emulated; OpenVINO FP32", have)
    return CpuChoice(Precision.FP32, EngineBackend.ONNXRUNTIME,
                     "no integer dot-product or bfloat16 flags and no OpenVINO: ONNX Runtime FP32", have)
