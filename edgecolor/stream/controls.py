"""Live controls shared by the window (keys) and the browser view (HTTP endpoints).

A :class:`Style` is a frame model plus values for its extra inputs. Several can be loaded at once; switching
only changes which engine and extras the *next* frame uses, so it takes effect within one frame and never
reloads an engine. All state changes go through :meth:`Controls.apply`, under a lock, because key presses
arrive on the display thread and HTTP requests on server threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ACTIONS = ("next", "prev", "split", "stabilize", "quit")

# Keys as returned by cv2.waitKey(...) & 0xFF.
KEYS: dict[int, str] = {
    ord("n"): "next",
    ord("]"): "next",
    83: "next",  # 83: right arrow on most HighGUI backends
    ord("p"): "prev",
    ord("["): "prev",
    81: "prev",  # 81: left arrow
    ord("s"): "split",
    ord("t"): "stabilize",
    ord("q"): "quit",
    27: "quit",  # 27: Esc
}


@dataclass(frozen=True)
class Style:
    """A named way to render: which loaded engine, and the values of its extra inputs."""

    name: str
    engine: str
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ControlState:
    """A consistent snapshot of the controls, read once per frame."""

    style: int
    split: bool
    stabilize: bool
    quit: bool
    version: int  # increases on every change


class Controls:
    """Thread-safe live settings: style index, split view, stabilisation, quit."""

    def __init__(self, styles: list[Style], split: bool = False, stabilize: bool = True) -> None:
        if not styles:
            raise ValueError("at least one style is needed")
        self.styles = styles
        self._lock = threading.Lock()
        self._state = ControlState(0, split, stabilize, False, 0)
        self.quit_event = threading.Event()

    @property
    def state(self) -> ControlState:
        with self._lock:
            return self._state

    def apply(self, action: str) -> ControlState:
        """Apply one of :data:`ACTIONS`; unknown actions raise ``ValueError``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown control '{action}', expected one of {', '.join(ACTIONS)}")
        with self._lock:
            s = self._state
            n = len(self.styles)
            style, split, stab, quit_ = s.style, s.split, s.stabilize, s.quit
            if action == "next":
                style = (style + 1) % n
            elif action == "prev":
                style = (style - 1) % n
            elif action == "split":
                split = not split
            elif action == "stabilize":
                stab = not stab
            else:
                quit_ = True
            self._state = ControlState(style, split, stab, quit_, s.version + 1)
            new = self._state
        if new.quit:
            self.quit_event.set()
        return new

    def handle_key(self, key: int) -> str | None:
        """Apply the action bound to ``key`` (``cv2.waitKey`` code); return it, or ``None`` if unbound."""
        if key < 0:
            return None
        action = KEYS.get(key & 0xFF)
        if action is not None:
            self.apply(action)
        return action

    def describe(self) -> dict[str, object]:
        s = self.state
        return {
            "style": self.styles[s.style].name,
            "styles": [st.name for st in self.styles],
            "split": s.split,
            "stabilize": s.stabilize,
            "quit": s.quit,
        }
