"""``edgecolor run`` end to end on ONNX Runtime with a tiny generated frame model."""

import json
import re
import socket

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app


def invoke(*args):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def test_writes_every_frame_to_a_playable_video(tiny_model, clip, tmp_path):
    out = tmp_path / "out.mp4"
    res = invoke("--model", tiny_model, "--source", clip, "--sink", out, "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert summary["frames"] == 12 and summary["dropped"] == 0 and summary["backend"].startswith("onnxruntime")
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no partial files left beside it


def test_a_file_sink_takes_the_codec_options(tiny_model, clip, tmp_path):
    import av

    res = invoke("--model", tiny_model, "--source", clip, "--sink", tmp_path / "a.mkv", "--codec", "ffv1")
    assert res.exit_code == 0, res.output
    with av.open(str(tmp_path / "a.mkv")) as f:
        stream = f.streams.video[0]
        assert stream.codec_context.name == "ffv1" and sum(1 for p in f.demux(stream) if p.size) == 12


def test_a_codec_the_sink_cannot_hold_is_refused_before_the_model_loads(clip, tmp_path):
    res = invoke("--model", tmp_path / "missing.onnx", "--source", clip, "--sink", tmp_path / "a.webm",
                 "--codec", "h264")
    assert res.exit_code == 2 and "cannot be written in a '.webm' file" in res.output, res.output
    assert "missing.onnx" not in res.output and list(tmp_path.iterdir()) == []


def test_several_sinks_and_an_image_folder(tiny_model, clip, tmp_path):
    res = invoke(
        "--model",
        tiny_model,
        "--source",
        clip,
        "--sink",
        tmp_path / "frames",
        "--sink",
        "null",
        "--no-stabilize",
        "--split",
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(12)]
    assert "12 frame(s)" in res.output and "wrote" in res.output


def test_realtime_null_sink_reports_drops_and_latency_percentiles(tiny_model, clip):
    res = invoke("--model", tiny_model, "--source", clip, "--realtime", "--sink", "null", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{") :])
    assert summary["frames"] + summary["dropped"] == 12
    assert summary["seconds"] >= 11 / 10 * 0.9  # paced at the clip's 10 fps
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p90"] <= summary["latency_ms"]["p99"]


def test_without_a_display_or_sink_it_writes_a_file_and_says_where(tiny_model, clip, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    res = invoke("--model", tiny_model, "--source", clip, "--max-frames", 5)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "run.mp4").is_file() and "wrote out/run.mp4" in res.output


def refused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--source", "camera:97"], "cannot be opened"),
        (["--source", "{bad}"], "not a readable video"),
        (["--source", f"rtsp://127.0.0.1:{refused_port()}/cam"], "refused the connection"),
        (["--sink", "out.txt"], "is not window, null"),
        (["--serve", "nonsense"], "is not HOST:PORT"),
        (["--backend", "trt"], "needs a built engine"),
        (["--model", "no-such-model"], "no model 'no-such-model'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, match, tiny_model, clip, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 512)
    args = [a.replace("{bad}", str(bad)) for a in args]
    if "--model" not in args:
        args = ["--model", str(tiny_model), *args]
    if "--source" not in args:
        args += ["--source", str(clip)]
    res = invoke(*args)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert match in lines[0]


def summary_of(res):
    return json.loads(res.stdout[res.stdout.index("{") :])


def test_realtime_pacing_is_reported_as_its_own_stage_not_as_decode(tiny_model, clip):
    res = invoke("--model", tiny_model, "--source", clip, "--realtime", "--sink", "null", "--json")
    assert res.exit_code == 0, res.output
    stages = summary_of(res)["stages_ms"]
    assert stages["pace"]["samples"] == stages["decode"]["samples"] == 12
    # 11 of the 12 frames wait most of 100 ms (10 frames/s) for their turn; decoding a 64x48 frame takes far less
    assert stages["pace"]["mean"] > 50 and stages["decode"]["mean"] < stages["pace"]["mean"] / 4


@pytest.mark.parametrize("replays, frames", [(0, 12), (1, 24), (2, 36), (-1, 50)])
def test_input_loop_plays_a_file_n_more_times(replays, frames, tiny_model, clip, tmp_path):
    out = tmp_path / "frames"
    res = invoke("--model", tiny_model, "--source", clip, "--input-loop", replays, "--max-frames", 50,
                 "--sink", f"{out}/", "--no-stabilize", "--json")
    assert res.exit_code == 0, res.output
    assert summary_of(res)["frames"] == frames
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:06d}.png" for i in range(frames)]


def test_loop_and_a_count_of_replays_together_are_refused(tiny_model, clip):
    res = invoke("--model", tiny_model, "--source", clip, "--loop", "--input-loop", 2, "--sink", "null")
    assert res.exit_code == 2 and "--loop replays for ever but --input-loop 2 asks for 2 replays" in res.output


def test_serve_a_bare_port_binds_this_machine_only(tiny_model, clip):
    res = invoke("--model", tiny_model, "--source", clip, "--serve", "0", "--sink", "null", "--max-frames", 1)
    assert res.exit_code == 0, res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("browser view:")]
    assert re.fullmatch(r"browser view: http://127\.0\.0\.1:[0-9]+/", line)  # loopback: no token needed


def test_serve_colon_port_prints_the_machines_own_addresses_never_0000(tiny_model, clip, monkeypatch):
    from edgecolor.stream import http_guard

    monkeypatch.setattr(http_guard, "local_addresses", lambda family: ["192.0.2.7"])
    res = invoke("--model", tiny_model, "--source", clip, "--serve", ":0", "--token", "kiosk-7", "--sink", "null",
                 "--max-frames", 1)
    assert res.exit_code == 0, res.output
    assert "http://0.0.0.0" not in res.output
    assert re.search(r"^browser view: http://192\.0\.2\.7:([0-9]+)/\?token=kiosk-7$", res.output, re.M)
    assert re.search(r"^  also: http://127\.0\.0\.1:[0-9]+/\?token=kiosk-7$", res.output, re.M)


def test_view_urls_of_every_address_list_this_machines_then_loopback(monkeypatch):
    from edgecolor.stream import http_guard

    monkeypatch.setattr(http_guard, "local_addresses", lambda family: {
        socket.AF_INET: ["10.1.2.3", "192.168.0.9"], socket.AF_INET6: ["2001:db8::5"]}[family])
    assert http_guard.view_urls("0.0.0.0", 80, "t") == [
        "http://10.1.2.3:80/?token=t", "http://192.168.0.9:80/?token=t", "http://127.0.0.1:80/?token=t"]
    assert http_guard.view_urls("::", 81) == ["http://[2001:db8::5]:81/", "http://[::1]:81/"]
    assert http_guard.view_urls("192.168.0.9", 82) == ["http://192.168.0.9:82/"]


def test_local_addresses_leave_out_loopback_and_unspecified():
    from edgecolor.stream.http_guard import local_addresses

    for address in local_addresses(socket.AF_INET):
        assert not address.startswith("127.") and address != "0.0.0.0"
