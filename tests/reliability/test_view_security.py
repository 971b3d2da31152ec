"""Browser view security (issue 7, item 5; issue 11): control token, no path traversal, bounded clients, slow
clients, the health endpoint; Host and Origin, CSRF, one request per connection, hang-ups, IPv6.
Every server binds loopback (127.0.0.x, ::1) and is stopped by its fixture or test."""

from __future__ import annotations

import http.client
import json
import select
import socket
import struct
import threading
import time

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import InputError
from edgecolor.stream import http_view
from edgecolor.stream.controls import Controls, Style
from edgecolor.stream.http_view import BOUNDARY, HttpView, parse_address

from helpers import random_bgr, tiny_colorizer


def _controls() -> Controls:
    return Controls([Style("a", "a"), Style("b", "b")])


@pytest.fixture(scope="module")
def view():  # one server for the module: each stop() waits out a 0.2 s poll
    v = HttpView(controls=_controls(), token="s3cret", first_frame_timeout=0.2)
    yield v
    v.stop()


def request(view: HttpView, method: str, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """A raw request: ``http.client`` sends the path exactly as given (no dot-segment normalisation)."""
    host, port = view._server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


@pytest.mark.parametrize("headers, path, code", [
    ({}, "/control/next", 401),
    ({"X-Edgecolor-Token": "wrong"}, "/control/next", 403),
    ({"Authorization": "Bearer s3cre"}, "/control/next", 403),
    ({}, "/control/next?token=nope", 403),
    ({"X-Edgecolor-Token": "s3cret"}, "/control/next", 200),
    ({"Authorization": "Bearer s3cret"}, "/control/next", 200),
    ({}, "/control/next?token=s3cret", 200),
])
def test_controls_need_the_token(view, headers, path, code):
    before = view.controls.state.style
    status, body = request(view, "POST", path, headers)
    assert status == code
    assert view.controls.state.style == (before + 1) % 2 if code == 200 else view.controls.state.style == before
    if code != 200:
        assert "token" in json.loads(body)["error"]


def test_viewing_needs_no_token(view):
    view.publish(random_bgr(24, 32))
    assert request(view, "GET", "/frame.jpg")[0] == 200
    assert request(view, "GET", "/status")[0] == 200
    assert view.control_url.endswith("/?token=s3cret")


def test_a_non_loopback_address_gets_a_generated_token(monkeypatch):
    # Tests bind loopback only: pretend 127.0.0.1 is a LAN address to exercise the decision.
    monkeypatch.setattr(http_view, "is_loopback", lambda host: False)
    v = HttpView(controls=_controls())
    try:
        assert v.token and len(v.token) >= 16 and v.control_url.endswith(v.token)
        assert request(v, "POST", "/control/next")[0] == 401
        assert request(v, "POST", "/control/next", {"X-Edgecolor-Token": v.token})[0] == 200
    finally:
        v.stop()
    monkeypatch.undo()
    plain = HttpView(controls=_controls())
    try:  # loopback without --token: no token, controls open (the documented default)
        assert plain.token is None and request(plain, "POST", "/control/next")[0] == 200
    finally:
        plain.stop()
    assert http_view.is_loopback("::1") and http_view.is_loopback("127.3.4.5") and not http_view.is_loopback("0.0.0.0")
    assert not http_view.is_loopback("192.168.1.20") and not http_view.is_loopback("kiosk.local")


TRAVERSAL = ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd",
             "/frame.jpg/../../../etc/passwd", "/static/../../../../etc/passwd", "/status/..%5c..%5cwin.ini",
             "/./stream.mjpg/../../etc/shadow", "/index.html%00.jpg"]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_no_path_traversal(view, path):
    status, body = request(view, "GET", path)
    assert status == 404 and b"root:" not in body and b"passwd" not in body
    status, body = request(view, "POST", "/control/.." + path, {"X-Edgecolor-Token": "s3cret"})
    assert status == 404 and b"root:" not in body


