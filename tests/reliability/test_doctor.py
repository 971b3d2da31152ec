"""``edgecolor doctor``: real facts of this machine, and each problem's fix for machines we do not have
(facts edited, a fake ``nvidia-smi`` on PATH)."""

from __future__ import annotations

import copy
import json
import os
import platform

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor import doctor
from edgecolor.cli import app


@pytest.fixture(scope="module")
def here() -> dict:
    return doctor.facts()


def test_json_reports_this_machine(here):
    res = CliRunner().invoke(app, ["doctor", "--json"])
    found = json.loads(res.stdout)
    assert res.exit_code == (0 if found["ok"] else 1)
    assert found["python"]["version"] == platform.python_version()
    assert found["opencv"]["version"] == cv2.__version__
    assert found["opencv"]["ffmpeg"].startswith("YES")  # the pip wheel: the video tests depend on it
    assert "CPUExecutionProvider" in found["onnxruntime"]["providers"]
    assert {c["device"] for c in found["cameras"]} == {f"/dev/{n}" for n in os.listdir("/dev") if
                                                       n.startswith("video")}
    assert all({"severity", "problem", "fix"} <= set(p) for p in found["problems"])


def test_text_output_lists_each_problem_with_its_fix():
    res = CliRunner().invoke(app, ["doctor"])
    assert "opencv" in res.output and "onnxruntime" in res.output
    for p in doctor.report()["problems"]:
        assert p["problem"][:30] in res.output.replace("\n", " ")


def _edit(facts: dict, **changes) -> dict:
    f = copy.deepcopy(facts)
    for path, value in changes.items():
        node = f
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return f


CASES = [
    ({"onnxruntime__version": None, "onnxruntime__providers": []}, "error", "pip install 'edgecolor'"),
    ({"opencv__ffmpeg": "NO"}, "error", "pip install opencv-python"),
    ({"opencv__v4l2": "NO"}, "warning", "V4L2"),
    ({"gpu__gpus": [{"name": "NVIDIA H100", "compute_capability": "9.0"}], "tensorrt": None}, "warning",
     "pip install 'edgecolor[trt]'"),
    ({"gpu__gpus": [{"name": "Orin", "compute_capability": "8.7"}], "tensorrt": "10.3.0", "cuda_python": None,
      "pycuda": None}, "warning", "no CUDA bindings"),
    ({"gpu__jetson": "# R36 (release), REVISION: 4.0", "opencv__gstreamer": "NO"}, "warning", "python3-opencv"),
    ({"cameras": []}, "warning", "v4l2-ctl --list-devices"),
    ({"cameras": [{"device": "/dev/video0", "name": "cam", "readable": False}]}, "warning", "usermod -aG video"),
    ({"disk_free_gb": 0.2}, "warning", "free disk space"),
    ({"python__version": "3.9.18"}, "error", "Python 3.10"),
]


@pytest.mark.parametrize("changes, severity, fix", CASES)
def test_each_problem_names_its_fix(here, changes, severity, fix):
    found = doctor.problems(_edit(here, **changes))
    match = [p for p in found if fix in p.fix or fix in p.problem]
    assert match and match[0].severity == severity


def test_errors_exit_1(here, monkeypatch):
    broken = _edit(here, **{"opencv__ffmpeg": "NO"})
    monkeypatch.setattr(doctor, "facts", lambda: broken)
    res = CliRunner().invoke(app, ["doctor"])
    assert res.exit_code == 1 and "pip install opencv-python" in res.output


SMI_QUERY = "NVIDIA H100 80GB HBM3, 550.54.15, 9.0"
SMI_HEADER = "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |"


def test_gpu_facts_from_nvidia_smi(tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\nif [ -n "$1" ]; then echo "{SMI_QUERY}"; else echo "{SMI_HEADER}"; fi\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    gpu = doctor.gpu_facts()
    assert gpu["gpus"] == [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}]
    assert gpu["driver"] == "550.54.15" and gpu["cuda"] == "12.4" and "error" not in gpu
