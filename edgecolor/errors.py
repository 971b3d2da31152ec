"""Errors a user can fix (exit code 2 in the CLI) versus bugs (anything else).

Every user error carries a one-line message that says what went wrong *and* what to do.
"""

from __future__ import annotations


class EdgecolorError(Exception):
    """Base for errors the user can fix. ``str(err)`` is one line: problem, then remedy."""

    def __init__(self, problem: str, remedy: str = "") -> None:
        self.problem = problem.rstrip(".")
        self.remedy = remedy.rstrip(".")
        remedy = self.remedy[:1].upper() + self.remedy[1:]
        super().__init__(f"{self.problem}. {remedy}." if remedy else f"{self.problem}.")


class InputError(EdgecolorError):
    """An input file, folder or argument cannot be used."""


class OutputError(EdgecolorError):
    """An output location cannot be written."""


class ModelError(EdgecolorError):
    """A model or engine is missing, corrupt or does not follow the frame-model contract."""


class DataError(EdgecolorError):
    """Training / evaluation data cannot be built or found."""


# The extras requirements.lock pins (the Makefile's EXTRAS); TensorRT comes from NVIDIA's index, not the lock.
LOCKED_EXTRAS = ("train", "eval", "dev", "ray", "openvino")


def install_command(extra: str) -> str:
    """How to install the optional extra ``extra`` here. From a clone (the lock beside the package): the
    Makefile's locked install, or pip with the lock as constraint; from an installed package: pip."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    lock = root / "requirements.lock"
    if extra in LOCKED_EXTRAS and lock.is_file() and (root / "Makefile").is_file():
        return (f"make -C {root} venv-full (every extra, pinned by the lock), or "
                f"pip install -c {lock} -e '{root}[{extra}]'")
    return f"pip install 'edgecolor[{extra}]'"


class MissingDependency(EdgecolorError):
    """An optional dependency is not installed; the remedy names the exact install command."""

    def __init__(self, module: str, extra: str, command: str | None = None) -> None:
        command = command or install_command(extra)
        super().__init__(f"the optional dependency '{module}' is not installed", f"install it with: {command}")


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import an optional module or raise :class:`MissingDependency` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module.split(".")[0], extra) from exc