def test_clients_are_bounded_and_slots_come_back():
    v = HttpView(controls=_controls(), max_clients=2, first_frame_timeout=0.2)
    host, port = v._server.server_address[:2]
    try:
        streams = [socket.create_connection((host, port), timeout=5) for _ in range(2)]
        for s in streams:
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        assert request(v, "GET", "/status")[0] == 503  # a third client is refused at once
        streams.pop().close()  # no frame is published: the server must notice the hang-up by itself
        deadline = time.monotonic() + 3
        while request(v, "GET", "/status")[0] != 200:  # the freed slot is reused
            assert time.monotonic() < deadline
            time.sleep(0.05)
        streams[0].close()
    finally:
        v.stop()


def test_a_slow_client_never_stalls_publishing(view):
    host, port = view._server.server_address[:2]
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, port))
    stuck.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # ... and never reads
    got: list[int] = []

    def reader() -> None:  # a normal client alongside it
        conn = socket.create_connection((host, port), timeout=0.5)
        conn.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        end = time.monotonic() + 2
        try:
            while time.monotonic() < end:
                got.append(len(conn.recv(65536)))
        except TimeoutError:
            pass  # publishing ended
        conn.close()

    thread = threading.Thread(target=reader)
    thread.start()
    frames = [np.ascontiguousarray(random_bgr(240, 320, seed=k)) for k in range(4)]  # noise: ~100 kB JPEGs
    times = []
    end = time.monotonic() + 2
    while time.monotonic() < end:
        t = time.perf_counter()
        view.publish(frames[len(times) % 4])
        times.append(time.perf_counter() - t)
        time.sleep(0.01)
    thread.join()
    stuck.close()
    # Megabytes were published while the stuck client's buffers were full: publishing stayed encode-bound
    assert len(times) > 50 and max(times) < 0.25, (len(times), max(times))
    assert sum(got) > 1_000_000  # the normal client kept receiving


def test_health_endpoint():
    view = HttpView(stale_after_s=0.3)
    try:
        status, body = request(view, "GET", "/healthz")
        assert status == 503 and json.loads(body)["last_frame_age_s"] is None
        view.publish(random_bgr(24, 32))
        status, body = request(view, "GET", "/healthz")
        assert status == 200 and json.loads(body)["ok"] is True
        time.sleep(0.4)
        assert request(view, "GET", "/healthz")[0] == 503  # frames stopped: pipeline stuck or source gone
    finally:
        view.stop()


@pytest.mark.parametrize("text, expect", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:80", ("::1", 80)), ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("kiosk.local:65535", ("kiosk.local", 65535)),
    ("8080", ("127.0.0.1", 8080)),  # a bare port: this machine only, the safe default
    (":8080", ("0.0.0.0", 8080)),  # an empty host: every address (Go's and ffmpeg's spelling)
    ("[::]:8080", ("::", 8080)),
])
def test_parse_address(text, expect):
    assert parse_address(text) == expect


@pytest.mark.parametrize("text", ["host:", "host:65536", "host:８０", "host:²", "a b:80", "h:-1", "65536", ":65536",
                                  "８０８０", ":"])
def test_parse_address_refuses(text):
    with pytest.raises(InputError, match="not HOST:PORT"):
        parse_address(text)


def test_cli_prints_the_control_url_with_the_token(tmp_path):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), random_bgr(16, 16))
    model = tiny_colorizer(tmp_path / "t.onnx")
    res = CliRunner().invoke(app, ["run", "--model", str(model), "--source", str(img), "--serve", "127.0.0.1:0",
                                   "--token", "kiosk-42", "--sink", "null", "--max-frames", "1"])
    assert res.exit_code == 0, res.output
    assert "browser view: http://127.0.0.1:" in res.output and "/?token=kiosk-42" in res.output


# --- issue 11: same origin only, CSRF, one request per connection, slow clients, hang-ups, IPv6 ----------------

def raw(view: HttpView, data: bytes, source: str | None = None, wait: float = 3.0, until: bytes = b"") -> bytes:
    """Send ``data`` as is and read until the server closes or ``until`` arrives (bounded by ``wait``)."""
    host, port = view.address
    conn = socket.create_connection((host, port), timeout=wait, source_address=(source, 0) if source else None)
    try:
        conn.sendall(data)
        got, end = b"", time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            conn.settimeout(left)
            try:
                chunk = conn.recv(65536)
            except TimeoutError:  # a stream never ends by itself
                break
            got += chunk
            if not chunk or (until and until in got):
                break
        return got
    finally:
        conn.close()


