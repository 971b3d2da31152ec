"""The one gate every input path goes through: names, kinds of file, and bounded reads.

Why: ``Path.is_file()`` raises on a name longer than the file system allows (a traceback), ``open()`` on a
named pipe blocks until a writer appears (a hang), and ``read_bytes()`` on a link to ``/dev/zero`` never
returns. Every place that takes a file or folder from the user asks :func:`kind` what the path is, and
reads through :func:`read_bytes`, which opens without blocking, refuses anything but a regular file from
the open descriptor (so a path swapped between the check and the read is caught too) and never reads more
than its limit.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from edgecolor.errors import InputError, OutputError

NAME_MAX = 255  # bytes per path component on Linux/ext4/tmpfs/NTFS (POSIX NAME_MAX)
PATH_MAX = 4096
MAX_INPUT_BYTES = 1 << 30  # no image, spec or manifest edgecolor reads whole is near this

_SPECIAL = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _describe(mode: int) -> str:
    return next((what for test, what in _SPECIAL if test(mode)), "not a regular file")


def name_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be a file name here (too long, NUL byte), or ``None``."""
    text = os.fsencode(os.fspath(path))
    if b"\x00" in text:
        return "contains a NUL byte"
    if len(text) > PATH_MAX:
        return f"is {len(text)} bytes long (the limit is {PATH_MAX})"
    longest = max((len(part) for part in text.split(b"/")), default=0)
    if longest > NAME_MAX:
        return f"has a name of {longest} bytes (file systems allow {NAME_MAX})"
    return None


def _short(path: str | Path) -> str:
    text = os.fspath(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic-link loop"
    if exc.errno == errno.ENAMETOOLONG:
        return "has a name too long for the file system"
    return exc.strerror or str(exc)


def kind(path: str | Path, what: str = "input") -> str:
    """``"file"``, ``"dir"`` or ``"missing"``; a bad name, a link loop or a FIFO/device is an
    :class:`InputError` naming ``what``."""
    problem = name_problem(path)
    if problem:
        raise InputError(f"{what} {_short(path)} {problem}", "use a shorter path")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except NotADirectoryError:
        return "missing"
    except OSError as exc:
        raise InputError(f"{what} {_short(path)} {_os_problem(exc)}", "check the path") from exc
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    raise InputError(f"{what} {_short(path)} is {_describe(mode)}, not a regular file", "pass a regular file")


def read_bytes(path: str | Path, what: str = "input", limit: int = MAX_INPUT_BYTES) -> bytes:
    """The content of a regular file, at most ``limit`` bytes (a longer file is an :class:`InputError`)."""
    found = kind(path, what)
    if found != "file":
        raise InputError(f"{what} {_short(path)} {'is a folder' if found == 'dir' else 'does not exist'}",
                         "check the path")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {_short(path)}: {_os_problem(exc)}",
                         "check the path and its permissions") from exc
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for a FIFO/device after kind() looked
            raise InputError(f"{what} {_short(path)} is {_describe(mode)}, not a regular file",
                             "pass a regular file")
        os.set_blocking(fd, True)
        size = os.fstat(fd).st_size
        if size > limit:
            raise _too_large(path, what, limit)
        try:
            data = _read_sized(f, size, limit)
        except OSError as exc:
            raise InputError(f"cannot read {_short(path)}: {_os_problem(exc)}", "check the file") from exc
    if len(data) > limit:
        raise _too_large(path, what, limit)
    return data


def _too_large(path: str | Path, what: str, limit: int) -> InputError:
    return InputError(f"{what} {_short(path)} is larger than {limit >> 20} MB", "pass a smaller file")


def _read_sized(f: BinaryIO, size: int, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``f``, asking for the ``size`` it has (from ``stat``) plus one byte.

    Why not ``f.read(limit + 1)``: Python allocates the whole request up front, so every image asked for a
    1 GiB buffer, and a process capped with ``ulimit -v`` (init scripts and supervisors do) failed every image
    with ``MemoryError``. A file that grew since ``stat`` (or reports size 0, as ``/proc`` files do) is read on
    in 1 MiB steps, up to the same limit."""
    data = f.read(size + 1)
    if len(data) <= size:
        return data
    parts = [data]
    total = len(data)
    while total <= limit:
        part = f.read(min(1 << 20, limit + 1 - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def read_text(path: str | Path, what: str = "input", limit: int = 16 << 20) -> str:
    """A regular text file (UTF-8), bounded like :func:`read_bytes`."""
    try:
        return read_bytes(path, what, limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {_short(path)} is not UTF-8 text", "pass a text file") from exc


def require_file(path: str | Path, what: str = "input") -> Path:
    """``path`` if it is an existing regular file, else an :class:`InputError`."""
    found = kind(path, what)
    if found != "file":
        raise InputError(f"{what} {_short(path)} {'is a folder' if found == 'dir' else 'does not exist'}",
                         "check the path")
    return Path(path)


def check_output(path: str | Path, folder: bool = False) -> Path:
    """An output path (``folder``: an output folder) whose name fits the file system, that is not a
    symbolic-link loop and whose folders are not links to nothing."""
    problem = name_problem(path)
    if problem:
        raise OutputError(f"output {_short(path)} {problem}", "choose a shorter output name")
    path = Path(path)
    for above in (path, *path.parents) if folder else path.parents:
        if above.is_symlink() and not above.exists():  # mkdir would fail with "File exists", which misleads
            target = os.readlink(above)
            raise OutputError(f"output folder {_short(above)} is a symbolic link to {_short(target)}, which does "
                              "not exist", f"create {_short(target)} or remove the link {_short(above)}")
    try:
        path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: Python < 3.13 reports link loops so
        raise OutputError(f"output {_short(path)} is a symbolic-link loop or unreachable ({str(exc)[:60]})",
                          "choose another output location") from exc
    return path


def folder_files(folder: str | Path, accept: Callable[[Path], bool], what: str = "folder",
                 recursive: bool = False) -> list[Path]:
    """Sorted files of ``folder`` that ``accept`` takes (by name); one of them that is a FIFO, a device or
    a link loop is an :class:`InputError` rather than a hang when it is read."""
    folder = Path(folder)
    try:
        entries = sorted(folder.rglob("*") if recursive else folder.iterdir())
    except OSError as exc:
        raise InputError(f"cannot list {what} {_short(folder)}: {_os_problem(exc)}", "check the path") from exc
    return [p for p in entries if accept(p) and kind(p, f"file in {what}") == "file"]
