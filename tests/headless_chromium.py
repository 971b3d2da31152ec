"""A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages
ended by NUL on file descriptors 3 and 4, as Puppeteer does), so the tests need no driver package and no
debugging port. Every wait is bounded."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def available() -> bool:
    return shutil.which("chromium") is not None


class Chromium:
    """One browser with one page; :meth:`evaluate` runs JavaScript in it, :meth:`wait_for` polls an expression."""

    def __init__(self, profile: Path, size: tuple[int, int] = (480, 360)) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: the protocol's fixed descriptors
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = ["chromium", *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._id, self.events = b"", 0, []
        self.session: str | None = None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")

    def send(self, method: str, params: dict | None = None, timeout: float = 15, wait: bool = True) -> dict:
        """Send one command; its result (``wait``), or ``{}`` at once (its reply is kept with the events: a
        key that opens a ``confirm`` is answered only once the dialog is)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while wait:
            for reply in self._read(end):
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                self.events.append(reply)
        return {}

    def _read(self, end: float) -> list[dict]:
        while b"\0" not in self._buf:
            readable, _, _ = select.select([self._from_chrome], [], [], max(0.0, end - time.monotonic()))
            if not readable:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise EOFError("chromium exited")
            self._buf += chunk
        *messages, self._buf = self._buf.split(b"\0")
        return [json.loads(m) for m in messages]

    def open(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str, gesture: bool = False) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "userGesture": gesture})
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 15, every: float = 0.1) -> Any:
        """The value of ``expression`` once truthy; ``TimeoutError`` after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"never true: {expression}; last {self.evaluate(expression)!r}")

    def key(self, key: str, wait: bool = True) -> None:
        """Press and release ``key`` (a KeyboardEvent.key value) in the page."""
        codes = {"Escape": 27, "ArrowLeft": 37, "ArrowRight": 39}
        code = codes.get(key, ord(key.upper()) if len(key) == 1 else 0)
        down = {"type": "keyDown", "key": key, "windowsVirtualKeyCode": code}
        if len(key) == 1:
            down |= {"text": key}
        self.send("Input.dispatchKeyEvent", down, wait=wait)
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "windowsVirtualKeyCode": code}, wait=wait)

    def dialog(self, timeout: float = 5) -> dict | None:
        """The next JavaScript dialog (``confirm`` ...) opened since the last call, or None."""
        end = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == "Page.javascriptDialogOpening":
                    del self.events[: i + 1]
                    return event["params"]
            if time.monotonic() >= end:
                return None
            try:
                self.events.extend(self._read(min(end, time.monotonic() + 0.2)))
            except TimeoutError:
                pass

    def answer_dialog(self, accept: bool) -> None:
        self.send("Page.handleJavaScriptDialog", {"accept": accept})

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, TimeoutError, EOFError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._to_chrome)
        os.close(self._from_chrome)
