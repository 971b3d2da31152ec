"""Option values as trtexec users write them: times with a unit (``200ms``, ``3s``) and comma lists.

A plain number is the option's documented unit (seconds for ``--warmup`` and ``--duration``: edgecolor's
unit since its first bench; trtexec's ``--warmUp`` is in ms, so ``200ms`` says it without guessing).
Bounds are checked afterwards by the one numeric validator (:func:`edgecolor.cli._numbers.bounded`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from edgecolor.errors import InputError

T = TypeVar("T")

_TIME = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|[-+]?inf|nan)\s*(ms|s)?\s*", re.IGNORECASE)
_SCALE = {"ms": 1e-3, "s": 1.0, None: 1.0}


def parse_seconds(text: str, option: str) -> float:
    """``"200ms"`` -> 0.2, ``"3s"`` / ``"3"`` -> 3.0 (``nan``/``inf`` pass through for the bounds check)."""
    m = _TIME.fullmatch(text)
    if m is None:
        raise InputError(f"{option} '{text[:40]}' is not a time", f"give seconds ({option} 2) or a unit: "
                                                                  f"{option} 200ms, {option} 3s")
    return float(m.group(1)) * _SCALE[m.group(2).lower() if m.group(2) else None]


def comma_list(text: str, item: Callable[[str], T], option: str, what: str, example: str) -> list[T]:
    """``"a, b,a"`` -> ``[item("a"), item("b")]``, the one reading of every bench list option (resolutions, modes,
    sinks, percentiles, stream counts): items in the order given, blanks and repeats dropped. An item that
    ``item`` refuses with ValueError (``what`` says what one must be), or no item at all, is a one-line
    InputError with ``example``; ``item`` may raise its own InputError instead."""
    values: list[T] = []
    for raw in (t.strip() for t in text.split(",")):
        if not raw:
            continue
        try:
            value = item(raw)
        except ValueError:
            raise InputError(f"{option} '{raw[:30]}' is not {what}", f"e.g. {option} {example}") from None
        if value not in values:
            values.append(value)
    if not values:
        raise InputError(f"{option} is empty", f"e.g. {option} {example}")
    return values


def parse_percentiles(text: str) -> list[float]:
    """``"50,90,99,99.9"`` -> ``[50.0, 90.0, 99.0, 99.9]`` in the order given, duplicates dropped."""
    return comma_list(text, float, "--percentile", "a number", "50,90,99")


def parse_choices(text: str, allowed: tuple[str, ...], option: str, what: str) -> list[str]:
    """``"engine,pipeline"`` -> the named choices in the order given; an unknown one is an InputError."""
    def known(name: str) -> str:
        if name not in allowed:
            raise InputError(f"unknown {what} '{name[:30]}'", f"use one or more of: {', '.join(allowed)}")
        return name

    return comma_list(text, known, option, what, ",".join(allowed))


def percentile_key(p: float) -> str:
    """JSON key of a percentile: ``p99``, ``p99.9``."""
    return f"p{p:g}"


def too_few_samples(samples: int, p: float) -> bool:
    """Whether the ``p`` percentile of ``samples`` values rests on fewer than one value beyond it: p99 needs
    100 samples, p99.9 1,000, p50 2 (the max, p100, is never short)."""
    return p < 100 and samples * (100 - p) < 100 - 1e-9
