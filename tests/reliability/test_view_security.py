"""Browser view security (issue 7, item 5): control token, no path traversal, bounded clients, slow clients,
and the health endpoint. Every server binds 127.0.0.1 and is stopped by its fixture."""

from __future__ import annotations

import http.client
import json
import socket
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
from edgecolor.stream.http_view import HttpView, parse_address

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
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
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
    stuck.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")  # ... and never reads
    got: list[int] = []

    def reader() -> None:  # a normal client alongside it
        conn = socket.create_connection((host, port), timeout=0.5)
        conn.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
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
])
def test_parse_address(text, expect):
    assert parse_address(text) == expect


@pytest.mark.parametrize("text", ["8080", ":8080", "host:", "host:65536", "host:８０", "host:²", "a b:80", "h:-1"])
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
