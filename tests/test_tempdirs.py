"""Scratch folders (issue 29, item 3): a TMPDIR that is missing, not a folder, read-only or full is one line naming
it, exit 2, and nothing left behind; Python's silent fallback to /tmp (or the working folder) is not taken.

The read-only and full cases are real file systems: a tmpfs mounted for the test (root only; skipped otherwise).
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgecolor.cli import app

from helpers import tiny_colorizer, tmpfs


def _fill(folder: Path) -> None:
    """Write into ``folder`` until its file system is full."""
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@contextlib.contextmanager
def missing(tmp: Path) -> Iterator[Path]:
    yield tmp / "nope"


@contextlib.contextmanager
def a_file(tmp: Path) -> Iterator[Path]:
    (tmp / "file").write_text("x")
    yield tmp / "file"


@contextlib.contextmanager
def read_only(tmp: Path) -> Iterator[Path]:
    with tmpfs(tmp / "ro", "size=1m,ro") as root:
        yield root


@contextlib.contextmanager
def full(tmp: Path) -> Iterator[Path]:
    with tmpfs(tmp / "full", "size=256k") as root:
        _fill(root)
        yield root


@contextlib.contextmanager
def small(tmp: Path) -> Iterator[Path]:
    with tmpfs(tmp / "small", "size=1m") as root:
        yield root


CASES: list[tuple[str, Callable[[Path], contextlib.AbstractContextManager[Path]], str, str, str]] = [
    ("missing", missing, "tiny", "it does not exist", "Create it, or point TMPDIR at a writable folder with room"),
    ("a file", a_file, "tiny", "it is not a folder", "Point TMPDIR at a writable folder with room"),
    ("read-only tmpfs", read_only, "tiny", "it is on a read-only file system", "Point TMPDIR at a writable folder"),
    ("full tmpfs", full, "tiny", "it is full (only 0 kB free)", "Free space there, or point TMPDIR at a writable"),
    # the board: the scratch folder is made, then the 13 MB model does not fit (OSError from onnx.save)
    ("1 MiB tmpfs, filled by the build", small, "colorizer", "it is full (only 0 kB free)", "Free space there"),
]


@pytest.mark.parametrize("make, model, problem, remedy", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_unusable_tmpdir_is_one_line_naming_it(make, model, problem, remedy, tmp_path, monkeypatch):
    if model == "tiny":
        model = str(tiny_colorizer(tmp_path / "tiny.onnx"))
    monkeypatch.chdir(tmp_path)
    with make(tmp_path) as root:
        monkeypatch.setenv("TMPDIR", str(root))
        res = CliRunner().invoke(app, ["build", model, "--precision", "fp32", "-o", "e/e.onnx"])
        before_umount = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1, res.output
    assert errors[0].startswith(f"error: cannot use the scratch folder TMPDIR={root}: {problem}. {remedy}"), errors
    assert before_umount in ([], ["filler"]) and not (tmp_path / "e" / "e.onnx").exists()


def test_every_scratch_folder_is_made_by_work_dir():
    """One guard for scratch folders: only :func:`edgecolor.tempdirs.work_dir` makes them (removed on every exit,
    swept when a killed process left one), not ``tempfile``'s own folders."""
    import ast

    import edgecolor

    package = Path(edgecolor.__file__).parent
    makers = {"mkdtemp", "TemporaryDirectory"}
    found = [f"{path.relative_to(package)}:{node.lineno}" for path in package.rglob("*.py")
             if path.name != "tempdirs.py" for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Attribute) and node.attr in makers
             or isinstance(node, ast.alias) and node.name in makers]
    assert found == []
