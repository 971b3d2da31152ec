"""The bounded queue between the pipeline's threads (capture -> engine, engine -> each sink writer).

Policy: ``drop_oldest`` (a live input, a view such as the browser) discards the oldest item when full, so
latency stays bounded and what is shown is recent; blocking (a file read as fast as possible, a file sink)
waits for space, so no frame is lost.
"""

from __future__ import annotations

import collections
import threading
from typing import Any


class FrameQueue:
    """A bounded FIFO; full + ``drop_oldest`` discards the oldest item, full + blocking waits for space."""

    def __init__(self, size: int, drop_oldest: bool) -> None:
        if size < 1:
            raise ValueError(f"queue size must be >= 1, got {size}")
        self.size, self.drop_oldest = size, drop_oldest
        self._items: collections.deque[Any] = collections.deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item: Any, force: bool = False) -> bool:
        """Queue ``item``; False if the queue was closed. ``force`` (the end sentinel) neither waits nor
        drops: it may exceed the size by one, so the end of a file never costs its last frame."""
        with self._cond:
            if not (self.drop_oldest or force):
                self._cond.wait_for(lambda: len(self._items) < self.size or self.closed)
            if self.closed:
                return False
            if len(self._items) >= self.size and not force:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float) -> Any:
        """The oldest item, or ``None`` after ``timeout`` seconds without one (at once when closed and empty)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self.closed, timeout) or not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self, discard: bool = False) -> None:
        """Wake every waiter; later puts are refused; ``discard`` also drops what is queued (an abort)."""
        with self._cond:
            self.closed = True
            if discard:
                self._items.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
