"""The ``edgecolor`` command line: one module per command, composed here.

Library code raises :class:`~edgecolor.errors.EdgecolorError` for problems the user can fix; ``main``
prints those as one line on stderr and exits with code 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import typer
from typer.core import TyperGroup

from edgecolor import __version__
from edgecolor.cli import bench, build, colorize, data, doctor, evaluate, models, run, stylize, train
from edgecolor.errors import EdgecolorError


class _Group(TyperGroup):
    """Turns user errors from any subcommand into one line on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EdgecolorError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:
            # A path the user typed that no file system takes (name > 255 bytes, a link loop) can surface in
            # any os/pathlib call; it is the user's to fix, whichever call met it first.
            if exc.errno not in (errno.ENAMETOOLONG, errno.ELOOP):
                raise
            typer.echo(f"error: {exc.strerror}: {str(exc.filename)[:120]}. Use a shorter path without link loops.",
                       err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    name="edgecolor",
    rich_markup_mode=None,
    help="Real-time colorization and style transfer on the edge: train, build, run, benchmark.\n\n"
    "Start with: edgecolor colorize photo.jpg -o out.jpg",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# In pipeline order: data -> train -> build -> run / one-shot -> measure.
app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.command("build")(build.build)
app.command("run")(run.run)
app.command("colorize")(colorize.colorize)
app.command("stylize")(stylize.stylize)
app.add_typer(evaluate.app, name="eval")
app.command("bench")(bench.bench)
app.command("models")(models.models)
app.command("doctor")(doctor.doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgecolor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    app()
