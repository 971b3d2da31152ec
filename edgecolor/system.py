"""Facts about this machine, each asked one way: installed distribution versions, the cores this process may use,
the CPU and its INT8/BF16 kernel flags, the NVIDIA GPUs ``nvidia-smi`` reports, and how busy the machine is.
``doctor``, ``--precision auto``, the builder's manifests and every benchmark record read them here: numbers
measured beside other jobs are only valid as ratios within one run, and a record says so."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess


def dist_version(*dists: str) -> str | None:
    """The version of the first of ``dists`` that is installed (package metadata only, nothing imported)."""
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask: a container's or ``taskset``'s limit)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def nvidia_smi_gpus(timeout_s: float = 10.0) -> tuple[list[dict[str, str]], str | None]:
    """``([{name, driver, compute_capability}, ...], error)`` from ``nvidia-smi``; ``([], None)`` without it.
    ``error`` is nvidia-smi's own first line (or why it could not run) when it fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], None
    try:
        res = subprocess.run([smi, "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        return [], str(exc)
    gpus = []
    for line in res.stdout.strip().splitlines():
        parts = [p.strip() for p in line.rsplit(",", 2)]  # a GPU name may hold a comma; the numbers do not
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "compute_capability": parts[2]})
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip().splitlines()
        return gpus, said[0][:200] if said else f"nvidia-smi exit code {res.returncode}"
    return gpus, None

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The instruction sets that decide which integer / bfloat16 kernels ONNX Runtime and OpenVINO can use.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 bfloat16 matrix / dot-product instructions
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni", "asimddp", "i8mm")  # integer dot products (x86, Arm)
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
    """The first GPU ``nvidia-smi`` reports (:func:`nvidia_smi_gpus`), or None."""
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
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "affinity_cores": usable_cores(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gpu": _gpu(),
        "libraries": {k: v for k, v in libs.items() if v},
    }
