"""What a benchmark ran on: CPU, its INT8/BF16 kernel flags, cores, GPU/driver where present, library versions,
and how busy the machine was (load average): numbers measured beside other jobs are only valid as ratios
within one run, and the record says so."""

from __future__ import annotations

import os
import platform

from edgecolor.system import dist_version, usable_cores


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The instruction sets that decide which integer / bfloat16 kernels ONNX Runtime and OpenVINO can use.
KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16",
                "asimddp", "i8mm", "bf16")


def cpu_flags() -> list[str]:
    """The :data:`KERNEL_FLAGS` this CPU reports in /proc/cpuinfo (x86 ``flags``, Arm ``Features``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return [k for k in KERNEL_FLAGS if k in have]
    except OSError:
        pass
    return []


def _gpu() -> dict[str, str] | None:
    """The first GPU ``nvidia-smi`` reports (:func:`edgecolor.system.nvidia_smi_gpus`), or None."""
    from edgecolor.system import nvidia_smi_gpus

    gpus, _error = nvidia_smi_gpus()
    return gpus[0] if gpus else None


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (``None`` where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe_machine() -> dict[str, object]:
    libs = {d: dist_version(d) for d in ("edgecolor", "onnxruntime", "onnxruntime-gpu", "onnx", "numpy",
                                         "opencv-python", "openvino", "torch", "tensorrt", "cuda-python")}
    return {
        "cpu": _cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "affinity_cores": usable_cores(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gpu": _gpu(),
        "libraries": {k: v for k, v in libs.items() if v},
    }