def code_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


@pytest.fixture
def open_view():  # loopback without a token: the documented default, where CSRF used to work
    v = HttpView(controls=_controls(), first_frame_timeout=0.2, allowed_hosts=["kiosk.example"])
    v.publish(random_bgr(24, 32))
    yield v
    v.stop()


@pytest.mark.parametrize("host, code", [
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("LOCALHOST:{port}", 200), ("127.0.0.1", 200),
    ("[::1]:{port}", 200), ("kiosk.example:{port}", 200),                       # IP literals, localhost, allow-list
    ("evil.example:{port}", 403), ("evil.example", 403), ("127.0.0.1.nip.io:{port}", 403),  # DNS rebinding
    ("localhost.evil.example:{port}", 403), ("user@127.0.0.1:{port}", 403), ("127.0.0.1:{port}/x", 403),
    ("127.0.0.1:99999", 403), ("", 403), (None, 403),                             # malformed or missing (HTTP/1.1)
])
def test_host_header_is_checked(open_view, host, code):
    port = open_view.address[1]
    head = "" if host is None else f"Host: {host.format(port=port)}\r\n"
    for path in ("/frame.jpg", "/status", "/stream.mjpg"):
        until = b"\r\n\r\n--" + BOUNDARY.encode() if path == "/stream.mjpg" else b""  # a stream never ends
        got = raw(open_view, f"GET {path} HTTP/1.1\r\n{head}\r\n".encode(), until=until)
        assert code_of(got) == code, (path, got[:200])
        if code != 200:
            assert b"\xff\xd8" not in got and b"controls" not in got  # no frame, no status leaked


def test_http10_without_host_is_served(open_view):
    assert code_of(raw(open_view, b"GET /status HTTP/1.0\r\n\r\n")) == 200


@pytest.mark.parametrize("headers, code", [
    ({}, 200),                                                     # curl or a script on the kiosk: no web page
    ({"Origin": "http://127.0.0.1:{port}"}, 200),                  # the view's own page
    ({"Origin": "http://kiosk.example"}, 200),                     # allow-listed
    ({"Referer": "http://127.0.0.1:{port}/"}, 200),
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({"Origin": "http://evil.example"}, 403),                      # fetch() or a form on any other page
    ({"Origin": "null"}, 403),                                     # sandboxed iframe, data: or file: page
    ({"Origin": "http://127.0.0.1:1"}, 403),                       # another port on the same host
    ({"Origin": "https://127.0.0.1:{port}"}, 403),
    ({"Origin": "http://localhost:{port}"}, 403),                  # not the Host the request was sent to
    ({"Referer": "http://evil.example/page"}, 403),                # older browsers: no Origin
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Origin": "http://evil.example", "X-Edgecolor-Token": "anything"}, 403),
])
def test_controls_refuse_other_web_pages_even_on_loopback(open_view, headers, code):
    port = open_view.address[1]
    headers = {k: v.format(port=port) for k, v in headers.items()}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    before = open_view.controls.state
    for action in ("next", "quit"):
        body = "a=1"
        req = (f"POST /control/{action} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
               f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        if code == 200 and action == "quit":
            break  # the allowed requests are not asked to stop the module's view
        assert code_of(raw(open_view, req.encode())) == code
    after = open_view.controls.state
    assert (after.version > before.version) if code == 200 else (after == before)
    assert not open_view.controls.quit_event.is_set()


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_controls_are_post_only(open_view, method):
    port = open_view.address[1]
    before = open_view.controls.state
    got = raw(open_view, f"{method} /control/quit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert code_of(got) in (405, 501) and open_view.controls.state == before
    assert not open_view.controls.quit_event.is_set()


SMUGGLED = "POST /control/quit HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("name, request_text, code", [
    ("body holds a second request", "POST /control/next HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
     "Content-Length: {n}\r\n\r\n" + SMUGGLED, 200),
    ("pipelined after a GET", "GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n" + SMUGGLED, 200),
    ("chunked body", "POST /control/next HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n" + SMUGGLED, 501),
    ("two Content-Lengths", "POST /control/next HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n"
     "Content-Length: {n}\r\n\r\n" + SMUGGLED, 400),
    ("negative Content-Length", "POST /control/next HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: -1\r\n"
     "\r\n" + SMUGGLED, 400),
    ("body over the limit", "POST /control/next HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 9999999\r\n"
     "\r\n" + SMUGGLED, 413),
])
def test_one_request_per_connection(open_view, name, request_text, code):
    port = open_view.address[1]
    smuggled = SMUGGLED.format(port=port)
    got = raw(open_view, request_text.format(port=port, n=len(smuggled)).encode())
    assert code_of(got) == code, (name, got[:300])
    assert got.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in got  # one answer, then the server hangs up
    assert not open_view.controls.quit_event.is_set(), name


