"""Issue 15, item 6: a bench a trtexec user trusts: time units, --percentile with too-few-sample warnings,
--export-times, timestamp/machine/load in the JSON, both modes with their ratio, the browser-view sink with
a client watching, the stage split, and built engine files as input."""

import json

import pytest
from typer.testing import CliRunner

from edgecolor.bench.stats import summarise
from edgecolor.bench.units import parse_percentiles, parse_seconds, too_few_samples
from edgecolor.cli import app
from edgecolor.errors import InputError

from helpers import tiny_colorizer

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx")


def bench(*args):
    res = runner.invoke(app, ["bench", *map(str, args)])
    return res, (json.loads(res.stdout) if res.exit_code == 0 and "--json" in args else None)


@pytest.mark.parametrize("text, seconds", [("200ms", 0.2), ("3s", 3.0), ("2", 2.0), ("0.5", 0.5), (" 1500MS ", 1.5),
                                           ("1e3ms", 1.0)])
def test_times_take_trtexec_units_and_plain_seconds(text, seconds):
    assert parse_seconds(text, "--warmup") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5min", "ms", "", "2 s s", "1,5"])
def test_a_time_that_is_not_one_is_refused(text):
    with pytest.raises(InputError, match="is not a time"):
        parse_seconds(text, "--duration")


@pytest.mark.parametrize("args, message", [
    (["--duration", "5min"], "is not a time"), (["--warmup", "infs"], "out of range"),
    (["--duration", "nanms"], "out of range"), (["--duration", "0ms"], "more than 0"),
    (["--warmup", "2h"], "is not a time"), (["--percentile", "50,101"], "out of range"),
    (["--percentile", "50,x"], "not a number"), (["--mode", "engine,warp"], "unknown mode"),
    (["--sink", "window"], "unknown bench sink"), (["--streams", "1,x"], "'x' is not a whole number"),
    (["--streams", "0"], "out of range"), (["--streams", "1,65"], "out of range"), (["--streams", ","], "empty"),
])
def test_bad_bench_options_are_one_line_errors(model, args, message):
    res, _ = bench(model, "--iterations", 1, *args)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and message in lines[0], res.output


def test_percentiles_as_asked_with_a_warning_when_too_few_samples():
    st = summarise([float(i) for i in range(1, 51)], 1.0, percentiles=[50, 90, 99])
    assert st.percentiles_ms == {"p50": 25.0, "p90": 45.0, "p99": 50.0}
    assert len(st.warnings) == 1 and st.warnings[0].startswith("p99 rests on 50 samples (needs 100")
    assert parse_percentiles("99.9, 50,50") == [99.9, 50.0]
    assert too_few_samples(99, 99) and not too_few_samples(100, 99) and not too_few_samples(1, 100)


def test_engine_mode_json_has_the_asked_percentiles_times_machine_and_load(model, tmp_path):
    times = tmp_path / "times.json"
    res, report = bench(model, "--resolutions", "32x24", "--iterations", 20, "--warmup", "10ms", "--threads", 1,
                        "--percentile", "50,99.9", "--export-times", times, "--json")
    assert res.exit_code == 0, res.output
    (row,) = report["rows"]
    assert set(row["percentiles_ms"]) == {"p50", "p99.9"} and row["percentiles_ms"]["p50"] <= row["max_ms"]
    assert row["warnings"] and "p99.9 rests on 20 samples" in row["warnings"][0]
    assert "warning:" in res.stderr and "p99.9" in res.stderr
    assert report["timestamp"].endswith("Z") and report["settings"]["warmup_s"] == pytest.approx(0.01)
    machine = report["machine"]
    assert {"cpu", "cpu_flags", "threads", "load_average_before", "load_average_after"} <= set(machine)
    assert machine["threads"] == 1 and len(machine["load_average_before"]) == 3
    exported = json.loads(times.read_text())
    (entry,) = exported["rows"]
    assert entry["mode"] == "engine" and len(entry["times"]) == 20
    starts = [it["start_ms"] for it in entry["times"]]
    assert starts == sorted(starts) and all(it["latency_ms"] >= 0 for it in entry["times"])


