"""``edgecolor colorize clip.mp4 -o out.mp4`` on a gray H.264 + AAC clip (issue 28): H.264 yuv420p that browsers
play, the audio kept, frame count and rate exact; judged by reading the output back with PyAV, and by
headless Chromium's <video>."""

from __future__ import annotations

import functools
import http.server
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import headless_chromium as chromium
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from helpers import gray_h264_aac_clip, random_bgr, tiny_colorizer


def _facts(path: Path) -> dict:
    with av.open(str(path)) as f:
        video = f.streams.video[0]
        facts = {"codec": video.codec_context.name, "pix_fmt": video.codec_context.pix_fmt,
                 "frames": sum(1 for p in f.demux(video) if p.size), "rate": video.average_rate,
                 "audio": None}
    with av.open(str(path)) as f:
        if f.streams.audio:  # its duration from its packets: Matroska keeps no stream duration
            a = f.streams.audio[0]
            packets = [p for p in f.demux(a) if p.size]
            end = max((p.pts + p.duration) * p.time_base for p in packets)
            facts["audio"] = (a.codec_context.name, float(end - min(p.pts * p.time_base for p in packets)))
    return facts


@pytest.fixture(scope="module")
def coloured(tmp_path_factory) -> tuple[Path, Path]:
    """The issue's clip (48 frames, 160x120, 24 frames/s, a 440 Hz AAC tone) colorized with default options."""
    where = tmp_path_factory.mktemp("video")
    clip = gray_h264_aac_clip(where / "clip.mp4")
    res = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(where / "out.mp4"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    return clip, where / "out.mp4"


def test_default_output_is_h264_yuv420p_with_the_audio_and_every_frame(coloured):
    clip, out = coloured
    got, source = _facts(out), _facts(clip)
    assert (got["codec"], got["pix_fmt"], got["frames"], got["rate"]) == ("h264", "yuv420p", 48, Fraction(24))
    assert got["audio"] is not None and got["audio"][0] == "aac"
    assert abs(got["audio"][1] - source["audio"][1]) <= 0.2
    cap = cv2.VideoCapture(str(out))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (120, 160, 3)


def test_mp4_output_starts_with_its_index(coloured):
    # +faststart: the moov box before the media data, so a browser plays it before it has it all
    data = coloured[1].read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_codec_options_reach_the_file(tmp_path, coloured):
    model = tiny_colorizer(tmp_path / "t.onnx")
    res = CliRunner().invoke(app, ["colorize", str(coloured[0]), "-o", str(tmp_path / "a.mkv"), "--codec", "ffv1",
                                   "--model", str(model)])
    assert res.exit_code == 0, res.output
    got = _facts(tmp_path / "a.mkv")
    assert (got["codec"], got["frames"]) == ("ffv1", 48) and got["audio"][0] == "aac"


@pytest.mark.parametrize("args, says", [
    (["-o", "o.webm", "--codec", "h264"], "cannot be written in a '.webm' file"),
    (["-o", "o.mkv", "--codec", "ffv1", "--crf", "4"], "lossless"),
    (["-o", "o.mp4", "--bitrate", "fast"], "--bitrate 'fast'"),
])
def test_bad_encoding_options_are_one_line_before_any_work(tmp_path, args, says):
    clip = tmp_path / "c.avi"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    w.write(random_bgr(24, 32))
    w.release()
    res = CliRunner().invoke(app, ["colorize", str(clip), *[str(tmp_path / a) if a.startswith("o.") else a
                                                            for a in args]])
    assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.avi"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _loads(page: chromium.Chromium, base: str, name: str) -> str:
    """``'decoded'`` when Chromium's <video> has decoded ``name``'s first frame (``readyState >= 2``,
    HAVE_CURRENT_DATA), else the media error it gives (``MEDIA_ERR 4``: MEDIA_ERR_SRC_NOT_SUPPORTED). Nothing
    is played: no audio device is needed."""
    page.open(f"{base}/page.html?{name}")
    page.wait_for("document.readyState === 'complete'")
    page.evaluate(f"""(() => {{ const v = document.createElement('video'); v.muted = true; v.id = 'v';
        v.preload = 'auto'; v.src = '{name}'; document.body.appendChild(v); }})()""")
    return page.wait_for("""(() => { const v = document.getElementById('v');
        if (v.error) return 'MEDIA_ERR ' + v.error.code;
        return v.readyState >= 2 && v.videoWidth === 160 ? 'decoded' : null; })()""", timeout=20)


@pytest.mark.skipif(not chromium.available(), reason="needs Debian's chromium (make browser)")
def test_headless_chromium_decodes_the_output_and_refuses_mp4v(coloured, tmp_path):
    clip, out = coloured
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text("<!doctype html><body></body>")
    (site / "out.mp4").write_bytes(out.read_bytes())
    mp4v = cv2.VideoWriter(str(site / "mp4v.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 24, (160, 120))
    for k in range(48):  # what edgecolor wrote before: OpenCV's MPEG-4 Part 2
        mp4v.write(np.full((120, 160, 3), k * 5, np.uint8))
    mp4v.release()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = chromium.Chromium(tmp_path / "profile")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert _loads(page, base, "out.mp4") == "decoded"
        assert _loads(page, base, "mp4v.mp4") == "MEDIA_ERR 4"
    finally:
        page.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_a_neutral_gray_stays_neutral_through_the_encoder(tmp_path, suffix):
    """strength 0 leaves a gray clip gray: decoded, B, G and R agree within 1 level (swscale's default BGR ->
    yuv420p gave U = V = 127, a green cast of 2 levels)."""
    clip = tmp_path / "gray.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for level in range(40, 240, 20):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    out = tmp_path / f"out{suffix}"
    res = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(out), "--colour-strength", "0"])
    assert res.exit_code == 0, res.output
    with av.open(str(out)) as f:
        frames = [frame.to_ndarray(format="bgr24").astype(int) for frame in f.decode(video=0)]
    assert len(frames) == 10
    for frame in frames:
        centre = frame[8:40, 8:56].reshape(-1, 3).mean(axis=0)
        assert np.ptp(centre) <= 1, centre
