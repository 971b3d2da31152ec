"""Facts about this machine that several commands read, each asked one way: installed distribution versions,
the cores this process may use, and the NVIDIA GPUs ``nvidia-smi`` reports (``doctor``, TensorRT manifests)."""

from __future__ import annotations

import importlib.metadata
import os
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
