"""``edgecolor doctor``'s CPU lines: the kernel flags, OpenVINO's version and what ``--precision auto`` would
choose, taken from the functions the bench and the builder use (this machine's, then CPUs we do not have)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgecolor import doctor, system
from edgecolor.builder import auto
from edgecolor.cli import app
from edgecolor.system import dist_version

ZEN4 = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]  # the benchmarks' AMD EPYC: VNNI and BF16, no AMX
SAPPHIRE_RAPIDS = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]


def line(output: str, key: str) -> str:
    """The value printed after ``key`` (keys are right-aligned, two spaces before the value)."""
    (value,) = [row.strip()[len(key):].strip() for row in output.splitlines() if row.strip().startswith(key + "  ")]
    return value


def doctor_json() -> dict:
    res = CliRunner().invoke(app, ["doctor", "--json"])
    found = json.loads(res.stdout)
    assert res.exit_code == (0 if found["ok"] else 1), res.output
    return found


def test_json_reports_this_cpus_flags_openvino_and_the_auto_choice():
    found = doctor_json()
    cpu = found["cpu"]
    assert cpu["flags"] == system.cpu_flags() and cpu["cores"] >= 1 and cpu["model"]
    assert set(cpu["dot_product"]) <= set(system.INT8_FLAGS) and set(cpu["dot_product"]) <= set(cpu["flags"])
    assert set(cpu["bf16"]) <= set(system.BF16_FLAGS) and set(cpu["bf16"]) <= set(cpu["flags"])
    assert all(f.startswith("amx") for f in cpu["amx"])
    assert found["openvino"] == dist_version("openvino")
    assert found["precision_auto"] == auto.choose().describe()
    assert found["precision_auto"]["reason"]


@pytest.mark.parametrize(("flags", "openvino", "precision", "backend", "shown"), [
    (ZEN4, True, "int8", "openvino", "dot product avx512_vnni; bf16 avx512_bf16; amx none"),
    (ZEN4, False, "int8", "onnxruntime", "dot product avx512_vnni; bf16 avx512_bf16; amx none"),
    (SAPPHIRE_RAPIDS, True, "int8", "openvino",
     "dot product amx_int8, avx512_vnni; bf16 amx_bf16, avx512_bf16; amx amx_tile, amx_int8, amx_bf16"),
    (["avx2", "avx512_bf16"], True, "bf16", "openvino", "dot product none; bf16 avx512_bf16; amx none"),
    (["avx2"], False, "int8", "onnxruntime", "dot product none; bf16 none; amx none"),
    ([], True, "fp32", "onnxruntime", "dot product none; bf16 none; amx none"),
])
def test_text_says_the_flags_and_what_auto_would_choose_and_why(monkeypatch, flags, openvino, precision, backend,
                                                                  shown):
    monkeypatch.setattr(system, "cpu_flags", lambda: list(flags))
    monkeypatch.setattr(auto, "openvino_installed", lambda: openvino)
    choice = auto.choose(flags, openvino)
    res = CliRunner().invoke(app, ["doctor"])
    assert line(res.output, "cpu flags") == shown, res.output
    assert line(res.output, "precision auto") == f"{precision} on {backend}: {choice.reason}", res.output
    found = doctor_json()
    assert found["precision_auto"] == {"precision": precision, "cpu_backend": backend, "reason": choice.reason,
                                       "cpu_flags": list(flags)}


def test_openvino_line_names_the_installed_version_or_says_not_installed(monkeypatch):
    res = CliRunner().invoke(app, ["doctor"])
    assert f"openvino  {dist_version('openvino') or 'not installed'}" in res.output
    real = doctor.facts()
    monkeypatch.setattr(doctor, "facts", lambda: {**real, "openvino": None})
    assert "openvino  not installed" in CliRunner().invoke(app, ["doctor"]).output


@pytest.mark.parametrize(("dot_product", "bf16", "openvino", "expected"), [
    (["avx512_vnni"], [], None, True),
    ([], ["avx512_bf16"], None, True),
    (["avx512_vnni"], ["avx512_bf16"], "2026.4.1", False),  # installed: nothing to say
    ([], [], None, False),  # no kernels for OpenVINO to use: FP32 either way
])
def test_fast_cpu_flags_without_openvino_name_the_extra(dot_product, bf16, openvino, expected):
    f = doctor.facts()
    f = {**f, "openvino": openvino, "cpu": {**f["cpu"], "dot_product": dot_product, "bf16": bf16}}
    said = [p for p in doctor.problems(f) if "edgecolor[openvino]" in p.fix and "--precision auto" in p.problem]
    assert bool(said) == expected
    assert all(p.severity == "info" for p in said)


@pytest.mark.parametrize("openvino", [None, "2026.4.1"])
def test_without_openvino_the_styles_slower_path_is_named_with_the_extra(openvino):
    f = {**doctor.facts(), "openvino": openvino}
    said = [p for p in doctor.problems(f) if "styles run on ONNX Runtime" in p.problem]
    assert bool(said) == (openvino is None)
    assert all(p.severity == "info" and "edgecolor[openvino]" in p.fix for p in said)
