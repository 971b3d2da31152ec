"""--precision auto: the precision and CPU backend chosen from CPU flags and what is installed, recorded."""

from __future__ import annotations

import pytest

from edgecolor.build import auto
from edgecolor.build.builder import BuildConfig
from edgecolor.choices import EngineBackend, Precision

OV, ORT = EngineBackend.OPENVINO, EngineBackend.ONNXRUNTIME


@pytest.mark.parametrize(("flags", "openvino", "precision", "backend", "says"), [
    (["avx2", "avx512_vnni", "avx512_bf16"], True, Precision.INT8, OV, "avx512_vnni"),  # AMD Zen 4 (this VM)
    (["avx2", "amx_int8", "amx_bf16"], True, Precision.INT8, OV, "amx_int8"),  # Sapphire Rapids
    (["avx2", "avx512_bf16"], True, Precision.BF16, OV, "avx512_bf16"),
    (["avx2", "avx512_vnni", "avx512_bf16"], False, Precision.INT8, ORT, "not installed"),
    (["avx2", "avx512_bf16"], False, Precision.FP32, ORT, "not installed"),
    (["avx2", "avx_vnni"], False, Precision.INT8, ORT, "avx_vnni"),  # Alder Lake
    (["asimddp", "i8mm"], False, Precision.INT8, ORT, "asimddp"),  # Arm
    (["avx2"], True, Precision.FP32, ORT, "no integer"),
    ([], False, Precision.FP32, ORT, "no integer"),
])
def test_choice_follows_flags_and_install(flags, openvino, precision, backend, says):
    choice = auto.choose(flags, openvino)
    assert (choice.precision, choice.backend) == (precision, backend)
    assert says in choice.reason and choice.describe()["cpu_flags"] == flags


def test_build_config_resolves_auto_from_this_machine(monkeypatch, tmp_path):
    from edgecolor.bench import machine

    monkeypatch.setattr(machine, "cpu_flags", lambda: ["avx2", "avx512_vnni", "avx512_bf16"])
    monkeypatch.setattr(auto, "openvino_installed", lambda: False)
    cfg = BuildConfig(model="colorizer", precision="auto", target="cpu")
    assert cfg.precision is Precision.INT8 and cfg.cpu_backend is ORT
    assert cfg.auto is not None and "avx512_vnni" in cfg.auto["reason"]
    assert cfg.engine_path.name == "colorizer-int8-cpu.onnx" and "--precision int8" in cfg.command()
    again = BuildConfig.from_manifest({"build_config": {**cfg.__dict__}})  # a rebuild keeps the choice
    assert again.precision is Precision.INT8 and again.auto == cfg.auto


def test_auto_choice_reaches_the_manifest_and_the_bench_json(monkeypatch, tmp_path):
    import json

    from typer.testing import CliRunner

    from edgecolor.bench import machine
    from edgecolor.cli import app

    from build_helpers import conv_colorizer

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(machine, "cpu_flags", lambda: ["avx2"])
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
