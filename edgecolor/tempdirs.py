"""Scratch folders that do not outlive their command: removed on every exit path, and swept when stale.

Why: ``tempfile.TemporaryDirectory`` is removed on return and on exceptions (Ctrl+C included), but SIGTERM
(``kill``, ``timeout``, systemd stopping a kiosk) ends Python without running ``finally`` blocks, and
SIGKILL or a power cut cannot be caught at all: killed builds left 14-42 MB ``edgecolor-build-*`` folders in
TMPDIR, killed benches ``edgecolor-bench-*``. So :func:`work_dir` turns SIGTERM/SIGHUP into ``SystemExit``
while it is open (the folder is removed on the way out) and names each folder after its process, and every
new one first removes the folders of the same kind whose process is gone (:func:`sweep`). A scratch folder
that cannot be used (``TMPDIR`` missing, read-only or full) is one line naming ``TMPDIR``, not a traceback from
whichever library wrote into it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from edgecolor.errors import OutputError
from edgecolor.signals import held, raising

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


# Errors met writing inside a scratch folder that are the scratch folder's: it is full, read-only, or gone.
_FULL = {errno.ENOSPC: "is full", errno.EDQUOT: "is over its disk quota"}
_SCRATCH_ERRNOS = {**_FULL, errno.EROFS: "is read-only", errno.EACCES: "is not writable",
                   errno.EPERM: "is not writable", errno.ENOENT: "was emptied while edgecolor used it"}


def _tmpdir_words(root: Path) -> str:
    """How the folder scratch folders go in was chosen, for a message: ``TMPDIR=/x`` or ``/tmp (TMPDIR unset)``."""
    return f"TMPDIR={root}" if os.environ.get("TMPDIR") else f"{root} (TMPDIR is unset)"


def _low_space(folder: Path) -> str:
    """``" (only N kB free)"`` when ``folder``'s file system has under 64 MB free, else ``""``."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f" (only {free // 1024} kB free)" if free < 64 << 20 else ""


def _scratch_problem(root: Path, why: str, note: str = "") -> OutputError:
    remedy = "point TMPDIR at a writable folder with room, e.g. TMPDIR=/var/tmp"
    if why in _FULL.values():
        remedy = f"free space there, or {remedy}"
    elif why == "does not exist":
        remedy = f"create it, or {remedy}"
    return OutputError(f"cannot use the scratch folder {_tmpdir_words(root)}: it {why}{note}", remedy)


def scratch_root() -> Path:
    """The folder scratch folders go in: ``TMPDIR`` when it is set, else Python's default (``/tmp``).

    Python's :func:`tempfile.gettempdir` silently falls back to ``/tmp`` (or the working folder) when ``TMPDIR``
    is missing or read-only; a board whose ``/`` is small would then fill its root file system instead. A
    ``TMPDIR`` that is set but cannot be used is refused in one line naming it."""
    env = os.environ.get("TMPDIR")
    if not env:
        return Path(tempfile.gettempdir())
    root = Path(env)
    try:
        st = os.statvfs(root)
        is_dir = root.is_dir()
    except OSError as exc:
        raise _scratch_problem(root, "does not exist" if exc.errno == errno.ENOENT else
                               f"cannot be read ({exc.strerror})") from exc
    if not is_dir:
        raise _scratch_problem(root, "is not a folder")
    if st.f_flag & os.ST_RDONLY:
        raise _scratch_problem(root, "is on a read-only file system")
    if not os.access(root, os.W_OK | os.X_OK):
        raise _scratch_problem(root, "is not writable by this user")
    return root


def _scratch_error(exc: OSError, path: Path, root: Path) -> OutputError | None:
    """The one-line error for ``exc`` when it is the scratch folder's fault, else None. OSError without a file
    name (a full disk met by ``file.write``) is the scratch folder's when its own file system is nearly full."""
    why = _SCRATCH_ERRNOS.get(exc.errno or 0)
    if why is None:
        return None
    name = exc.filename if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
    if name is not None:
        if not Path(os.fsdecode(name)).absolute().is_relative_to(path.absolute()):
            return None
    elif exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not _low_space(path):
        return None
    return _scratch_problem(root, why, _low_space(path) if exc.errno == errno.ENOSPC else "")


def _terminate_as_exit() -> contextlib.AbstractContextManager[None]:
    """While open (main thread only), SIGTERM and SIGHUP raise :class:`~edgecolor.signals.Interrupted` (a
    ``KeyboardInterrupt``) so ``finally`` blocks run; a second one cannot cut the cleanup short."""
    return raising((signal.SIGTERM, signal.SIGHUP))


@contextlib.contextmanager
def work_dir(kind: str) -> Iterator[Path]:
    """A fresh ``TMPDIR/edgecolor-KIND-PID-XXXX`` folder, removed when the block ends however it ends
    (return, exception, Ctrl+C, SIGTERM, SIGHUP); stale folders of killed runs of ``kind`` are swept first.
    A scratch folder that cannot be made, or that fills up, is read-only or vanishes while it is written, is an
    :class:`~edgecolor.errors.OutputError` naming ``TMPDIR`` (see :func:`scratch_root`)."""
    root = scratch_root()
    sweep(kind, root)
    path: Path | None = None
    try:
        with held():  # an interrupt as the folder is made lands in this try, with the folder known to the finally
            try:
                path = Path(tempfile.mkdtemp(prefix=f"edgecolor-{kind}-{os.getpid()}-", dir=root))
            except OSError as exc:
                raise _scratch_problem(root, _SCRATCH_ERRNOS.get(exc.errno or 0,
                                                                 f"cannot hold a folder ({exc.strerror})"),
                                       _low_space(root) if exc.errno == errno.ENOSPC else "") from exc
        with _terminate_as_exit():
            yield path
    except OSError as exc:
        err = _scratch_error(exc, path, root) if path is not None else None
        if err is None:
            raise
        raise err from exc
    finally:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
