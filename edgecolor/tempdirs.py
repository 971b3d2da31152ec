"""Scratch folders that do not outlive their command: removed on every exit path, and swept when stale.

Why: ``tempfile.TemporaryDirectory`` is removed on return and on exceptions (Ctrl+C included), but SIGTERM
(``kill``, ``timeout``, systemd stopping a kiosk) ends Python without running ``finally`` blocks, and
SIGKILL or a power cut cannot be caught at all: killed builds left 14-42 MB ``edgecolor-build-*`` folders in
TMPDIR, killed benches ``edgecolor-bench-*``. So :func:`work_dir` turns SIGTERM/SIGHUP into ``SystemExit``
while it is open (the folder is removed on the way out) and names each folder after its process, and every
new one first removes the folders of the same kind whose process is gone (:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A folder of a process that is gone is swept only once it is this old: a process in another PID
# namespace sharing TMPDIR looks gone from here, but keeps touching its folder.
STALE_AFTER_S = 600.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep(kind: str, root: Path | None = None, stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove ``edgecolor-KIND-PID-*`` folders in ``root`` (TMPDIR) whose process is gone; returns them."""
    root = Path(root or tempfile.gettempdir())
    pattern = re.compile(rf"edgecolor-{re.escape(kind)}-(\d+)-")
    removed = []
    with contextlib.suppress(OSError):
        for path in root.glob(f"edgecolor-{kind}-*"):
            m = pattern.match(path.name)
            try:
                info = path.lstat()
            except OSError:
                continue
            if (not m or int(m[1]) == os.getpid() or _alive(int(m[1])) or info.st_uid != os.getuid()
                    or not path.is_dir() or time.time() - info.st_mtime < stale_after_s):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            log.info("removed %s, left by a killed edgecolor process", path)
    return removed


def _terminate_as_exit() -> contextlib.AbstractContextManager[None]:
    """While open (main thread only), SIGTERM and SIGHUP raise ``SystemExit`` so ``finally`` blocks run."""
    from edgecolor.signals import handling

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    return handling((signal.SIGTERM, signal.SIGHUP), leave)


@contextlib.contextmanager
def work_dir(kind: str) -> Iterator[Path]:
    """A fresh ``TMPDIR/edgecolor-KIND-PID-XXXX`` folder, removed when the block ends however it ends
    (return, exception, Ctrl+C, SIGTERM, SIGHUP); stale folders of killed runs of ``kind`` are swept first."""
    sweep(kind)
    path = Path(tempfile.mkdtemp(prefix=f"edgecolor-{kind}-{os.getpid()}-"))
    try:
        with _terminate_as_exit():
            yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
