"""Signal handlers installed for the length of a ``with`` block (the one place that swaps and restores them).

Two ways an interrupt (SIGINT, SIGTERM, SIGHUP) is taken, and one rule they share:

- :func:`raising`: the first signal raises :class:`Interrupted` (a ``KeyboardInterrupt``, so every ``finally``
  that cleans up after Ctrl+C cleans up after SIGTERM too). The CLI opens it around every command.
- :func:`stopping`: each signal sets a :class:`StopRequest` that a job checks between frames and files, so no
  write is cut in half (``run``'s pipeline, ``colorize``/``stylize`` jobs).
- Once one signal was taken, later ones are counted and otherwise ignored until the outermost of these blocks
  ends (in the ``edgecolor`` executable, until the process ends: :func:`ignore_after_interrupt`): a second
  Ctrl+C during the cleanup the first one started (removing an unfinished video, a scratch folder) cannot cut
  that cleanup short, nor kill the process before it says what it kept.

Under :func:`raising`, :func:`held` marks a short step that an interrupt must not cut in two (a scratch folder or
an output's temporary file made and handed to the ``finally`` that removes it): the raise waits for its end.

SIGHUP stays ignored where it was ignored when the block opened (``nohup``: the job is meant to outlive its
terminal). SIGINT and SIGTERM are always taken, even where a shell started the process with SIGINT ignored (a
background job of a script): they are someone's request to stop, and ``run`` has always honoured them so
(``benchmarks/soak_live.py`` ends its background run with SIGINT).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_taken: list[int] = []  # interrupts taken since the outermost raising/stopping block opened
_raised: list[int] = []  # the one of them that raised Interrupted
_depth = 0
_holding = 0  # open held() blocks (main thread)
_deferred: list[int] = []  # an interrupt that came during held(), raised as the outermost one ends
_ignore_after = False  # see ignore_after_interrupt()


class Interrupted(KeyboardInterrupt):
    """Raised by the first interrupt under :func:`raising`; ``exit_code`` is the shell's ``128 + signal``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


class StopRequest:
    """Set by the first interrupt under :func:`stopping`: ``bool(request)`` and ``request.name`` (``SIGINT``);
    ``count`` is how many interrupts came (the later ones during the stop itself)."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.signum = 0
        self.count = 0

    def __bool__(self) -> bool:
        return self.name is not None

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def set(self, signum: int) -> None:
        self.count += 1
        if self.name is None:
            self.signum, self.name = signum, signal.Signals(signum).name


@contextlib.contextmanager
def handling(signals: Iterable[signal.Signals], handler: Callable[[int, Any], None]) -> Iterator[None]:
    """While open, ``handler`` handles ``signals``; the previous handlers come back on exit. Off the main
    thread (where Python cannot install handlers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def ignore_after_interrupt() -> None:
    """For a process that ends with its command (the ``edgecolor`` executable): once an interrupt was taken,
    the outermost block leaves interrupts ignored instead of restoring Python's default, so a second Ctrl+C
    while the process exits (threads stopping, libraries unloading) cannot kill it with a traceback."""
    global _ignore_after
    _ignore_after = True


@contextlib.contextmanager
def _interrupts(handler: Callable[[int, Any], None], signals: Iterable[signal.Signals]) -> Iterator[None]:
    global _depth
    main = threading.current_thread() is threading.main_thread()
    wanted = [s for s in signals if main and not (s == signal.SIGHUP and signal.getsignal(s) is signal.SIG_IGN)]
    previous = {s: signal.signal(s, handler) for s in wanted}
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        last = _depth == 0
        ignore = last and _ignore_after and bool(_taken)
        for s, old in previous.items():
            signal.signal(s, signal.SIG_IGN if ignore else old)
        if last:
            _taken.clear()
            _raised.clear()
            _deferred.clear()


def raising(signals: Iterable[signal.Signals] = INTERRUPTS) -> contextlib.AbstractContextManager[None]:
    """While open, the first of ``signals`` raises :class:`Interrupted`; later ones are ignored (see the module
    docstring)."""

    def handler(signum: int, frame: Any) -> None:
        _taken.append(signum)
        if len(_taken) == 1:
            if _holding:
                _deferred.append(signum)
                return
            _raised.append(signum)
            raise Interrupted(signum)

    return _interrupts(handler, signals)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A step that must not be cut in two: an interrupt that :func:`raising` would raise inside the block is raised
    as the block ends instead. For making a thing and handing it to the ``finally`` that removes it (a scratch
    folder, an output's temporary file): interrupted between the two, the thing would be made and never removed.
    Keep the block short: nothing in it can be interrupted. Off the main thread (where handlers never run) it does
    nothing."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _deferred:
            signum = _deferred.pop()
            _raised.append(signum)
            raise Interrupted(signum)


def raised() -> int:
    """The signal whose :class:`Interrupted` was raised in the open blocks, or 0. Whatever fails after it most
    likely failed because of it: a C extension interrupted while it is imported reports an ``ImportError``."""
    return _raised[0] if _raised else 0


@contextlib.contextmanager
def stopping(on_stop: Callable[[str], None] | None = None,
             signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
    """While open, ``signals`` set the yielded :class:`StopRequest` and call ``on_stop`` with the signal's name
    (``"SIGINT"``) instead of raising; the job ends itself at its next check."""
    request = StopRequest()

    def handler(signum: int, frame: Any) -> None:
        _taken.append(signum)
        request.set(signum)
        if on_stop is not None:
            on_stop(signal.Signals(signum).name)

    with _interrupts(handler, signals):
        yield request
