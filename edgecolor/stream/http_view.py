"""Browser view: the live output as MJPEG over HTTP, plus the live controls as endpoints (kiosk mode).

Standard library only (``http.server`` + threads). Security model (kiosk: curious visitors on the LAN):

- Binds 127.0.0.1 unless told otherwise. On any non-loopback address the control endpoints need a token
  (``--token``, or one generated and printed at start); it is sent as ``X-Edgecolor-Token``,
  ``Authorization: Bearer``, or ``?token=`` (the page passes its own ``?token=`` on). Viewing needs none.
- Exact routes only: no file is ever served from disk, so there is nothing to traverse to.
- At most ``max_clients`` connections at once; more get 503 at once. Every socket has a send/receive
  timeout, and frames are handed to clients through :class:`FrameHub` (latest frame only), so a slow or
  stuck client delays only its own thread, never the pipeline.

Routes:
  ``GET /``                 page showing the stream, with buttons and keys for the controls
  ``GET /stream.mjpg``      ``multipart/x-mixed-replace`` JPEG stream (any browser, VLC, ffplay)
  ``GET /frame.jpg``        the latest frame as one JPEG
  ``GET /status``           JSON: controls state and pipeline statistics
  ``GET /healthz``          200 while frames arrive (last one < ``stale_after_s`` ago), else 503
  ``POST /control/ACTION``  ``next`` | ``prev`` | ``split`` | ``stabilize`` | ``quit`` -> JSON state
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from edgecolor.errors import InputError, OutputError
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
const token = new URLSearchParams(location.search).get("token") || "";
function control(action) { fetch("/control/" + action, {method: "POST", headers: {"X-Edgecolor-Token": token}}); }
const keys = {n: "next", "]": "next", p: "prev", "[": "prev", s: "split", t: "stabilize", q: "quit"};
document.addEventListener("keydown", (e) => { if (keys[e.key]) control(keys[e.key]); });
</script></body></html>
"""


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) -> ``(host, port)``, or :class:`InputError`."""
    host, _, port = value.rpartition(":")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535 or any(c.isspace() for c in host):
        raise InputError(f"--serve {value[:100]} is not HOST:PORT", "e.g. --serve 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FrameHub:
    """The latest encoded frame, and a condition that wakes every stream client when a new one arrives."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._seq = 0
        self.published_at: float | None = None  # time.monotonic() of the latest frame
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self._cond:
            self._jpeg, self._seq = jpeg, self._seq + 1
            self.published_at = time.monotonic()
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
    timeout = 10.0  # socket timeout: a client that stops reading is dropped after this, freeing its slot

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

    def _route(self) -> str:
        return urlsplit(self.path).path

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        view = self.server.view
        route = self._route()
        if route in ("/", "/index.html"):
            buttons = "".join(f"<button onclick=\"control('{a}')\">{a}</button>" for a in ACTIONS)
            page = PAGE.replace("%BUTTONS%", buttons).replace("%KEYS%", KEY_HELP)
            self._send(200, page.encode(), "text/html; charset=utf-8")
        elif route == "/frame.jpg":
            _, jpeg = view.hub.wait_newer(0, view.first_frame_timeout)
            if jpeg is None:
                self._json(503, {"error": "no frame yet"})
            else:
                self._send(200, jpeg, "image/jpeg")
        elif route == "/stream.mjpg":
            self._stream(view)
        elif route == "/status":
            self._json(200, view.status())
        elif route == "/healthz":
            health = view.health()
            self._json(200 if health["ok"] else 503, health)
        else:
            self._json(404, {"error": "no such route"})

    def do_POST(self) -> None:  # noqa: N802
        view = self.server.view
        route, prefix = self._route(), "/control/"
        if not route.startswith(prefix):
            self._json(404, {"error": "no such route"})
            return
        denied = view.check_token(self._token())
        if denied:
            self._json(401 if denied == "missing" else 403, {"error": f"control token {denied}"})
            return
        action = route[len(prefix) :]
        if view.controls is None:
            self._json(503, {"error": "this view has no controls"})
        elif action not in ACTIONS:
            self._json(404, {"error": "unknown control", "controls": list(ACTIONS)})
        else:
            view.controls.apply(action)
            self._json(200, view.controls.describe())

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        if self.headers.get("X-Edgecolor-Token"):
            return self.headers["X-Edgecolor-Token"]
        query = parse_qs(urlsplit(self.path).query).get("token")
        return query[0] if query else None

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

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
                    if self._client_gone():  # free the slot even while no frames come
                        break
                    continue
                seq = new_seq
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            log.debug("stream client %s left (or stopped reading)", self.address_string())


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive
    view: HttpView
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # bounded clients: refuse at once, never queue
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


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
        token: str | None = None,
        max_clients: int = 8,
        stale_after_s: float = 5.0,
    ) -> None:
        self.hub = FrameHub()
        self.token = token or (None if is_loopback(host) else secrets.token_urlsafe(16))
        self.stale_after_s = stale_after_s
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
        self._server.slots = threading.BoundedSemaphore(max_clients)
        if not is_loopback(host):
            log.warning("browser view on %s:%d is reachable from the network; controls need the token", host, port)
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

    @property
    def control_url(self) -> str:
        """The page URL with the control token (what the operator opens); the plain URL when none is needed."""
        return self.url + (f"?token={self.token}" if self.token else "")

    def check_token(self, given: str | None) -> str:
        """``""`` when the control request may proceed, else ``"missing"`` or ``"wrong"``."""
        if self.token is None:
            return ""
        if not given:
            return "missing"
        return "" if hmac.compare_digest(given.encode(), self.token.encode()) else "wrong"

    def health(self) -> dict[str, Any]:
        at = self.hub.published_at
        age = None if at is None else round(time.monotonic() - at, 3)
        return {"ok": age is not None and age <= self.stale_after_s, "last_frame_age_s": age,
                "frames_published": self.hub.latest()[0]}

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