def test_a_slow_header_client_is_cut_off_at_the_deadline():
    v = HttpView(header_timeout=0.5)
    host, port = v.address
    try:
        conn = socket.create_connection((host, port), timeout=2)
        conn.sendall(b"GET /status HTTP/1.1\r\n")
        t0, closed = time.monotonic(), False
        while time.monotonic() - t0 < 3 and not closed:  # one header byte every 0.1 s: never a 10 s gap
            try:
                conn.sendall(b"X")
                readable, _, _ = select.select([conn], [], [], 0.1)
                closed = bool(readable) and conn.recv(4096) == b""
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        assert closed and time.monotonic() - t0 < 1.5
        conn.close()
    finally:
        v.stop()


def test_slow_clients_from_one_address_cannot_take_every_slot():
    """The issue's case: 8 clients trickling headers held all 8 slots and everyone else got 503."""
    v = HttpView(first_frame_timeout=0.2)
    host, port = v.address
    slow = []
    try:
        replies = []
        for _ in range(8):
            s = socket.create_connection((host, port), timeout=2, source_address=("127.0.0.2", 0))
            s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and the headers never end
            slow.append(s)
        per_address = v._server.slots.per_address
        assert per_address < 8
        for s in slow[per_address:]:  # beyond the per-address limit: refused at once
            replies.append(code_of(s.recv(64)))
        assert replies == [429] * (8 - per_address)
        for source in ("127.0.0.1", "127.0.0.3"):  # everyone else is still served
            got = raw(v, f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(), source=source)
            assert code_of(got) == 200, source
    finally:
        for s in slow:
            s.close()
        v.stop()


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    conn.close()


@pytest.mark.parametrize("kind", ["snapshot", "stream", "page", "half request"])
def test_client_hang_ups_are_quiet(capfd, kind):
    v = HttpView(first_frame_timeout=0.2)
    v.publish(np.ascontiguousarray(random_bgr(1080, 1920)))  # noise: a JPEG of megabytes, larger than buffers
    host, port = v.address
    path = {"snapshot": "/frame.jpg", "stream": "/stream.mjpg", "page": "/", "half request": "/status"}[kind]
    end = "" if kind == "half request" else "\r\n"
    try:
        for _ in range(5):
            conn = socket.create_connection((host, port), timeout=2)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{end}".encode())
            if kind == "stream":
                conn.recv(64)
                v.publish(np.ascontiguousarray(random_bgr(1080, 1920, seed=1)))
            _reset(conn)
        deadline = time.monotonic() + 5
        while v._server.slots.in_use and time.monotonic() < deadline:  # every handler has finished
            time.sleep(0.05)
        assert v._server.slots.in_use == 0
    finally:
        v.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Broken" not in err and "Exception" not in err, err[-2000:]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_serve_on_ipv6_loopback(tmp_path):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), random_bgr(16, 16))
    model = tiny_colorizer(tmp_path / "t.onnx")
    res = CliRunner().invoke(app, ["run", "--model", str(model), "--source", str(img), "--serve", "[::1]:0",
                                   "--sink", "null", "--max-frames", "1"])
    assert res.exit_code == 0, res.output
    assert "browser view: http://[::1]:" in res.output
    v = HttpView("::1", 0)
    try:
        assert v.token is None and v.url.startswith("http://[::1]:")
        status, _ = request(v, "GET", "/status", {"Host": f"[::1]:{v.address[1]}"})
        assert status == 200
    finally:
        v.stop()


def test_parse_address_wants_brackets_for_ipv6():
    with pytest.raises(InputError, match="ambiguous"):
        parse_address("::1:8080")
