"""What the browser view checks before it answers a request (threat model: a kiosk on a LAN, with a browser
on the kiosk itself that may open any web page).

- :class:`HostPolicy`: which ``Host`` names it answers (DNS rebinding: a hostile page whose name resolves to
  127.0.0.1 reaches the server, but its requests carry the hostile name), and which ``Origin`` may send
  control requests (cross-site request forgery: any page can POST to ``http://127.0.0.1:PORT``, but the
  browser adds its own ``Origin``).
- :class:`DeadlineReader`: the whole request (line, headers, body) must arrive within one deadline, not one
  timeout per ``recv`` (a client sending a byte every few seconds would hold its slot forever).
- :class:`Slots`: at most N connections at once, and at most M from one address.
- :func:`parse_address`: ``--serve PORT``, ``:PORT`` or ``HOST:PORT`` (IPv6 in brackets); :func:`view_urls`: the
  URLs that open the view, with this machine's real addresses in place of 0.0.0.0.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterable
from email.message import Message
from urllib.parse import urlsplit

from edgecolor.errors import InputError

DEFAULT_PORTS = {"http": 80, "https": 443}


SERVE_HELP = "e.g. --serve 8080 (this machine only), --serve :8080 (every network address) or --serve 127.0.0.1:8080"


def parse_address(value: str) -> tuple[str, int]:
    """``--serve`` -> ``(host, port)``, or :class:`InputError`. ``PORT`` binds 127.0.0.1 (the safe default: this
    machine only); ``:PORT`` binds every IPv4 address (0.0.0.0, as Go's ``:8080`` and ffmpeg's ``http://:8080``
    do); ``HOST:PORT`` binds HOST (``[::1]:8080``, ``[::]:8080`` for IPv6)."""
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,5}", text) and int(text) <= 65535:
        return "127.0.0.1", int(text)
    if re.fullmatch(r":[0-9]{1,5}", text) and int(text[1:]) <= 65535:
        return "0.0.0.0", int(text[1:])
    host, _, port = text.rpartition(":")
    host = host.strip()
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if not host or not re.fullmatch(r"[0-9]{1,5}", port) or int(port) > 65535 or any(c.isspace() for c in host):
        raise InputError(f"--serve {value[:100]} is not HOST:PORT, :PORT or PORT", SERVE_HELP)
    if ":" in host and not bracketed:
        raise InputError(f"--serve {value[:100]} is ambiguous", f"write an IPv6 address in brackets: [{host}]:{port}")
    return host, int(port)


def is_unspecified(host: str) -> bool:
    """Whether ``host`` means every address of this machine (0.0.0.0, ::): a bind address, never one to open."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def local_addresses(family: socket.AddressFamily = socket.AF_INET) -> list[str]:
    """This machine's addresses other devices may reach it on, best first: the source address of its default
    route (a UDP ``connect`` to a documentation address picks the route and sends nothing), then its host name's
    addresses. Loopback, link-local and unspecified addresses are left out; ``[]`` without a network."""
    found = []
    probe = "192.0.2.1" if family == socket.AF_INET else "2001:db8::1"
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((probe, 9))
        found.append(str(sock.getsockname()[0]))
    with contextlib.suppress(OSError):
        found += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, family,
                                                                   socket.SOCK_STREAM)]
    usable = []
    for address in dict.fromkeys(found):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # an IPv6 address with a %scope: link-local
            continue
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
            usable.append(address)
    return usable


def view_urls(host: str, port: int, token: str | None = None) -> list[str]:
    """The page URLs of a view bound on ``host:port`` (with ``?token=`` when one is set). For 0.0.0.0 or ``::``
    (every address): this machine's network addresses, then loopback; never the unspecified address itself,
    which no other device can open."""
    if is_unspecified(host):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        hosts = [*local_addresses(family), "::1" if family == socket.AF_INET6 else "127.0.0.1"]
    else:
        hosts = [host]
    query = f"?token={token}" if token else ""
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/{query}" for h in hosts]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def split_host(value: str | None, scheme: str = "http") -> tuple[str, int] | None:
    """``Host`` header value (``name[:port]``, ``[v6]:port``) -> ``(lower-case name, port)``, or None if
    malformed."""
    if not value or len(value) > 255 or any(c in value for c in "/\\@?#%") or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, DEFAULT_PORTS[scheme] if port is None else port


