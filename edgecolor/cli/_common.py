"""What every command shares: the console, JSON output and progress bars. Only the CLI prints.

Everything the CLI shows goes through the two consoles below (or :class:`SafeFormatter` for log records):
names are made printable there (:func:`edgecolor.textsafe.for_terminal`: a newline or terminal escapes in a
file name never reach the terminal raw, URL passwords are redacted), rich markup is off (a file named
``[bold]x.png`` is printed as it is), and when stderr/stdout is not a terminal the console is as wide as the
text, so a log file or a CI page gets whole paths and whole table columns instead of 80-column wrapping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from edgecolor.textsafe import for_terminal, one_line

# Not a terminal: no wrapping and no truncated columns (rich would otherwise assume 80 columns).
PIPE_WIDTH = 10_000


class SafeConsole(Console):
    """A rich console that prints every string made printable, without markup, and unwrapped off a terminal."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, emoji=False, soft_wrap=True, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:  # every str printed or put in a table passes here
        kwargs["markup"] = False
        return super().render_str(for_terminal(text), **kwargs)

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = SafeConsole(stderr=True)
out = SafeConsole()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON object on stdout.")]


def emit_json(obj: Any) -> None:
    """Write ``obj`` to stdout and flush, so a full or closed stdout (``> /dev/full``) is a one-line error
    here rather than a traceback at interpreter exit."""
    from edgecolor import jsonio
    from edgecolor.errors import OutputError

    try:
        sys.stdout.write(jsonio.dumps(obj, indent=1) + "\n")
        sys.stdout.flush()
    except OSError as exc:
        with contextlib.suppress(OSError):  # leave nothing buffered for the exit-time flush to fail on
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the broken stream until exit
        raise OutputError(f"cannot write the JSON output: {exc.strerror or exc}",
                          "check free space on the file or pipe stdout goes to") from exc


def print_error(message: object) -> None:
    """The one way an error reaches the user: ``error: ONE LINE`` on stderr."""
    console.print(Text(f"error: {one_line(str(message))}"))


def print_line(message: object) -> None:
    """One line on stderr that is not an error (an interrupt saying what it kept)."""
    console.print(Text(one_line(str(message))))


class SafeFormatter(logging.Formatter):
    """Log records as printable single lines (file names in messages may hold newlines or escapes); a
    logged traceback (a bug) keeps its lines, each made printable."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return one_line(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return for_terminal(super().formatException(ei), keep_newlines=True)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return for_terminal(super().formatStack(stack_info), keep_newlines=True)


class OwnRecordsOnly(logging.Filter):
    """Without ``-v``, third-party loggers' warnings (ONNX Runtime's "consider pre-processing" on the root
    logger, addressed to developers) stay out of a user's terminal; their errors, and edgecolor's own
    records, pass. With ``-v`` everything passes."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        return self.verbose or record.name.startswith("edgecolor") or record.levelno >= logging.ERROR


class Description(ProgressColumn):
    """The task's description as plain, printable text (rich's TextColumn would parse markup in a file name)."""

    def render(self, task: Task) -> Text:
        return Text(for_terminal(task.description))


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal or ``enabled`` is false)."""
    bar = Progress(
        Description(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, disable=not enabled or not console.is_terminal, transient=False,
    )
    with bar:
        yield bar


# Existing outputs (edgecolor.overwrite): ffmpeg's -y / -n, shared by colorize, stylize, run and build.
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", "-y", help="Replace outputs that exist (ffmpeg's -y). Default: colorize/stylize keep the outputs "
                              "an earlier run completed (a rerun resumes); any other existing file is refused.")]
NoOverwriteOpt = Annotated[bool, typer.Option(
    "--no-overwrite", "-n", help="Never touch an existing file (ffmpeg's -n): colorize/stylize write only the "
                                 "missing outputs (exit 0); run and build refuse (exit 2).")]
