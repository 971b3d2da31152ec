"""The ``edgecolor`` command line: one module per command, composed here.

Library code raises :class:`~edgecolor.errors.EdgecolorError` for problems the user can fix; ``main``
prints those as one line on stderr and exits with code 2. Anything else is a bug and keeps its traceback.
An interrupt (SIGINT, SIGTERM, SIGHUP) is one line too, and exit code 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import signal
import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from edgecolor import __version__
from edgecolor.cli import _native, bench, build, colorize, data, doctor, evaluate, models, run, stylize, train, tune
from edgecolor.cli._common import OwnRecordsOnly, SafeFormatter, print_error, print_line
from edgecolor.errors import EdgecolorError
from edgecolor.signals import Interrupted, ignore_after_interrupt, raised, raising

log = logging.getLogger(__name__)

# typer >= 0.2x vendors click as typer._click; older ones use click itself: take the classes from typer.
_CLICK = sys.modules[next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException").__module__]
_NO_ARGS_HELP = getattr(_CLICK, "NoArgsIsHelpError", ())
_ABORT = tuple({typer.Abort, getattr(_CLICK, "Abort", typer.Abort)})


# typer validates values with pydantic, whose message for a validator's ValueError starts with its error type
# ("Invalid value for '--precision': Value error, 'int4' is not one of 'fp32', ..."): the user needs the reason.
_VALIDATOR_PREFIX = re.compile(r"(?<=: )(?:Value error|Assertion failed), ")


def _usage_line(err: Any) -> str:
    """click's usage error (several lines: usage, hint, boxed message) as one ``PROBLEM. REMEDY.`` line."""
    problem = _VALIDATOR_PREFIX.sub("", " ".join(err.format_message().split())).rstrip(".")
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "edgecolor"
    return f"{problem}. Run '{command} --help' for usage."


def _say_interrupted(command: str | None, signum: int) -> int:
    """One line for an interrupt that stopped a command; returns the shell's exit code for it (128 + signal)."""
    name = " ".join(filter(None, ("edgecolor", command)))
    with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
        print_line(f"interrupted by {signal.Signals(signum).name}: '{name}' stopped before it finished. "
                   "Run it again to finish.")
    return 128 + signum


def _interrupted(ctx: Any, signum: int) -> NoReturn:
    raise typer.Exit(_say_interrupted(getattr(ctx, "invoked_subcommand", None), signum))


def _signum(exc: KeyboardInterrupt) -> int:
    return exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)


class _Group(TyperGroup):
    """Turns user errors from any subcommand into one line on stderr and exit code 2, and click's usage
    errors (unknown option, missing argument, bad value) into one line too."""

    def invoke(self, ctx: Any) -> Any:
        try:
            # SIGTERM/SIGHUP too: finally blocks clean up, and a second signal cannot cut them (or the line) short
            with raising():
                try:
                    return super().invoke(ctx)
                except KeyboardInterrupt as exc:  # a command without its own stop (run, colorize, stylize have one)
                    _interrupted(ctx, _signum(exc))
                except Exception as exc:
                    if not raised():
                        raise
                    log.debug("after the interrupt: %r", exc)  # what it broke (an import: "ImportError")
                    _interrupted(ctx, raised())
        except EdgecolorError as err:
            print_error(err)
            raise typer.Exit(2) from None
        except OSError as exc:
            # A path the user typed that no file system takes (name > 255 bytes, a link loop) can surface in
            # any os/pathlib call; it is the user's to fix, whichever call met it first.
            if exc.errno not in (errno.ENAMETOOLONG, errno.ELOOP):
                raise
            typer.echo(f"error: {exc.strerror}: {str(exc.filename)[:120]}. Use a shorter path without link loops.",
                       err=True)
            raise typer.Exit(2) from None

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:  # while the arguments are parsed (typer would exit 130 without a word)
            _interrupted(None, _signum(exc))

    def main(  # type: ignore[override]
        self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
        standalone_mode: bool = True, **kwargs: Any,
    ) -> Any:
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        try:
            code = run(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        except _NO_ARGS_HELP as err:  # a group called bare shows its help, as asked
            err.show()
            sys.exit(err.exit_code)
        except _CLICK.ClickException as err:
            print_error(_usage_line(err))
            sys.exit(err.exit_code)
        except _ABORT:
            print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_Group,
    name="edgecolor",
    rich_markup_mode=None,
    help="Real-time colorization and style transfer on the edge: train, build, run, benchmark.\n\n"
    "\b\nExample: edgecolor colorize photo.jpg -o out.jpg",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# In pipeline order: data -> train -> build -> run / one-shot -> measure.
app.add_typer(data.app, name="data")
app.add_typer(train.app, name="train")
app.add_typer(tune.app, name="tune")
app.command("build")(build.build)
app.command("run")(run.run)
app.command("colorize")(colorize.colorize)
app.command("stylize")(stylize.stylize)
app.add_typer(evaluate.app, name="eval")
app.command("bench")(bench.bench)
app.command("models")(models.models)
app.command("doctor")(doctor.doctor)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"edgecolor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="Show the version."),
) -> None:
    _native.quiet_libraries()
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(OwnRecordsOnly(verbose))
    logging.basicConfig(level=level, handlers=[handler])


def main() -> None:
    """The ``edgecolor`` executable: native libraries' stderr is captured (see ``_native``), then the app runs."""
    _native.quiet_libraries()
    _native.capture_native_stderr()
    _native.warnings_to_log()
    ignore_after_interrupt()
    try:
        with raising():  # from here on: the commands' own blocks take over once one is invoked
            app()
    except KeyboardInterrupt as exc:  # before the arguments were parsed
        sys.exit(_say_interrupted(None, _signum(exc)))