def test_both_modes_null_and_watched_browser_view_with_stage_split_and_ratio(model, tmp_path):
    times = tmp_path / "times.json"
    res, report = bench(model, "--resolutions", "64x48", "--mode", "engine,pipeline", "--sink", "null,http",
                        "--iterations", 40, "--warmup", "0", "--threads", 1, "--export-times", times, "--json")
    assert res.exit_code == 0, res.output
    rows = report["rows"]
    assert [(r["mode"], r.get("sink")) for r in rows] == [("engine", None), ("pipeline", "null"), ("pipeline", "http")]
    for r in rows[1:]:
        assert r["frames"] == 40 and {"decode", "queue", "infer", "post"} <= set(r["stages_ms"])
        assert all(s["mean"] >= 0 and s["samples"] > 0 for s in r["stages_ms"].values())
    http = rows[2]
    assert {"sink", "sink_queue"} <= set(http["stages_ms"])  # the browser view is written on its own thread
    assert http["client"]["frames_received"] >= 1 and http["client"]["bytes"] > 0
    # its JPEG work (on the client's thread): one encode per frame the client took, none for frames it skipped
    assert 1 <= http["stages_ms"]["view_encode"]["samples"] <= http["client"]["frames_received"] + 1
    assert "view_encode" not in rows[1]["stages_ms"]
    assert [(x["sink"], x["pipeline_vs_engine"] > 0) for x in report["ratios"]] == [("null", True), ("http", True)]
    assert "vs_null_sink" in report["ratios"][1] and "vs_null_sink" not in report["ratios"][0]
    (piece,) = json.loads(times.read_text())["rows"][1]["times"]
    assert len(piece["latency_ms"]) == 40 and len(piece["stages_ms"]["infer"]) == 40


def test_the_text_report_shows_the_stage_split_and_the_ratio(model):
    res, _ = bench(model, "--resolutions", "32x24", "--mode", "engine,pipeline", "--iterations", 10, "--warmup", 0,
                   "--threads", 1)
    assert res.exit_code == 0, res.output
    assert "pipeline stages" in res.stdout and "infer" in res.stdout
    assert "x engine mode's frames/s" in res.stdout


def test_the_latency_table_has_the_min_column_help_promises(model):
    res, _ = bench(model, "--resolutions", "32x24", "--iterations", 10, "--warmup", 0, "--threads", 1)
    assert res.exit_code == 0, res.output
    header = next(line for line in res.stdout.splitlines() if "mean ms" in line)
    cells = [c.strip() for c in header.strip("┃│ ").replace("┃", "|").split("|")]
    assert cells[cells.index("mean ms"):cells.index("p50") + 1] == ["mean ms", "min", "p50"]
    assert "min" in " ".join(runner.invoke(app, ["bench", "--help"]).output.split())


def test_the_pipeline_bench_says_its_file_reads_ahead_and_gives_the_latency_without_that_wait(model):
    _, report = bench(model, "--resolutions", "32x24", "--mode", "pipeline", "--iterations", 30, "--warmup", 0,
                      "--threads", 1, "--json")
    (row,) = report["rows"]
    live = row["latency_from_submit_ms"]
    assert row["reads_ahead"] is True and row["stages_ms"]["queue"]["samples"] == 30
    # each frame's latency less its own queue wait: never above the latency it is taken from
    assert 0 <= live["min"] <= live["p50"] <= row["p50_ms"] and live["p99"] <= row["p99_ms"]
    res, _ = bench(model, "--resolutions", "32x24", "--mode", "pipeline", "--iterations", 10, "--warmup", 0,
                   "--threads", 1)
    text = " ".join(res.stdout.split())
    assert "queue (read-ahead)" in text and "about what a live source at these frames/s sees" in text
    assert "tiny 32x24 -> null: p50" in text


def test_a_tensorrt_engine_file_goes_to_tensorrt(tmp_path, monkeypatch):
    import sys

    plan = tmp_path / "colorizer-fp16-trt.engine"
    plan.write_bytes(b"plan")
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    res, _ = bench(plan, "--iterations", 1)
    # the loader takes a .engine file as TensorRT's (its manifest is checked first), never as a broken ONNX file
    assert res.exit_code == 2 and "no manifest" in res.stderr and "ONNX Runtime" not in res.stderr


def test_an_engine_from_build_is_bench_input(model, tmp_path):
    from edgecolor.backends import manifest as mf

    engine = tmp_path / "engines" / "tiny-int8-cpu.onnx"
    engine.parent.mkdir()
    engine.write_bytes(model.read_bytes())
    import onnxruntime

    gate = {"verdict": "pass", "psnr_vs_fp32_db": 41.5, "delta_e_vs_fp32": 0.8}
    mf.write_json(engine, {"backend": "onnxruntime", "backend_version": onnxruntime.__version__,  # bench checks it
                      "engine_sha256": mf.sha256_file(engine), "precision": "int8", "gate": gate})
    res, report = bench(engine, "--resolutions", "32x24", "--iterations", 3, "--warmup", 0, "--threads", 1,
                        "--json")
    assert res.exit_code == 0, res.output
    (row,) = report["rows"]
    assert row["model"] == "tiny-int8-cpu" and row["gate"]["psnr_vs_fp32_db"] == 41.5


