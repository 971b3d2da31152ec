"""--precision auto: the precision and CPU backend chosen from CPU flags and what is installed, recorded."""

from __future__ import annotations

import pytest

from edgecolor.backends.manifest import EngineManifest
from edgecolor.builder import auto
from edgecolor.builder.pipeline import BuildConfig
from edgecolor.choices import Precision, Runtime

OV, ORT = Runtime.OPENVINO, Runtime.ONNXRUNTIME


@pytest.mark.parametrize(("flags", "openvino", "precision", "backend", "says"), [
    (["avx2", "avx512_vnni", "avx512_bf16"], True, Precision.INT8, OV, "avx512_vnni"),  # AMD Zen 4 (this VM)
    (["avx2", "amx_int8", "amx_bf16"], True, Precision.INT8, OV, "amx_int8"),  # Sapphire Rapids
    (["avx2", "avx512_bf16"], True, Precision.BF16, OV, "avx512_bf16"),
    (["avx2", "avx512_vnni", "avx512_bf16"], False, Precision.INT8, ORT, "not installed"),
    (["avx2", "avx512_bf16"], False, Precision.INT8, ORT, "not installed"),  # emulated INT8 beats FP32
    (["avx2"], True, Precision.INT8, OV, "16-bit multiply-adds"),  # AVX2 EPYC without VNNI (2026-12-06 record)
    (["avx2"], False, Precision.INT8, ORT, "16-bit multiply-adds"),
    (["sse4_2"], True, Precision.FP32, ORT, "no integer"),
    (["avx2", "avx_vnni"], False, Precision.INT8, ORT, "avx_vnni"),  # Alder Lake
    (["asimddp", "i8mm"], False, Precision.INT8, ORT, "asimddp"),  # Arm
    ([], False, Precision.FP32, ORT, "no integer"),
])
def test_choice_follows_flags_and_install(flags, openvino, precision, backend, says):
    choice = auto.choose(flags, openvino)
    assert (choice.precision, choice.backend) == (precision, backend)
    assert says in choice.reason and choice.describe()["cpu_flags"] == flags


def test_build_config_resolves_auto_from_this_machine(monkeypatch, tmp_path):
    from edgecolor import system

    monkeypatch.setattr(system, "cpu_flags", lambda: ["avx2", "avx512_vnni", "avx512_bf16"])
    monkeypatch.setattr(auto, "openvino_installed", lambda: False)
    cfg = BuildConfig(model="colorizer", precision="auto", target="cpu")
    assert cfg.precision is Precision.INT8 and cfg.cpu_backend is ORT
    assert cfg.auto is not None and "avx512_vnni" in cfg.auto["reason"]
    assert cfg.engine_path.name == "colorizer-int8-cpu.onnx" and "--precision int8" in cfg.command()
    again = BuildConfig.from_manifest(EngineManifest(build_config={**cfg.__dict__}))  # a rebuild keeps the choice
    assert again.precision is Precision.INT8 and again.auto == cfg.auto


