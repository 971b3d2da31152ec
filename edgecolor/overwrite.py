"""The one guard every writing command uses: an output is never one of its inputs.

Outputs are renamed into place atomically, so writing onto an input *replaces* it: ``run --source v.avi
--sink v.avi``, ``stylize a.jpg --sheet a.jpg`` or ``build m.onnx -o m.onnx`` would destroy the very file
they read. Two paths name the same file when they resolve to the same place (symbolic links followed) or
share device and inode (hard links, bind mounts). A folder output (``run --sink FOLDER``) may not be a
folder its inputs are read from either: numbered frames would land among, and possibly over, the images
being read.

It also owns the one overwrite policy (ffmpeg's, :func:`leave_existing`): by default a complete output of an
earlier run is kept, so a rerun resumes and rewrites nothing; ``-y`` redoes it, ``-n`` never touches an existing
file. ``colorize`` / ``stylize`` (locally and on Ray), ``run``'s file sinks and ``build`` all decide through it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from edgecolor.choices import Overwrite
from edgecolor.errors import InputError, OutputError
from edgecolor.inputs import check_output


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare it as written
        return path.absolute()


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


class Inputs:
    """The files a command reads; :meth:`check_file` / :meth:`check_folder` refuse outputs that are one."""

    def __init__(self, files: Iterable[Path | str]) -> None:
        self._by_path: dict[Path, Path] = {}
        self._by_inode: dict[tuple[int, int], Path] = {}
        self._folders: dict[Path, Path] = {}
        for f in files:
            path = Path(f)
            self._by_path[_resolved(path)] = path
            if (key := _inode(path)) is not None:
                self._by_inode[key] = path
            self._folders[_resolved(path).parent] = path

    def _same(self, out: Path) -> Path | None:
        hit = self._by_path.get(_resolved(out))
        if hit is None and (key := _inode(out)) is not None:
            hit = self._by_inode.get(key)
        return hit

    def check_file(self, out: Path | str, what: str = "output") -> None:
        """Refuse ``out`` if writing it would replace an input (also through a link), or cannot be written
        (:func:`edgecolor.inputs.check_output`: checked here, before the work, not when it is written)."""
        out = check_output(out)
        if (hit := self._same(out)) is not None:
            same = "" if str(out) == str(hit) else f" (the same file as {hit})"
            raise OutputError(f"{what} {out} is an input{same} and would be overwritten",
                              "choose another output location")

    def check_folder(self, folder: Path | str, what: str = "output folder") -> None:
        """Refuse a folder output that inputs are read from, or that cannot be written (as :meth:`check_file`)."""
        folder = check_output(folder, folder=True)
        resolved = _resolved(folder)
        hit = self._folders.get(resolved)
        if hit is None and (key := _inode(folder)) is not None:
            hit = next((f for d, f in self._folders.items() if _inode(d) == key), None)
        if hit is not None:
            raise OutputError(f"{what} {folder} holds the input {hit}; its outputs would mix with (or replace) "
                              "the inputs", "choose another output folder")


def refuse_overlap(out_folder: Path, in_folder: Path, what: str = "output folder") -> None:
    """Refuse an output folder that is, holds or lies inside a folder read recursively (``data fetch
    --from-folder``): the outputs would replace the photos being read or be read back as inputs."""
    out, inp = _resolved(Path(out_folder)), _resolved(Path(in_folder))
    if out.is_relative_to(inp) or inp.is_relative_to(out):
        raise OutputError(f"{what} {out_folder} overlaps the input folder {in_folder}",
                          "choose an output folder outside it (and not above it)")


def refuse_overwrite(outputs: Iterable[Path | str], inputs: Iterable[Path | str], what: str = "output") -> None:
    """Shorthand: refuse any of ``outputs`` (files) that is one of ``inputs``."""
    guard = Inputs(inputs)
    for out in outputs:
        guard.check_file(out, what)


def overwrite_policy(yes: bool, no: bool) -> Overwrite:
    """``-y`` / ``-n`` as an :class:`~edgecolor.choices.Overwrite` (neither: ``skip``); both is refused."""
    if yes and no:
        raise InputError("-y/--overwrite and -n/--no-overwrite contradict each other", "pass one of them")
    return Overwrite.YES if yes else Overwrite.NO if no else Overwrite.SKIP


def leave_existing(out: Path, policy: Overwrite, complete: bool | None = None, what: str = "output") -> bool:
    """Whether ``out`` is left as it is (True) or written (False), by ``policy``:

    - ``yes``: always written; ``no``: an existing file is never touched;
    - ``skip`` (the default): a missing file is written, a ``complete`` one (an earlier run's, same inputs and
      settings) is left, a stale one of ours (``complete is False``: its input or settings changed) is redone,
      and a file this command cannot vouch for (``complete is None``: not ours, or an output such as an engine
      or a recording that has no notion of complete) is refused in one line naming ``-y`` and ``-n``.
    """
    if policy is Overwrite.YES or not os.path.lexists(out):
        return False
    if policy is Overwrite.NO:
        return True
    if complete is None:
        raise OutputError(f"{what} {out} already exists", "pass -y to overwrite it, or -n to leave it as it is")
    return complete


def refuse_existing(out: Path | str, policy: Overwrite, what: str) -> None:
    """For an output that is the whole point of its command and has no notion of complete (``run``'s recording,
    ``build``'s engine): an existing ``out`` is replaced only with ``-y``. Without it, one line naming ``-y``; with
    ``-n`` too, as ffmpeg ``-n`` ends with "already exists. Exiting." (here exit 2: the command cannot do its job
    without touching the file). A live recording cannot be "complete", so the default cannot skip it."""
    if policy is Overwrite.YES or not os.path.lexists(out):
        return
    if policy is Overwrite.NO:
        raise OutputError(f"{what} {out} already exists and -n never overwrites it",
                          "choose another path, or pass -y to replace it")
    raise OutputError(f"{what} {out} already exists", "pass -y to overwrite it, or choose another path")
