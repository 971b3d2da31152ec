"""Signal handlers installed for the length of a ``with`` block (the one place that swaps and restores them)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any


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
