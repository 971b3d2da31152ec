"""Native libraries' own output, kept off the terminal: one line per error means edgecolor's line only.

FFmpeg (inside OpenCV) prints up to a hundred ``[mjpeg @ 0x...] No JPEG data found`` lines for a broken
video, libpng prints ``libpng warning: iCCP: ...`` for a harmless profile, OpenCV its ``[ WARN:0@...]``
lines, onnxconverter-common a Python warning per truncated weight. edgecolor already reports what matters
(skipped frames, refused files) in its own words, so:

- FFmpeg and OpenCV are asked to be quiet (``OPENCV_FFMPEG_LOGLEVEL``, ``OPENCV_LOG_LEVEL``; a value the
  user sets wins, e.g. ``OPENCV_FFMPEG_LOGLEVEL=32`` to debug a stream);
- what a C library still writes to file descriptor 2 (libpng has no switch) goes into a pipe whose lines
  become ``edgecolor.native`` log records: shown with ``edgecolor -v``, one printable line each;
- Python warnings from third-party code become ``py.warnings`` log records of one line (``-v`` shows them).

Python's own ``sys.stderr`` (rich, logging, tracebacks of bugs) is moved to a duplicate of the real stderr
first, so it is not affected.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import warnings
from typing import Any, TextIO

log = logging.getLogger("edgecolor.native")

QUIET_ENV = {
    "OPENCV_FFMPEG_LOGLEVEL": "-8",  # AV_LOG_QUIET: read when OpenCV first opens FFmpeg
    "OPENCV_LOG_LEVEL": "ERROR",
}


def quiet_libraries() -> None:
    """Ask FFmpeg and OpenCV for no warnings, unless the user chose a level."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def _drain(read_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        previous = b""
        buffered = b""
        while chunk := pipe.read(65536):
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.strip() and line != previous:  # FFmpeg repeats itself frame after frame
                    log.info("%s", line.decode("utf-8", "replace"))
                previous = line


def capture_native_stderr() -> TextIO | None:
    """Point file descriptor 2 at a pipe drained into the log; ``sys.stderr`` keeps the real terminal.
    Returns the new ``sys.stderr`` (None where descriptors cannot be duplicated)."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_fd, write_fd = os.pipe()
    except (OSError, ValueError, AttributeError):
        return None
    stream = open(real, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8",  # noqa: SIM115
                  errors="backslashreplace", closefd=True)
    sys.stderr = stream
    os.dup2(write_fd, 2)
    os.close(write_fd)
    drain = threading.Thread(target=_drain, args=(read_fd,), name="native-stderr", daemon=True)
    drain.start()

    def finish() -> None:  # at exit: end the pipe and log what is still in it (the last lines were racing exit)
        try:
            os.close(2)
        except OSError:
            return
        drain.join(timeout=2)

    atexit.register(finish)  # runs before logging's own shutdown (atexit is last-in, first-out)
    return stream


def _warning_to_log(message: Any, category: type[Warning], filename: str, lineno: int,
                    file: Any = None, line: str | None = None) -> None:
    logging.getLogger("py.warnings").info("%s: %s (%s:%d)", category.__name__, message,
                                          os.path.basename(filename), lineno)


def warnings_to_log() -> None:
    """Python warnings (onnxconverter-common's "will be truncated", deprecations) as one-line INFO records."""
    warnings.showwarning = _warning_to_log
