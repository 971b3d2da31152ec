"""The one JSON reader for everything that comes from outside: bounded in size and depth, typed on access;
and the one writer (:func:`dumps`: numpy values as JSON numbers).

Why: ``json.loads`` recurses once per nesting level, so 100,000 nested brackets in a model's metadata end
in ``RecursionError`` (or, below the limit, in later code that recurses again), and a field read as
``manifest["gate"]["psnr_vs_fp32_db"]`` is whatever the file says: a string, a list, ``NaN``.
:func:`loads` refuses deep or large documents before parsing (the depth is counted without recursion), and
:class:`Fields` hands out each field with the type the caller needs, or raises the caller's
:class:`~edgecolor.errors.EdgecolorError` naming the file and the field.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from edgecolor import inputs
from edgecolor.errors import EdgecolorError, InputError

MAX_DEPTH = 32  # edgecolor's own files nest 4 levels deep
MAX_BYTES = 16 << 20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_MISSING: Any = object()


def _plain(value: Any) -> Any:
    """What JSON cannot hold as it is: numpy numbers and arrays become JSON numbers and lists (``str`` made
    ``np.int64(1)`` the string ``"1"``); anything else (a path) its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def dumps(obj: Any, **options: Any) -> str:
    """The one JSON writer for what edgecolor prints and records (``--json``, manifests)."""
    return json.dumps(obj, default=_plain, **options)


def depth(text: str | bytes) -> int:
    """Deepest nesting of ``[``/``{`` outside string literals (linear time, no recursion)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    codes = np.frombuffer(_STRING.sub(b'""', raw), np.uint8)
    if codes.size == 0:
        return 0
    step = np.isin(codes, (0x5B, 0x7B)).astype(np.int32) - np.isin(codes, (0x5D, 0x7D)).astype(np.int32)
    return int(np.cumsum(step).max(initial=0))


def loads(text: str | bytes, what: str, error: type[EdgecolorError] = InputError, remedy: str = "",
          max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """Parse ``text``; too large, too deep, not JSON, or holding NaN/Infinity is ``error(what ...)``."""
    remedy = remedy or f"fix or rebuild {what}"
    if len(text) > max_bytes:
        raise error(f"{what} is larger than {max_bytes >> 20} MB", remedy)
    nesting = depth(text)
    if nesting > max_depth:
        raise error(f"{what} nests {nesting} levels deep (at most {max_depth})", remedy)

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        raise error(f"{what} is not valid JSON: {str(exc)[:120]}", remedy) from exc


def load(path: str | Path, what: str | None = None, error: type[EdgecolorError] = InputError, remedy: str = "",
         max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """:func:`loads` of a regular file (read through :func:`edgecolor.inputs.read_bytes`)."""
    what = what or str(path)
    try:
        data = inputs.read_bytes(path, what, max_bytes)
    except InputError as err:
        raise error(err.problem, remedy or err.remedy) from err
    return loads(data, what, error, remedy, max_depth, max_bytes)


class Fields:
    """Typed access to one JSON object: ``Fields(obj, "manifest e.json", ModelError, "rebuild it")``."""

    def __init__(self, obj: Any, what: str, error: type[EdgecolorError] = InputError, remedy: str = "") -> None:
        self.what, self.error, self.remedy = what, error, remedy or f"fix or rebuild {what}"
        if not isinstance(obj, dict):
            raise self.error(f"{what} is not a JSON object", self.remedy)
        self.raw: dict[str, Any] = obj

    def _bad(self, key: str, want: str) -> EdgecolorError:
        got = type(self.raw.get(key)).__name__
        return self.error(f"{self.what}: field '{key[:40]}' must be {want}, got {got}", self.remedy)

    def _get(self, key: str, default: Any) -> Any:
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key]
        if default is _MISSING:
            raise self.error(f"{self.what}: field '{key[:40]}' is missing", self.remedy)
        return default

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def number(self, key: str, default: Any = _MISSING, lo: float = -math.inf, hi: float = math.inf) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise self._bad(key, "a number" if math.isinf(lo) and math.isinf(hi) else f"a number in {lo:g}..{hi:g}")
        return float(value)

    def integer(self, key: str, default: Any = _MISSING, lo: int = -(2**63), hi: int = 2**63 - 1) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self._bad(key, "an integer" if hi == 2**63 - 1 else f"an integer in {lo}..{hi}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        return value if value is default else Fields(value, f"{self.what} '{key[:40]}'", self.error, self.remedy)

    def items(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def strings(self, key: str, default: Any = _MISSING) -> Any:
        value = self.items(key, default)
        if value is not default and not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return value
