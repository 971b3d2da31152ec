"""What every command shares: the console, JSON output and progress bars. Only the CLI prints."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON object on stdout.")]


def emit_json(obj: Any) -> None:
    """Write ``obj`` to stdout and flush, so a full or closed stdout (``> /dev/full``) is a one-line error
    here rather than a traceback at interpreter exit."""
    from edgecolor.errors import OutputError

    try:
        sys.stdout.write(json.dumps(obj, indent=1, default=str) + "\n")
        sys.stdout.flush()
    except OSError as exc:
        with contextlib.suppress(OSError):  # leave nothing buffered for the exit-time flush to fail on
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the broken stream until exit
        raise OutputError(f"cannot write the JSON output: {exc.strerror or exc}",
                          "check free space on the file or pipe stdout goes to") from exc


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal or ``enabled`` is false)."""
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, disable=not enabled or not console.is_terminal, transient=False,
    )
    with bar:
        yield bar
