"""Nothing edgecolor runs reports to anyone: ONNX Runtime's telemetry (a device id under ``~/.cache/Microsoft``, a
``.ses`` file in the temporary folder, an upload host looked up when the library loads) and a local Ray cluster's
usage statistics are off for every command, unless the user switched them on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2

from helpers import random_bgr

EDGECOLOR = Path(sys.executable).with_name("edgecolor")


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "RAY_USAGE_STATS_ENABLED")}
    for name in ("home", "tmp"):
        (tmp_path / name).mkdir()
    return env | {"HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp"), "PYTHONDONTWRITEBYTECODE": "1"}


def test_colorize_leaves_no_telemetry_behind(tmp_path):
    env = clean_env(tmp_path)
    photo = tmp_path / "old.png"
    cv2.imwrite(str(photo), cv2.cvtColor(random_bgr(48, 64, seed=3), cv2.COLOR_BGR2GRAY))
    res = subprocess.run([str(EDGECOLOR), "colorize", str(photo), "-o", str(tmp_path / "new.png")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert cv2.imread(str(tmp_path / "new.png")).shape == (48, 64, 3)
    left = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "home").rglob("*")) + \
        sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "tmp").rglob("*"))
    assert not [p for p in left if "Microsoft" in p or p.endswith(".ses")], left


SWITCHES = "import os, edgecolor; print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['RAY_USAGE_STATS_ENABLED'])"


def test_rays_usage_statistics_are_off_and_a_users_own_settings_are_kept(tmp_path):
    env = clean_env(tmp_path)
    res = subprocess.run([sys.executable, "-c", SWITCHES], env=env, capture_output=True, text=True, timeout=60)
    assert res.stdout.split() == ["1", "0"], res.stderr  # Ray's documented switch: RAY_USAGE_STATS_ENABLED=0
    mine = env | {"ORT_DISABLE_TELEMETRY": "0", "RAY_USAGE_STATS_ENABLED": "1"}
    res = subprocess.run([sys.executable, "-c", SWITCHES], env=mine, capture_output=True, text=True, timeout=60)
    assert res.stdout.split() == ["0", "1"], res.stderr


def test_doctor_says_the_telemetry_switches_and_whose_they_are(tmp_path):
    env = clean_env(tmp_path) | {"RAY_USAGE_STATS_ENABLED": "1"}
    res = subprocess.run([str(EDGECOLOR), "doctor"], env=env, capture_output=True, text=True, timeout=120)
    (row,) = [r.strip() for r in res.stderr.splitlines() if r.strip().startswith("telemetry  ")]  # the report
    assert row == "telemetry  ORT_DISABLE_TELEMETRY=1 (off), RAY_USAGE_STATS_ENABLED=1 (as you set it)", res.stderr
