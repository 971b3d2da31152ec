"""Browser view: the live output as MJPEG over HTTP, plus the live controls as endpoints (kiosk mode).

Standard library only (``http.server`` + threads). Security model (a kiosk: curious visitors on the LAN, and a
browser on the kiosk that may open any web page); the request checks live in :mod:`edgecolor.stream.http_guard`:

- Binds 127.0.0.1 unless told otherwise (``[::1]`` for IPv6). On any non-loopback address the control
  endpoints need a token (``--token``, or one generated and printed at start); it is sent as
  ``X-Edgecolor-Token``, ``Authorization: Bearer``, or ``?token=`` (the page passes its own ``?token=`` on).
- Same origin only: a ``Host`` that is not an IP literal, ``localhost``, this machine's name or on the
  allow-list (``--allow-host``) gets 403 (DNS rebinding); so does any request whose ``Origin`` is not the
  ``Host`` it was sent to. Controls are ``POST`` only, and a browser request for one must come from the
  view's own page (``Origin``, else ``Referer``, else ``Sec-Fetch-Site``) even on loopback without a token:
  any other web page's request (CSRF) is refused.
- One request per connection, read within ``header_timeout`` seconds in all (not per byte), at most
  ``MAX_BODY`` bytes of body, read and dropped: a body holding a second request is never executed.
- At most ``max_clients`` connections at once and ``max_per_address`` from one address; more are refused at
  once (503 / 429). Every socket has a send/receive timeout, and frames are handed to clients through
  :class:`FrameHub` (latest frame only), so a slow or stuck client delays only its own thread, never the
  pipeline. Clients hanging up are logged at debug level, never as tracebacks.
- Exact routes only: no file is ever served from disk, so there is nothing to traverse to.

Routes:
  ``GET /``                 page showing the stream, a status line, buttons and keys (:mod:`.http_page`)
  ``GET /stream.mjpg``      ``multipart/x-mixed-replace`` JPEG stream (any browser, VLC, ffplay)
  ``GET /frame.jpg``        the latest frame as one JPEG
  ``GET /status``           JSON: controls state and live pipeline statistics
  ``GET /healthz``          200 while frames arrive (last one < ``stale_after_s`` ago), else 503
  ``POST /control/ACTION``  ``next`` | ``prev`` | ``split`` | ``stabilize`` | ``quit`` -> JSON state
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import io
import json
import logging
import re
import secrets
import select
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from edgecolor.errors import OutputError
from edgecolor.imageio import is_bgr_frame
from edgecolor.stream.controls import ACTIONS, Controls
from edgecolor.stream.http_guard import (  # noqa: F401 - parse_address: part of this module's interface
    DeadlineReader,
    HostPolicy,
    Slots,
    is_loopback,
    parse_address,
    split_host,
    view_urls,
)
from edgecolor.stream.http_page import render_page

log = logging.getLogger(__name__)

BOUNDARY = "edgecolorframe"
MAX_BODY = 64 * 1024  # control requests carry no body; anything larger is refused
CONTROL = "/control/"
# The page runs only its own inline script and loads only from this server; no other site may frame it.
CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"


class FrameHub:
    """The latest frame, and a condition that wakes every stream client when a new one arrives.

    Frames are JPEG-encoded on demand, once each: by the first client that asks for that frame, and the bytes
    are shared with every other client. A view nobody watches encodes nothing, and a client slower than the
    pipeline (a browser across Wi-Fi) costs one encode per frame it takes, not one per frame published."""

    def __init__(self, encode: Callable[[np.ndarray], bytes]) -> None:
        self._cond = threading.Condition()
        self._encode, self._encoding = encode, threading.Lock()
        self._image: np.ndarray | None = None
        self._seq = 0
        self._jpeg: tuple[int, bytes] | None = None  # the newest encoded frame and its number
        self.encode_ms: collections.deque[float] = collections.deque(maxlen=10_000)  # the bench's stage split
        self.published_at: float | None = None  # time.monotonic() of the latest frame
        self.closed = False

    def publish(self, image: np.ndarray) -> None:
        """Make ``image`` the latest frame; it is kept (not copied) until the next, so it must not change."""
        with self._cond:
            self._image, self._seq = image, self._seq + 1
            self.published_at = time.monotonic()
            self._cond.notify_all()

    @property
    def published(self) -> int:
        """How many frames were published (no encoding)."""
        with self._cond:
            return self._seq

    def latest(self) -> tuple[int, bytes | None]:
        with self._cond:
            seq, image = self._seq, self._image
        return self._encoded(seq, image)

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, bytes | None]:
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self.closed, timeout)
            seq, image = self._seq, self._image
        return self._encoded(seq, image)

    def _encoded(self, seq: int, image: np.ndarray | None) -> tuple[int, bytes | None]:
        """``(number, JPEG)`` of frame ``seq``, or of a newer one another client encoded meanwhile."""
        if image is None:
            return seq, None
        with self._encoding:  # one encode per frame, whichever client asks first
            if self._jpeg is None or self._jpeg[0] < seq:
                t = time.perf_counter()
                self._jpeg = (seq, self._encode(image))
                self.encode_ms.append((time.perf_counter() - t) * 1000)
            return self._jpeg

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10.0  # socket timeout while answering: a client that stops reading is dropped after this

    def setup(self) -> None:
        super().setup()
        # One deadline for the whole request: a client trickling its headers byte by byte is cut off after
        # header_timeout, whatever the gap between bytes.
        raw = DeadlineReader(self.connection, self.server.view.header_timeout, limit=128 * 1024)
        self.rfile = io.BufferedReader(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug("%s " + format, self.address_string(), *args)

    def parse_request(self) -> bool:
        """The stdlib's parsing, then: one request per connection, Host and Origin checked, the body (if any)
        read and dropped, so bytes after this request are never taken as another request."""
        if not super().parse_request():
            return False
        self.close_connection = True
        view = self.server.view
        self._host = split_host(self.headers.get("Host"))
        if self.headers.get("Host") is None and self.request_version == "HTTP/1.0":
            self._host = None  # HTTP/1.0 may omit it; no browser does
        elif not view.policy.host_ok(self._host):
            self._json(403, {"error": "host not allowed", "hint": "open the view by its address, or --allow-host"})
            return False
        origin = self.headers.get("Origin")
        if origin is not None and not view.policy.origin_ok(origin, self._host):
            self._json(403, {"error": "cross-origin request refused"})
            return False
        if self.headers.get("Transfer-Encoding") is not None:
            self._json(501, {"error": "Transfer-Encoding is not supported"})
            return False
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1 or (lengths and not re.fullmatch(r"[0-9]{1,9}", lengths[0])):
            self._json(400, {"error": "bad Content-Length"})
            return False
        length = int(lengths[0]) if lengths else 0
        if length > MAX_BODY:
            self._json(413, {"error": f"request body over {MAX_BODY} bytes"})
            return False
        if length and len(self.rfile.read(length)) < length:
            return False  # the client hung up mid-body
        self.connection.settimeout(self.timeout)  # the deadline was for the request; answering has its own
        return True

    def _send(self, code: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: object, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json", headers)

    def _route(self) -> str:
        return urlsplit(self.path).path

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        view = self.server.view
        route = self._route()
        if route in ("/", "/index.html"):
            self._send(200, render_page().encode(), "text/html; charset=utf-8",
                       {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"})
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
        elif route.startswith(CONTROL):
            self._json(405, {"error": "controls are POST only"}, {"Allow": "POST"})
        else:
            self._json(404, {"error": "no such route"})

    def do_POST(self) -> None:  # noqa: N802
        view = self.server.view
        route = self._route()
        if not route.startswith(CONTROL):
            self._json(404, {"error": "no such route"})
            return
        denied = view.control_denied(self._token(), self.headers, self._host)
        if denied:
            self._json(401 if denied == "control token missing" else 403, {"error": denied})
            return
        action = route[len(CONTROL) :]
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
        seq = 0
        with view.streaming():
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must never keep the process alive
    view: HttpView
    slots: Slots

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's fully qualified name (a DNS query nothing here uses)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        refused = self.slots.acquire(client_address[0])
        if refused:  # bounded clients: refuse at once, never queue
            status = "503 Service Unavailable" if refused == "busy" else "429 Too Many Requests"
            with contextlib.suppress(OSError):
                request.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release(client_address[0])
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(client_address[0])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or stops reading is normal on a kiosk: one debug line, no traceback on
        stderr (the stdlib prints one). Anything else is a bug: logged with its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("client %s left: %s", client_address[0], exc)
        else:
            log.exception("browser view: request from %s failed", client_address[0])


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
        max_clients: int = 16,
        stale_after_s: float = 5.0,
        allowed_hosts: Iterable[str] = (),
        max_per_address: int = 6,  # a kiosk tab holds 1-3 (stream, status poll, a control)
        header_timeout: float = 5.0,
    ) -> None:
        self.hub = FrameHub(self._jpeg)
        self.token = token or (None if is_loopback(host) else secrets.token_urlsafe(16))
        self.policy = HostPolicy(host, allowed_hosts)
        self.stale_after_s = stale_after_s
        self.controls = controls
        self.status_fn = status
        self.quality = quality
        self.first_frame_timeout = first_frame_timeout
        self.header_timeout = header_timeout
        self.server_id = secrets.token_hex(4)  # the page reopens its stream when this changes (a restart)
        self._streams = 0
        self._streams_lock = threading.Lock()
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            self._server = _Server((host, port), family)
        except OSError as exc:
            raise OutputError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                "choose a free port, e.g. --serve 8080 (this machine) or --serve :8080 (the network)",
            ) from exc
        self._server.view = self
        self._server.slots = Slots(max_clients, max_per_address)
        if not is_loopback(host):
            log.warning("browser view on %s:%d is reachable from the network; controls need the token",
                        *self.address)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="edgecolor-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The page URL (bound on every address: this machine's first network address, else loopback)."""
        return view_urls(*self.address)[0]

    @property
    def control_urls(self) -> list[str]:
        """The page URLs with the control token (what the operator opens; the plain URLs when none is needed):
        the bound address, or bound on every address, each network address of this machine, then loopback."""
        return view_urls(*self.address, token=self.token)

    @property
    def control_url(self) -> str:
        return self.control_urls[0]

    def check_token(self, given: str | None) -> str:
        """``""`` when the control request may proceed, else ``"missing"`` or ``"wrong"``."""
        if self.token is None:
            return ""
        if not given:
            return "missing"
        return "" if hmac.compare_digest(given.encode(), self.token.encode()) else "wrong"

    def control_denied(self, token: str | None, headers: Message, host: tuple[str, int] | None) -> str:
        """Why a control request is refused, or ``""``: not from this view's page, or the token is off."""
        if not self.policy.from_own_page(headers, host):
            return "cross-origin request refused"
        denied = self.check_token(token)
        return f"control token {denied}" if denied else ""

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Counts the open streams while a handler streams."""
        with self._streams_lock:
            self._streams += 1
        try:
            yield
        finally:
            with self._streams_lock:
                self._streams -= 1

    @property
    def stream_clients(self) -> int:
        with self._streams_lock:
            return self._streams

    def health(self) -> dict[str, Any]:
        at = self.hub.published_at
        age = None if at is None else round(time.monotonic() - at, 3)
        return {"ok": age is not None and age <= self.stale_after_s, "last_frame_age_s": age,
                "frames_published": self.hub.published}

    def publish(self, frame: np.ndarray) -> None:
        """Show ``frame`` (uint8 BGR) next; it is JPEG-encoded when a client asks (:class:`FrameHub`), so it is
        kept as it is until the next frame and must not be changed. Checked here, on the caller's thread."""
        if not is_bgr_frame(frame):
            raise ValueError(f"the view shows uint8 HxWx3 BGR frames, got {getattr(frame, 'dtype', type(frame))}"
                             f"{getattr(frame, 'shape', '')}")
        self.hub.publish(frame)

    def _jpeg(self, frame: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"controls": self.controls.describe() if self.controls else None,
                                  "server": self.server_id, "stream_clients": self.stream_clients}
        if self.status_fn is not None:
            status |= self.status_fn()
        return status

    def stop(self) -> None:
        self.hub.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
