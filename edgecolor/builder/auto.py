"""``--precision auto --target cpu``: the precision and CPU backend expected to be fastest on this CPU.

Decided from the CPU's flags (``/proc/cpuinfo``, :func:`edgecolor.system.cpu_flags`) and whether the
``openvino`` extra is installed; nothing is timed, so the choice is deterministic and cheap. The order comes
from one ``edgecolor bench`` run (``benchmarks/results/2026-12-01-cpu-backends.md`` run 3, AMD Zen 4: AVX-512
VNNI and BF16, no AMX; 720p, ratios to ONNX Runtime FP32 in the same run): colorizer OpenVINO INT8 (the Q/DQ
graph; u8 convolutions) 3.30 x engine / 3.56 x pipeline, OpenVINO BF16 3.27 x / 2.78 x, ONNX Runtime INT8
1.89 x / 1.58 x; style OpenVINO INT8 2.68 x, BF16 2.80 x (a tie), ONNX Runtime INT8 1.11 x. So: integer
dot-product flags and OpenVINO -> OpenVINO INT8; bfloat16 flags and OpenVINO (without integer dot products)
-> BF16; integer dot products without OpenVINO -> ONNX Runtime INT8; AVX2 without integer dot products ->
INT8 all the same, OpenVINO's where installed (emulated 8-bit products, still 1.35-1.54x FP32 on an AVX2 EPYC:
``benchmarks/results/2026-12-06-colorizer-int8-backends-720p-avx2.md``); else FP32 on ONNX Runtime. The
chosen precision still goes through its accuracy gate; when it cannot compile or fails the gate, ``build``
tries the next of :func:`candidates` (ONNX Runtime FP32 last, which always builds) with a warning naming why;
the choice and its reason are recorded in the engine's manifest (``auto``), printed by ``build`` and copied
into ``bench``'s JSON rows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

from edgecolor.choices import Precision, Runtime
from edgecolor.errors import install_command
from edgecolor.system import BF16_FLAGS, INT8_FLAGS

# On an AVX2 CPU without them (AMD EPYC, 2026-12-06, 720p engine / pipeline mode): OpenVINO INT8 1.45x / 1.54x,
# ONNX Runtime INT8 1.38x / 1.35x FP32.
EMULATED_INT8 = "1.35-1.54x"
EMULATED_RECORD = "benchmarks/results/2026-12-06-colorizer-int8-backends-720p-avx2.md"


@dataclass(frozen=True)
class CpuChoice:
    precision: Precision
    backend: Runtime
    reason: str
    flags: tuple[str, ...]

    def describe(self) -> dict[str, object]:
        return {"precision": str(self.precision), "cpu_backend": str(self.backend), "reason": self.reason,
                "cpu_flags": list(self.flags)}


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def choose(flags: Iterable[str] | None = None, openvino: bool | None = None) -> CpuChoice:
    """The fastest precision/backend for this CPU (``flags`` / ``openvino`` given: for that CPU / install)."""
    return candidates(flags, openvino)[0]


def candidates(flags: Iterable[str] | None = None, openvino: bool | None = None) -> list[CpuChoice]:
    """Every precision/backend the rule admits for this CPU, fastest first, ending with ONNX Runtime FP32 (which
    always builds): ``build`` falls back along this list when a choice cannot compile or fails its gate."""
    if flags is None:
        from edgecolor.system import cpu_flags

        flags = cpu_flags()
    have = tuple(flags)
    ov = openvino_installed() if openvino is None else openvino
    bf16 = [f for f in BF16_FLAGS if f in have]
    int8 = [f for f in INT8_FLAGS if f in have]
    found = []
    if int8 and ov:
        found.append(CpuChoice(Precision.INT8, Runtime.OPENVINO,
                               f"the CPU has {', '.join(int8)} (integer dot products) and OpenVINO is installed: "
                               "OpenVINO INT8 (u8 convolutions from the Q/DQ graph)", have))
    if bf16 and ov:
        found.append(CpuChoice(Precision.BF16, Runtime.OPENVINO,
                               f"the CPU has {', '.join(bf16)} and OpenVINO is installed: bfloat16 kernels", have))
    missing = (f" (OpenVINO is not installed: {install_command('openvino')})"
               if (bf16 or int8 or "avx2" in have) and not ov else "")
    if int8:
        found.append(CpuChoice(Precision.INT8, Runtime.ONNXRUNTIME,
                               f"the CPU has {', '.join(int8)} (integer dot products){missing}: ONNX Runtime INT8",
                               have))
    elif "avx2" in have:  # 8-bit products emulated with 16-bit multiply-adds: still faster than FP32
        emulated = ("the CPU has avx2 but no integer dot products: INT8 runs on 16-bit multiply-adds, measured "
                    f"{EMULATED_INT8} FP32 at 720p ({EMULATED_RECORD})")
        if ov:
            found.append(CpuChoice(Precision.INT8, Runtime.OPENVINO, f"{emulated}: OpenVINO INT8", have))
        found.append(CpuChoice(Precision.INT8, Runtime.ONNXRUNTIME,
                               f"{emulated}{missing}: ONNX Runtime INT8", have))
    if found:
        reason = "the rule's last resort: ONNX Runtime FP32"
    else:
        reason = (f"no integer dot-product flags and no avx2{missing or ('' if ov or bf16 else ' and no OpenVINO')}: "
                  "ONNX Runtime FP32 (INT8/BF16 would be emulated)")
    found.append(CpuChoice(Precision.FP32, Runtime.ONNXRUNTIME, reason, have))
    return found