def test_rounds_interleave_the_rows_and_add_up_their_shares(model, monkeypatch):
    import edgecolor.bench.pipeline_mode as pm
    import edgecolor.bench.runner as rn

    order = []
    real_calls, real_pipeline = rn.time_calls, pm.time_pipeline
    monkeypatch.setattr(rn, "time_calls", lambda *a, **k: (order.append(("engine", a[3])), real_calls(*a, **k))[1])
    monkeypatch.setattr(pm, "time_pipeline", lambda *a, **k: (order.append(("pipeline", a[6])),
                                                              real_pipeline(*a, **k))[1])
    res, report = bench(model, "--resolutions", "32x24", "--mode", "engine,pipeline", "--iterations", 7,
                        "--rounds", 3, "--warmup", 0, "--threads", 1, "--json")
    assert res.exit_code == 0, res.output
    assert order == [("engine", 3), ("pipeline", 3), ("engine", 2), ("pipeline", 2), ("engine", 2), ("pipeline", 2)]
    assert [(r["mode"], r["frames"], r["rounds"]) for r in report["rows"]] == [("engine", 7, 3), ("pipeline", 7, 3)]
    assert report["rows"][1]["stages_ms"]["infer"]["samples"] == 7


def test_ratios_per_round_pair_rounds_of_the_same_stretch():
    from edgecolor.bench.session import pipeline_ratios

    def row(mode, sink, fps, rounds):
        return {"path": "m.onnx", "cpu_path": "auto", "resolution": "720p", "model": "m", "mode": mode,
                "throughput_fps": fps, "round_fps": rounds} | ({"sink": sink} if sink else {})

    rows = [row("engine", None, 50.0, [40.0, 60.0, 50.0]), row("pipeline", "null", 45.0, [40.0, 48.0, 47.0]),
            row("pipeline", "http", 36.0, [36.0, 36.0, 36.0])]
    null, http = pipeline_ratios(rows)
    assert null["pipeline_vs_engine"] == 0.9 and "vs_null_sink" not in null
    assert null["pipeline_vs_engine_rounds"] == {"each": [1.0, 0.8, 0.94], "min": 0.8, "median": 0.94, "max": 1.0}
    assert http["vs_null_sink"] == 0.8 and http["vs_null_sink_rounds"]["each"] == [0.9, 0.75, 0.766]


def test_streams_rows_side_by_side_with_their_gain_over_one_stream(model):
    res, report = bench(model, "--resolutions", "64x48", "--mode", "engine,pipeline", "--streams", "1,2",
                        "--iterations", 24, "--warmup", "0", "--threads", 2, "--json")
    assert res.exit_code == 0, res.output
    rows = report["rows"]
    assert [(r["streams"], r["mode"]) for r in rows] == [(1, "engine"), (1, "pipeline"), (2, "engine"), (2, "pipeline")]
    assert all(r["frames"] == 24 for r in rows) and report["settings"]["streams"] == [1, 2]
    assert [(g["mode"], g["streams"]) for g in report["streams_gain"]] == [("engine", 2), ("pipeline", 2)]
    assert all(g["vs_one_stream"] > 0 and len(g["rounds"]["each"]) == 1 for g in report["streams_gain"])
    assert [(x["streams"], x["pipeline_vs_engine"] > 0) for x in report["ratios"]] == [(1, True), (2, True)]


def test_every_list_option_reads_the_same_way():
    from edgecolor.bench.runner import parse_resolutions
    from edgecolor.bench.units import comma_list, parse_choices

    assert comma_list(" 2, ,1,2,", int, "--streams", "a whole number", "1,2") == [2, 1]
    assert parse_resolutions("720p,720P, 32x24") == [("720p", 720, 1280), ("32x24", 24, 32)]
    assert parse_choices("pipeline,engine,pipeline", ("engine", "pipeline"), "--mode", "mode") == ["pipeline", "engine"]
    for text in ("", " , "):
        with pytest.raises(InputError, match="--percentile is empty"):
            parse_percentiles(text)
    with pytest.raises(InputError, match="unknown mode 'warp'") as err:
        parse_choices("engine,warp", ("engine", "pipeline"), "--mode", "mode")
    assert "engine, pipeline" in err.value.remedy
