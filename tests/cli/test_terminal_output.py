"""What reaches the terminal (issue 11): one printable line per error, no credentials, no native junk.

- names sanitised: a newline, terminal escapes, rich markup or non-UTF-8 bytes in a file name never reach
  stderr raw (``edgecolor.textsafe.for_terminal`` behind the CLI's one console and log formatter);
- credentials in ``rtsp://user:pass@...`` / ``http://...`` sources are redacted in errors, in the
  "source -> sinks" line and in the JSON ``source`` field;
- click's usage errors are one line; native libraries' stderr (libpng, FFmpeg) is captured by the
  ``edgecolor`` executable (checked in a subprocess: only a real process has file descriptor 2).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.textsafe import for_terminal, one_line, redact_url

from helpers import random_bgr, tiny_colorizer, write_clip

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx")


# --- names sanitised ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("a\nb.png", "a\\nb.png"),
    ("x\x1b[2J.png", "x\\x1b[2J.png"),
    ("\x1b]8;;http://evil/\x07link\x1b]8;;\x07", "\\x1b]8;;http://evil/\\x07link\\x1b]8;;\\x07"),
    ("bad\udcff.png", "bad\\udcff.png"),  # a non-UTF-8 byte as Python keeps it (os.fsdecode)
    ("abc\u202egnp.exe", "abc\\u202egnp.exe"),  # right-to-left override
    ("tab\there", "tab\\there"),
    ("café 写真 🙂.png", "café 写真 🙂.png"),  # printable Unicode stays as it is
])
def test_for_terminal_escapes_what_a_terminal_would_act_on(raw, shown):
    assert for_terminal(raw) == shown
    assert one_line(raw + "\nsecond") == shown + "\\nsecond"


@pytest.mark.parametrize("name", ["new\nline.png", "esc\x1b[31mred.png", "[bold]markup[/bold].png",
                                  "bell\x07.png"])
def test_a_hostile_file_name_reaches_stderr_printable_and_on_one_line(name, tmp_path, model):
    res = invoke("colorize", tmp_path / name, "-o", tmp_path / "o.png", "--model", model)
    assert res.exit_code == 2
    out = lines(res.output)
    assert len(out) == 1 and out[0].startswith("error: "), res.output
    assert not any(ch in res.output for ch in "\x1b\x07"), repr(res.output)
    assert for_terminal(name) in out[0]  # markup is printed, not interpreted


def test_log_records_are_sanitised_too():
    import logging

    from edgecolor.cli._common import SafeFormatter

    record = logging.LogRecord("edgecolor.x", logging.WARNING, __file__, 1, "skipped %s", ("a\nb\x1b[2J",), None)
    assert SafeFormatter("%(message)s").format(record) == "skipped a\\nb\\x1b[2J"


def test_messages_are_not_wrapped_or_truncated_off_a_terminal(tmp_path, model):
    """A long path on a pipe (CI log): the whole path on one line, and whole table cells."""
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "missing.png"
    res = invoke("colorize", deep, "-o", tmp_path / "o.png", "--model", model)
    assert len(lines(res.output)) == 1 and str(deep) in res.output

    from rich.table import Table

    from edgecolor.cli._common import out

    table = Table()
    table.add_column("path")
    table.add_row("/" + "x" * 300)
    with out.capture() as cap:
        out.print(table)
    assert "x" * 300 in cap.get()


# --- credentials redacted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url, shown", [
    ("rtsp://admin:hunter2@10.0.0.5:554/stream", "rtsp://admin:***@10.0.0.5:554/stream"),
    ("http://u:p%40ss@cam.local/video.mjpg", "http://u:***@cam.local/video.mjpg"),
    ("rtsp://u:p@ss@cam/x", "rtsp://u:***@cam/x"),  # an unescaped @ in the password
    ("rtsps://:token@cam/x", "rtsps://:***@cam/x"),
    ("rtsp://viewer@cam/x", "rtsp://viewer@cam/x"),  # no password: nothing to hide
    ("http://cam.local:8080/x", "http://cam.local:8080/x"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    assert for_terminal(f"cannot open {url} now") == f"cannot open {shown} now"


@pytest.mark.parametrize("spec, expect", [
    ("rtsp://admin:hunter2@127.0.0.1:99999/x", "malformed"),
    ("http://admin:hunter2@:80/x", "no host"),
    ("rtsp://admin:hunter2@127.0.0.1:1/x", "refused"),
])
def test_credentials_never_appear_in_source_errors(spec, expect, model):
    res = invoke("run", "--model", model, "--source", spec, "--sink", "null")
    assert res.exit_code == 2 and expect in res.output, res.output
    assert "hunter2" not in res.output


class _FakeCapture:
    def __init__(self, frames: int) -> None:
        self.left = frames

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def get(self, prop):
        return 10.0

    def read(self):
        self.left -= 1
        return (True, random_bgr(16, 16)) if self.left >= 0 else (False, None)

    def release(self) -> None:
        pass


@pytest.mark.parametrize("as_json", [True, False])
def test_credentials_never_appear_in_the_source_line_or_the_json(as_json, model, monkeypatch):
    import edgecolor.stream.sources as sources

    monkeypatch.setattr(sources, "_stream_opener", lambda url, timeout: (lambda: _FakeCapture(3)))
    url = "http://admin:hunter2@127.0.0.1:8554/cam.mjpg"
    res = invoke("run", "--model", model, "--source", url, "--sink", "null", "--max-frames", 3,
                 *(["--json"] if as_json else []))
    assert res.exit_code == 0, res.output
    assert "hunter2" not in res.output
    if as_json:
        assert json.loads(res.stdout[res.stdout.index("{"):])["source"] == "http://admin:***@127.0.0.1:8554/cam.mjpg"
    else:
        assert "http://admin:***@127.0.0.1:8554/cam.mjpg -> null" in res.output


# --- usage errors on one line ------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expect", [
    (["run", "--bogus"], "No such option: --bogus"),
    (["run", "--sourc", "x"], "No such option: --sourc"),
    (["colorize"], "Missing argument"),
    (["run", "--max-frames", "abc"], "Invalid value for '--max-frames'"),
    (["bench", "--resolutions"], "requires an argument"),
    (["--bogus"], "No such option: --bogus"),
    (["nosuchcommand"], "No such command"),
])
def test_usage_errors_are_one_line_with_exit_2(args, expect):
    res = invoke(*args)
    out = lines(res.output)
    assert res.exit_code == 2 and len(out) == 1, res.output
    assert out[0].startswith("error: ") and expect in out[0] and "--help' for usage." in out[0]


# --- native libraries' stderr captured (a real process) ----------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_libpng_warns_about(path: Path) -> Path:
    """A valid PNG with a too-short iCCP chunk: libpng prints 'libpng warning: iCCP: too short'."""
    data = cv2.imencode(".png", random_bgr(8, 8))[1].tobytes()
    at = data.index(b"IDAT") - 4
    path.write_bytes(data[:at] + _chunk(b"iCCP", b"bad\x00\x00" + zlib.compress(b"x" * 200)) + data[at:])
    return path


def _avi_with_a_broken_frame(path: Path) -> Path:
    """FFmpeg prints '[mjpeg @ 0x...] No JPEG data found in image' for the broken frame."""
    data = bytearray(write_clip(path, 6).read_bytes())
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    data[soi[2]: soi[2] + 300] = bytes(300)
    path.write_bytes(bytes(data))
    return path


def _edgecolor(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_FFMPEG", "OPENCV_LOG"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", "from edgecolor.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("make, out, native", [
    (_png_libpng_warns_about, "o.png", "libpng"),
    (_avi_with_a_broken_frame, "o.avi", "mjpeg @"),
])
def test_native_library_warnings_do_not_reach_stderr(make, out, native, tmp_path, model):
    src = make(tmp_path / ("in" + Path(out).suffix))
    res = _edgecolor("colorize", src, "-o", tmp_path / out, "--model", model, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert native not in res.stderr, res.stderr
    assert "colorize: " in res.stderr  # edgecolor's own output still arrives
    verbose = _edgecolor("-v", "colorize", src, "-o", tmp_path / ("v" + out), "--model", model, cwd=tmp_path)
    if native == "libpng":  # FFmpeg is asked to be quiet; libpng cannot be: its line is in the -v log
        assert "INFO edgecolor.native: libpng warning" in verbose.stderr, verbose.stderr


def test_third_party_python_warnings_become_one_line_log_records(caplog):
    import logging
    import warnings

    from edgecolor.cli import _native

    saved = warnings.showwarning
    try:
        _native.warnings_to_log()
        with caplog.at_level(logging.INFO, logger="py.warnings"), warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _native._warning_to_log
            warnings.warn("the float32 number 1e-09 will be truncated to 1e-07", UserWarning, stacklevel=1)
    finally:
        warnings.showwarning = saved
    messages = [r.getMessage() for r in caplog.records if r.name == "py.warnings"]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert messages[0].startswith("UserWarning: the float32 number 1e-09 will be truncated to 1e-07 (")


@pytest.mark.parametrize("name, level, verbose, shown", [
    ("root", logging.WARNING, False, False),  # ONNX Runtime's "consider pre-processing"
    ("onnxruntime", logging.WARNING, False, False),
    ("root", logging.ERROR, False, True),
    ("edgecolor.stream.sources", logging.WARNING, False, True),
    ("root", logging.WARNING, True, True),
])
def test_third_party_log_warnings_need_verbose(name, level, verbose, shown):
    from edgecolor.cli._common import OwnRecordsOnly

    record = logging.LogRecord(name, level, __file__, 1, "msg", (), None)
    assert OwnRecordsOnly(verbose).filter(record) is shown


def test_progress_descriptions_are_plain_printable_text():
    from rich.progress import Progress

    from edgecolor.cli._common import Description

    bar = Progress(disable=True)
    bar.add_task("bench [/red]x\x1b[2J.onnx")
    task = bar.tasks[0]
    assert Description().render(task).plain == "bench [/red]x\\x1b[2J.onnx"  # no MarkupError, no escape


def test_a_logged_traceback_keeps_its_lines_but_not_raw_escapes():
    import sys as _sys

    from edgecolor.cli._common import SafeFormatter

    try:
        raise ValueError("bad\x1b[2J")
    except ValueError:
        info = _sys.exc_info()
    record = logging.LogRecord("edgecolor.x", logging.ERROR, __file__, 1, "capture from %s failed", ("a\nb",), info)
    text = SafeFormatter("%(message)s").format(record)
    assert text.splitlines()[0] == "capture from a\\nb failed"
    assert "Traceback" in text.splitlines()[1] and "\x1b" not in text and "bad\\x1b[2J" in text