def split_origin(value: str | None) -> tuple[str, str, int] | None:
    """``Origin`` / ``Referer`` -> ``(scheme, name, port)`` of its origin; None for ``null`` or anything
    malformed."""
    if not value or len(value) > 2048:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or parts.username is not None or parts.password is not None:
        return None
    host = split_host(parts.netloc, parts.scheme)
    return None if host is None else (parts.scheme, *host)


class HostPolicy:
    """Same-origin only, plus an allow-list of host names (e.g. a reverse proxy's or the kiosk's DNS name).

    Answered ``Host`` names: IP literals (a rebinding attack needs a name it controls), ``localhost``, this
    machine's host name (and ``NAME.local``) when serving beyond loopback, and the allow-list.
    An ``Origin`` is accepted when it is the ``Host`` the request was sent to (same origin) or its name is
    on the allow-list."""

    def __init__(self, bound_host: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.allowed = frozenset(h.strip().strip("[]").lower() for h in allowed_hosts if h.strip())
        names = {"localhost"} | self.allowed
        if not is_loopback(bound_host):
            me = socket.gethostname().lower()
            names |= {me, f"{me}.local"}
        self.names = frozenset(names)

    def host_ok(self, host: tuple[str, int] | None) -> bool:
        return host is not None and (is_ip_literal(host[0]) or host[0] in self.names)

    def origin_ok(self, origin: str | None, host: tuple[str, int] | None) -> bool:
        """Whether ``origin`` (an ``Origin`` or ``Referer`` value) is the origin of ``http://HOST``, or its
        name is allow-listed (any scheme and port: a proxy in front may serve https)."""
        parts = split_origin(origin)
        if parts is None:
            return False
        scheme, name, port = parts
        return (scheme == "http" and (name, port) == host) or name in self.allowed

    def from_own_page(self, headers: Message, host: tuple[str, int] | None) -> bool:
        """Whether a request comes from the view's own page (or from no web page at all: curl, a script).

        Browsers send ``Origin`` with every POST; older ones at least ``Referer`` (unless suppressed) and
        newer ones ``Sec-Fetch-Site``. A request with none of them is not from a web page."""
        origin, referer = headers.get("Origin"), headers.get("Referer")
        if origin is not None:
            return self.origin_ok(origin, host)
        if referer is not None and not self.origin_ok(referer, host):
            return False
        return headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


class DeadlineReader(io.RawIOBase):
    """A socket as a raw stream whose reads all end at one deadline, and which reads at most ``limit`` bytes
    (then reports end of file). ``TimeoutError`` once the deadline has passed."""

    def __init__(self, sock: socket.socket, seconds: float, limit: int) -> None:
        self.sock, self.deadline, self.left = sock, time.monotonic() + seconds, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io's signature is loose
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        if self.left <= 0:
            return 0
        self.sock.settimeout(remaining)
        n = self.sock.recv_into(buffer, min(len(buffer), self.left))
        self.left -= n
        return n


class Slots:
    """Connection slots: ``acquire`` says why not (``"busy"``, ``"per address"``) or takes one."""

    def __init__(self, total: int, per_address: int) -> None:
        if total < 1 or per_address < 1:
            raise ValueError(f"slots must be >= 1, got {total} total, {per_address} per address")
        self.total, self.per_address = total, per_address
        self._lock = threading.Lock()
        self._by_address: dict[str, int] = {}

    def acquire(self, address: str) -> str:
        with self._lock:
            if sum(self._by_address.values()) >= self.total:
                return "busy"
            if self._by_address.get(address, 0) >= self.per_address:
                return "per address"
            self._by_address[address] = self._by_address.get(address, 0) + 1
            return ""

    def release(self, address: str) -> None:
        with self._lock:
            n = self._by_address.get(address, 0) - 1
            if n > 0:
                self._by_address[address] = n
            else:
                self._by_address.pop(address, None)

    @property
    def in_use(self) -> int:
        with self._lock:
            return sum(self._by_address.values())
