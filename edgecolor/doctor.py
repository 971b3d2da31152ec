"""What this machine offers edgecolor, and each problem with its fix (``edgecolor doctor``).

:func:`facts` gathers versions and capabilities without importing heavy modules where package metadata
suffices (TensorRT, cuda-python and OpenVINO are looked up, not imported); :func:`problems` turns them into
findings. The CPU's kernel flags and what ``build --precision auto --target cpu`` would choose come from the
functions the bench and the builder use (:func:`edgecolor.system.cpu_flags`,
:func:`edgecolor.builder.auto.choose`), so doctor says what they will do.
Severity: ``error`` (edgecolor cannot run as installed), ``warning`` (a feature is unavailable: cameras,
TensorRT), ``info`` (worth knowing). Nothing here changes the machine.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgecolor.system import dist_version, nvidia_smi_gpus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | info
    problem: str
    fix: str


def opencv_facts() -> dict[str, Any]:
    import cv2

    info = cv2.getBuildInformation()

    def backend(name: str) -> str:
        m = re.search(rf"^\s*{re.escape(name)}:\s*(.+)$", info, re.M)
        return m.group(1).strip() if m else "NO"

    return {
        "version": cv2.__version__,
        "ffmpeg": backend("FFMPEG"),
        "gstreamer": backend("GStreamer"),
        "v4l2": backend("v4l/v4l2"),
    }


def onnxruntime_facts() -> dict[str, Any]:
    if importlib.util.find_spec("onnxruntime") is None:
        return {"version": None, "providers": []}
    import onnxruntime

    return {"version": onnxruntime.__version__, "providers": list(onnxruntime.get_available_providers())}


def gpu_facts(timeout_s: float = 5.0) -> dict[str, Any]:
    """NVIDIA GPU, driver and CUDA (from ``nvidia-smi``); Jetson from ``/etc/nv_tegra_release``."""
    found: dict[str, Any] = {"gpus": [], "driver": None, "cuda": None, "jetson": None}
    tegra = Path("/etc/nv_tegra_release")
    if tegra.is_file():
        found["jetson"] = tegra.read_text(errors="replace").splitlines()[0][:120]
    gpus, error = nvidia_smi_gpus(timeout_s)
    found["gpus"] = [{"name": g["name"], "compute_capability": g["compute_capability"]} for g in gpus]
    found["driver"] = gpus[-1]["driver"] if gpus else None
    if error is not None:
        found["error"] = error
    smi = shutil.which("nvidia-smi")
    if smi is not None and not (error and not gpus):  # the CUDA version is only in the plain header
        try:
            header = subprocess.run([smi], capture_output=True, text=True, timeout=timeout_s).stdout
        except (OSError, subprocess.SubprocessError):
            header = ""
        if m := re.search(r"CUDA Version:\s*([0-9.]+)", header):
            found["cuda"] = m.group(1)
    return found


def camera_facts() -> list[dict[str, Any]]:
    """V4L2 device nodes with their driver-reported names; not opened (a running kiosk may own them)."""
    cameras = []
    for node in sorted(glob.glob("/dev/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0)):
        name_file = Path("/sys/class/video4linux") / Path(node).name / "name"
        name = name_file.read_text(errors="replace").strip() if name_file.is_file() else "?"
        cameras.append({"device": node, "name": name, "readable": os.access(node, os.R_OK | os.W_OK)})
    return cameras


def cpu_facts() -> dict[str, Any]:
    """The CPU's model and the flags that decide its INT8 / bfloat16 kernels, grouped as ``--precision auto``
    reads them: integer dot products (VNNI, AMX-INT8, Arm dot product), bfloat16, and AMX."""
    from edgecolor.system import BF16_FLAGS, INT8_FLAGS, cpu_flags, cpu_model, usable_cores

    flags = cpu_flags()
    return {
        "model": cpu_model(),
        "cores": usable_cores(),
        "flags": flags,
        "dot_product": [f for f in INT8_FLAGS if f in flags],
        "bf16": [f for f in BF16_FLAGS if f in flags],
        "amx": [f for f in flags if f.startswith("amx")],
    }


def precision_auto(flags: list[str]) -> dict[str, Any]:
    """What ``edgecolor build MODEL --precision auto --target cpu`` would choose here, and why."""
    from edgecolor.builder.auto import choose

    return choose(flags).describe()


def telemetry_facts() -> dict[str, Any]:
    """Each library's telemetry switch (:data:`edgecolor.TELEMETRY_OFF`), its value in this process, and whether it
    is edgecolor's ``off`` or the user's own setting."""
    from edgecolor import TELEMETRY_OFF

    return {name: {"value": os.environ.get(name), "off": os.environ.get(name) == off}
            for name, off in TELEMETRY_OFF.items()}


def facts() -> dict[str, Any]:
    from edgecolor import __version__
    from edgecolor.stream.sinks import display_available

    disk = shutil.disk_usage(Path.cwd())
    cpu = cpu_facts()
    return {
        "edgecolor": __version__,
        "python": {"version": platform.python_version(), "executable": sys.executable,
                   "platform": platform.platform()},
        "opencv": opencv_facts(),
        "onnxruntime": onnxruntime_facts(),
        "openvino": dist_version("openvino"),
        "cpu": cpu,
        "precision_auto": precision_auto(cpu["flags"]),
        "gpu": gpu_facts(),
        "tensorrt": dist_version("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt_lean"),
        "cuda_python": dist_version("cuda-python", "cuda-bindings"),
        "pycuda": dist_version("pycuda"),
        "cameras": camera_facts(),
        "display": display_available(),
        "disk_free_gb": round(disk.free / 1e9, 1),
        "telemetry": telemetry_facts(),
    }


def problems(f: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    py = tuple(int(v) for v in f["python"]["version"].split(".")[:2])
    if py < (3, 10):
        out.append(Finding("error", f"Python {f['python']['version']} is too old", "use Python 3.10 or newer"))
    ort = f["onnxruntime"]
    if ort["version"] is None:
        out.append(Finding("error", "onnxruntime is not installed", "pip install 'edgecolor' (a core dependency)"))
    cv = f["opencv"]
    if not cv["ffmpeg"].upper().startswith("YES"):
        out.append(Finding("error", "this OpenCV cannot read or write video files (no FFmpeg)",
                           "pip install opencv-python (its wheels include FFmpeg)"))
    if not cv["v4l2"].upper().startswith("YES"):
        out.append(Finding("warning", "this OpenCV has no V4L2: USB cameras cannot be opened",
                           "use the opencv-python wheel or a distribution OpenCV built with V4L2"))
    cpu = f["cpu"]
    if f["openvino"] is None and (cpu["dot_product"] or cpu["bf16"]):
        out.append(Finding("info", f"the CPU has {', '.join(cpu['dot_product'] + cpu['bf16'])} but OpenVINO is "
                                   "not installed: --precision auto builds for ONNX Runtime, measured slower there",
                           "pip install 'edgecolor[openvino]'"))
    if f["openvino"] is None:
        out.append(Finding("info", "OpenVINO is not installed: styles run on ONNX Runtime, measured 1.6-2.1x slower "
                                   "than their network on OpenVINO (benchmarks/results/styles-2026-12-07-openvino.md)",
                           "pip install 'edgecolor[openvino]'"))
    gpu = f["gpu"]
    if f["gpu"]["jetson"] and not cv["gstreamer"].upper().startswith("YES"):
        out.append(Finding("warning", "Jetson without GStreamer in OpenCV: CSI cameras cannot be opened",
                           "use JetPack's python3-opencv (a venv with --system-site-packages), not the pip wheel"))
    if gpu.get("error"):
        out.append(Finding("warning", f"nvidia-smi failed: {gpu['error']}", "check the NVIDIA driver: nvidia-smi"))
    has_gpu = bool(gpu["gpus"]) or bool(gpu["jetson"])
    if not has_gpu:
        out.append(Finding("info", "no NVIDIA GPU found: models run on the CPU (ONNX Runtime)",
                           "for TensorRT use a machine with an NVIDIA GPU and driver (nvidia-smi must work)"))
    elif f["tensorrt"] is None:
        out.append(Finding("warning", "an NVIDIA GPU is present but TensorRT is not installed",
                           "pip install 'edgecolor[trt]' (on Jetson: JetPack's python3-libnvinfer)"))
    elif f["cuda_python"] is None and f["pycuda"] is None:
        out.append(Finding("warning", "TensorRT is installed but no CUDA bindings (cuda-python or pycuda)",
                           "pip install 'edgecolor[trt]'"))
    if has_gpu and ort["version"] and "CUDAExecutionProvider" not in ort["providers"]:
        out.append(Finding("info", "ONNX Runtime has no CUDA provider: --backend ort runs on the CPU",
                           "for GPU ONNX Runtime: pip install onnxruntime-gpu (or use TensorRT engines)"))
    cams = f["cameras"]
    if not cams:
        out.append(Finding("warning", "no camera found (/dev/video*)",
                           "connect a USB camera and check: v4l2-ctl --list-devices; or use --source rtsp://..."))
    elif not any(c["readable"] for c in cams):
        out.append(Finding("warning", "cameras exist but this user cannot open them",
                           "add the user to the video group: sudo usermod -aG video $USER (then log in again)"))
    if f["disk_free_gb"] < 1.0:
        out.append(Finding("warning", f"only {f['disk_free_gb']} GB free here: engines and videos need space",
                           "free disk space or write outputs elsewhere"))
    return out


def report() -> dict[str, Any]:
    f = facts()
    found = problems(f)
    return {**f, "problems": [asdict(p) for p in found], "ok": not any(p.severity == "error" for p in found)}
