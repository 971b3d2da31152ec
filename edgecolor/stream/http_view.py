"""Browser view: the live output as MJPEG over HTTP, plus the live controls as endpoints (kiosk mode).

Standard library only (``http.server`` + threads). Binds 127.0.0.1 unless told otherwise: the control
endpoints have no authentication, so exposing them on a network is the operator's explicit choice.

Routes:
  ``GET /``                 page showing the stream, with buttons and keys for the controls
  ``GET /stream.mjpg``      ``multipart/x-mixed-replace`` JPEG stream (any browser, VLC, ffplay)
  ``GET /frame.jpg``        the latest frame as one JPEG
  ``GET /status``           JSON: controls state and pipeline statistics
  ``POST /control/ACTION``  ``next`` | ``prev`` | ``split`` | ``stabilize`` | ``quit`` -> JSON state
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from edgecolor.errors import OutputError
from edgecolor.stream.controls import ACTIONS, KEY_HELP, Controls

log = logging.getLogger(__name__)

BOUNDARY = "edgecolorframe"

# The first image is a plain JPEG so the page's load event fires (a browser never finishes loading an
# MJPEG stream); the stream replaces it right after.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgecolor</title>
<style>html,body{margin:0;background:#111;color:#ddd;font:14px sans-serif;text-align:center}
img{max-width:100vw;max-height:92vh;display:block;margin:0 auto}button{margin:4px}</style></head>
<body><img id="view" src="/frame.jpg" alt="live output">
<div>%BUTTONS%<span> keys: %KEYS%</span></div>
<script>
const view = document.getElementById("view");
window.addEventListener("load", () => { view.src = "/stream.mjpg"; });
function control(action) { fetch("/control/" + action, {method: "POST"}); }
const keys = {n: "next", "]": "next", p: "prev", "[": "prev", s: "split", t: "stabilize", q: "quit"};
document.addEventListener("keydown", (e) => { if (keys[e.key]) control(keys[e.key]); });
</script></body></html>
"""


class FrameHub:
    """The latest encoded frame, and a condition that wakes every stream client when a new one arrives."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._seq = 0
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self._cond:
            self._jpeg, self._seq = jpeg, self._seq + 1
            self._cond.notify_all()

    def latest(self) -> tuple[int, bytes | None]:
        with self._cond:
            return self._seq, self._jpeg

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, bytes | None]:
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self.closed, timeout)
            return self._seq, self._jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: object) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        view = self.server.view
        if self.path in ("/", "/index.html"):
            buttons = "".join(f"<button onclick=\"control('{a}')\">{a}</button>" for a in ACTIONS)
            page = PAGE.replace("%BUTTONS%", buttons).replace("%KEYS%", KEY_HELP)
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif self.path == "/frame.jpg":
            _, jpeg = view.hub.wait_newer(0, view.first_frame_timeout)
            if jpeg is None:
                self._json(503, {"error": "no frame yet"})
            else:
                self._send(200, jpeg, "image/jpeg")
        elif self.path == "/stream.mjpg":
            self._stream(view)
        elif self.path == "/status":
            self._json(200, view.status())
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        view = self.server.view
        prefix = "/control/"
        if not self.path.startswith(prefix):
            self._json(404, {"error": f"no route {self.path}"})
            return
        action = self.path[len(prefix) :]
        if view.controls is None:
            self._json(503, {"error": "this view has no controls"})
        elif action not in ACTIONS:
            self._json(404, {"error": f"unknown control '{action}'", "controls": list(ACTIONS)})
        else:
            view.controls.apply(action)
            self._json(200, view.controls.describe())

    def _stream(self, view: HttpView) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seq = 0
        try:
            while not view.hub.closed:
                new_seq, jpeg = view.hub.wait_newer(seq, timeout=0.5)
                if new_seq == seq or jpeg is None:
                    continue
                seq = new_seq
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("stream client %s left", self.address_string())


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive
    view: HttpView


class HttpView:
    """An MJPEG server in a background thread; :meth:`publish` frames, :meth:`stop` to end."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        controls: Controls | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
        quality: int = 80,
        first_frame_timeout: float = 5.0,
    ) -> None:
        self.hub = FrameHub()
        self.controls = controls
        self.status_fn = status
        self.quality = quality
        self.first_frame_timeout = first_frame_timeout
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as exc:
            raise OutputError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                "choose a free port, e.g. --serve 127.0.0.1:8080",
            ) from exc
        self._server.view = self
        if host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("browser view on %s:%d is reachable from the network, controls included", host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="edgecolor-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def publish(self, frame: np.ndarray) -> None:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        self.hub.publish(buf.tobytes())

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"controls": self.controls.describe() if self.controls else None}
        if self.status_fn is not None:
            status |= self.status_fn()
        return status

    def stop(self) -> None:
        self.hub.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
