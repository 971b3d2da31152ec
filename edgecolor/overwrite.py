"""The one guard every writing command uses: an output is never one of its inputs.

Outputs are renamed into place atomically, so writing onto an input *replaces* it: ``run --source v.avi
--sink v.avi``, ``stylize a.jpg --sheet a.jpg`` or ``build m.onnx -o m.onnx`` would destroy the very file
they read. Two paths name the same file when they resolve to the same place (symbolic links followed) or
share device and inode (hard links, bind mounts). A folder output (``run --sink FOLDER``) may not be a
folder its inputs are read from either: numbered frames would land among, and possibly over, the images
being read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from edgecolor.errors import OutputError
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