def test_auto_choice_reaches_the_manifest_and_the_bench_json(monkeypatch, tmp_path):
    import json

    from typer.testing import CliRunner

    from edgecolor import system
    from edgecolor.cli import app

    from build_helpers import conv_colorizer

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(system, "cpu_flags", lambda: ["sse4_2"])
    monkeypatch.setattr(auto, "openvino_installed", lambda: False)
    conv_colorizer(tmp_path / "m.onnx")
    runner = CliRunner()
    res = runner.invoke(app, ["build", "m.onnx", "--precision", "auto", "--target", "cpu"])
    assert res.exit_code == 0 and "auto: fp32 on onnxruntime: no integer" in res.output.replace("\n", " ")
    engine = tmp_path / "engines" / "m-fp32-cpu.onnx"
    assert json.loads((tmp_path / "engines" / "m-fp32-cpu.onnx.json").read_text())["auto"]["precision"] == "fp32"
    res = runner.invoke(app, ["bench", str(engine), "--resolutions", "32x24", "--iterations", "2", "--warmup", "0",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"][0]["auto"]["reason"].startswith("no integer")


def test_candidates_fall_back_along_the_rule_to_onnxruntime_fp32():
    found = [(c.precision, c.backend) for c in auto.candidates(["avx512_vnni", "avx512_bf16"], True)]
    assert found == [(Precision.INT8, OV), (Precision.BF16, OV), (Precision.INT8, ORT), (Precision.FP32, ORT)]
    assert [(c.precision, c.backend) for c in auto.candidates(["avx2"], True)] == [
        (Precision.INT8, OV), (Precision.INT8, ORT), (Precision.FP32, ORT)]
    assert [(c.precision, c.backend) for c in auto.candidates(["sse4_2"], True)] == [(Precision.FP32, ORT)]


def test_auto_falls_back_with_one_warning_when_openvino_cannot_compile(monkeypatch, tmp_path, caplog):
    """The CI-class CPU (VNNI, OpenVINO installed) whose OpenVINO fails: one warning line, no traceback, the
    next choice of the rule built, and the manifest saying what was skipped and why."""
    import json

    from typer.testing import CliRunner

    from edgecolor import system
    from edgecolor.backends.openvino import engine as openvino
    from edgecolor.cli import app
    from edgecolor.errors import ModelError

    from build_helpers import conv_colorizer, image_folder

    def refuse(*args, **kwargs):
        raise ModelError("OpenVINO cannot compile this network: Reorder node failed", "use --cpu-path split")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(system, "cpu_flags", lambda: ["avx2", "avx512_vnni"])
    monkeypatch.setattr(auto, "openvino_installed", lambda: True)
    monkeypatch.setattr(openvino, "compile_network", refuse)
    conv_colorizer(tmp_path / "m.onnx")
    image_folder(tmp_path / "frames", 8)
    res = CliRunner().invoke(app, ["build", "m.onnx", "--precision", "auto", "--calib", "frames", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    warned = [r.getMessage() for r in caplog.records if "--precision auto" in r.getMessage()]
    assert len(warned) == 1 and "Reorder node failed" in warned[0] and "int8 on onnxruntime instead" in warned[0]
    assert "wrote engines/m-int8-cpu.onnx " in res.output and "--model engines/m-int8-cpu.onnx" in res.output
    manifest = json.loads((tmp_path / "engines" / "m-int8-cpu.onnx.json").read_text())
    assert (manifest["precision"], manifest["backend"]) == ("int8", "onnxruntime")
    skipped = manifest["auto"]["fell_back_from"]
    assert [(s["precision"], s["cpu_backend"]) for s in skipped] == [("int8", "openvino")]
    assert "Reorder node failed" in skipped[0]["why"]


@pytest.mark.parametrize(("flags", "backend", "target", "seven_bits"), [
    (["avx2"], "onnxruntime", "cpu", True),  # u8 x s8 pairs saturate in 16 bits without VNNI
    (["avx2", "avx512_vnni"], "onnxruntime", "cpu", False),
    (["avx2", "avx_vnni"], "onnxruntime", "cpu", False),
    (["avx2"], "openvino", "cpu", False),  # OpenVINO's kernels do not saturate (gated at 8 bits)
    (["asimddp"], "onnxruntime", "cpu", False),  # Arm
])
def test_int8_weights_are_seven_bits_where_onnxruntime_would_saturate(monkeypatch, flags, backend, target,
                                                                      seven_bits):
    from edgecolor import system
    from edgecolor.builder.precisions import _saturating_cpu

    monkeypatch.setattr(system, "cpu_flags", lambda: flags)
    cfg = BuildConfig(model="colorizer", precision="int8", target=target, cpu_backend=backend)
    assert _saturating_cpu(cfg) is seven_bits


def test_auto_refuses_a_broken_model_once_without_falling_back(monkeypatch, tmp_path, caplog):
    """A fault of the model itself (its output is half the frame) is no reason to try another precision."""
    from typer.testing import CliRunner

    from edgecolor import system
    from edgecolor.cli import app

    from helpers import bad_output_model

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(system, "cpu_flags", lambda: ["avx2", "avx512_vnni"])
    monkeypatch.setattr(auto, "openvino_installed", lambda: True)
    bad_output_model(tmp_path / "half.onnx", "half")
    res = CliRunner().invoke(app, ["build", "half.onnx", "--precision", "auto", "--threads", "1"])
    assert res.exit_code == 2 and len([ln for ln in res.output.splitlines() if ln.startswith("error:")]) == 1
    assert not [r for r in caplog.records if "--precision auto" in r.getMessage()]
    assert not (tmp_path / "engines").exists()
