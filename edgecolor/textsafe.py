"""Text that reaches a terminal or a log: names made printable, credentials taken out of URLs.

A file name may hold a newline, terminal escape sequences (``ESC [ 2 J`` clears the screen, OSC 8 draws a
fake link) or bytes that are not UTF-8 (Python keeps them as lone surrogates, which cannot be encoded for
printing). A source URL may hold ``user:password@``. Every message the CLI prints passes through
:func:`for_terminal` (see ``edgecolor.cli._common``), and library code names sources with
:func:`redact_url`, so the JSON ``source`` field never carries a password either.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional overrides and isolates reorder what a terminal shows ("Trojan Source"); zero-width and other
# format characters (category Cf) are kept: emoji sequences and some scripts need them.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@]*)(?::[^/\s]*)?@")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in _BIDI


def for_terminal(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters (newline and ESC included), lone surrogates from non-UTF-8 file names
    and bidirectional overrides written as visible escapes (``\\n``, ``\\x1b``, ``\\udcff``); credentials in
    URLs are redacted too. With ``keep_newlines``, ``\\n`` stays (for multi-line help text we wrote)."""
    text = redact_urls(text)
    return "".join(ch if (keep_newlines and ch == "\n") or not _unsafe(ch) else _escape(ch) for ch in text)


def one_line(text: str) -> str:
    """``text`` printable and on one line: a line break (in a file name or a library's message) is shown as
    ``\\n``, because it cannot be told apart from a name's own."""
    return for_terminal(str(text).strip())


def redact_url(url: str) -> str:
    """``rtsp://user:secret@cam/x`` -> ``rtsp://user:***@cam/x``; a URL without a password is unchanged
    (a bare user name stays: it helps to tell two cameras apart and is not a secret)."""
    return redact_urls(url)


def redact_urls(text: str) -> str:
    """:func:`redact_url` for every URL inside ``text`` (an error message from a library, a log line)."""

    def repl(m: re.Match[str]) -> str:
        has_password = ":" in m.group(0)[len(m["scheme"]):]
        return f"{m['scheme']}{m['user']}:***@" if has_password else m.group(0)

    return _USERINFO.sub(repl, text)
