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


class MissingDependency(EdgecolorError):
    """An optional dependency is not installed; the remedy names the exact install command."""

    def __init__(self, module: str, extra: str, command: str | None = None) -> None:
        command = command or f"pip install 'edgecolor[{extra}]'"
        super().__init__(f"the optional dependency '{module}' is not installed", f"install it with: {command}")


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import an optional module or raise :class:`MissingDependency` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module.split(".")[0], extra) from exc
