"""`edgecolor bench --json`: schema, monotone percentiles, no negative times; bad input exits 2."""

import json

import pytest
from typer.testing import CliRunner

from edgecolor.bench.runner import parse_resolutions, time_calls
from edgecolor.bench.stats import percentile, summarise
from edgecolor.cli import app
from edgecolor.errors import InputError

from helpers import tiny_colorizer

runner = CliRunner()


def test_percentile_nearest_rank():
    s = [float(i) for i in range(1, 101)]
    assert percentile(s, 50) == 50.0 and percentile(s, 99) == 99.0 and percentile(s, 100) == 100.0
    assert percentile([7.0], 99) == 7.0


def test_summarise_definitions():
    st = summarise([10.0, 20.0, 30.0, 40.0], wall_s=0.2)
    assert st.frames == 4 and st.throughput_fps == pytest.approx(20.0)
    assert (st.min_ms, st.max_ms, st.mean_ms, st.p50_ms) == (10.0, 40.0, 25.0, 20.0)


def test_parse_resolutions():
    assert parse_resolutions("720p, 512x256") == [("720p", 720, 1280), ("512x256", 256, 512)]
    for bad in ("720", "foo", "0x10", "", "99999x2"):
        with pytest.raises(InputError):
            parse_resolutions(bad)


def test_time_calls_needs_positive_budget():
    with pytest.raises(InputError):
        time_calls(lambda: None, 0, duration_s=0)
    with pytest.raises(InputError):
        time_calls(lambda: None, 0, iterations=0)
    assert time_calls(lambda: None, 0, iterations=5).frames == 5


def test_bench_json_schema(tmp_path):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    res = runner.invoke(app, ["bench", str(model), "--resolutions", "64x48,96x64", "--iterations", "8",
                              "--warmup", "0", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert {"cpu", "cpu_flags", "cores", "libraries"} <= set(report["machine"])
    assert len(report["rows"]) == 2
    for row in report["rows"]:
        assert row["frames"] == 8 and row["mode"] == "engine"
        times = [row[k] for k in ("min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")]
        assert all(t >= 0 for t in times) and times == sorted(times)
        assert row["min_ms"] <= row["mean_ms"] <= row["max_ms"] and row["throughput_fps"] > 0


@pytest.mark.parametrize("args,text", [
    (["--resolutions", "12k"], "unknown resolution"),
    (["--duration", "0"], "more than 0"),
])
def test_bench_bad_input(tmp_path, args, text):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    res = runner.invoke(app, ["bench", str(model), "--warmup", "0", *args])
    assert res.exit_code == 2 and text in res.stderr


def test_bench_engine_that_fails_to_load(tmp_path):
    (tmp_path / "broken.onnx").write_bytes(b"\x00garbage")
    res = runner.invoke(app, ["bench", str(tmp_path / "broken.onnx"), "--iterations", "1"])
    assert res.exit_code == 2 and res.stderr.startswith("error:")


@pytest.mark.parametrize("cpu_path,backend", [("graph", "onnxruntime"), ("split", "onnxruntime+opencv")])
def test_bench_pipeline_mode_processes_every_frame(tmp_path, cpu_path, backend):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    res = runner.invoke(app, ["bench", str(model), "--mode", "pipeline", "--cpu-path", cpu_path,
                              "--resolutions", "64x48", "--warmup", "0", "--threads", "1", "--iterations", "150",
                              "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)["rows"]
    assert row["mode"] == "pipeline" and row["backend"] == backend
    # past the 120-frame clip's end (it loops), blocking queue: no loss
    assert row["frames"] == 150 and row["dropped"] == 0 and row["sink_dropped"] == 0
    assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_bench_unknown_mode(tmp_path):
    res = runner.invoke(app, ["bench", str(tiny_colorizer(tmp_path / "t.onnx")), "--mode", "warp"])
    assert res.exit_code == 2 and "unknown mode" in res.stderr


@pytest.mark.parametrize(("line", "want"), [
    ("flags\t\t: fpu avx2 avx512f avx512_vnni avx512_bf16 sse4_2\n", ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]),
    ("Features\t: fp asimd asimddp i8mm bf16\n", ["asimddp", "i8mm", "bf16"]),
    ("model name\t: nothing\n", []),
])
def test_cpu_flags_record_the_kernel_instruction_sets(monkeypatch, line, want):
    import builtins
    import io

    from edgecolor import system

    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda p, *a, **k: io.StringIO(line) if p == "/proc/cpuinfo"
                        else real_open(p, *a, **k))
    assert system.cpu_flags() == want


def test_model_at_cpu_path_benches_side_by_side(tmp_path):
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    res = runner.invoke(app, ["bench", str(model), f"{model}@graph", "--resolutions", "64x48", "--iterations", "2",
                              "--warmup", "0", "--threads", "1", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert [(r["cpu_path"], r["backend"]) for r in rows] == [("auto", "onnxruntime+opencv"), ("graph", "onnxruntime")]
