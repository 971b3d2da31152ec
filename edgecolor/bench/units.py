"""Option values as trtexec users write them: times with a unit (``200ms``, ``3s``) and percentile lists.

A plain number is the option's documented unit (seconds for ``--warmup`` and ``--duration``: edgecolor's
unit since its first bench; trtexec's ``--warmUp`` is in ms, so ``200ms`` says it without guessing).
Bounds are checked afterwards by the one numeric validator (:func:`edgecolor.cli._numbers.bounded`).
"""

from __future__ import annotations

import re

from edgecolor.errors import InputError

_TIME = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|[-+]?inf|nan)\s*(ms|s)?\s*", re.IGNORECASE)
_SCALE = {"ms": 1e-3, "s": 1.0, None: 1.0}


def parse_seconds(text: str, option: str) -> float:
    """``"200ms"`` -> 0.2, ``"3s"`` / ``"3"`` -> 3.0 (``nan``/``inf`` pass through for the bounds check)."""
    m = _TIME.fullmatch(text)
    if m is None:
        raise InputError(f"{option} '{text[:40]}' is not a time", f"give seconds ({option} 2) or a unit: "
                                                                  f"{option} 200ms, {option} 3s")
    return float(m.group(1)) * _SCALE[m.group(2).lower() if m.group(2) else None]


def parse_percentiles(text: str) -> list[float]:
    """``"50,90,99,99.9"`` -> ``[50.0, 90.0, 99.0, 99.9]`` in the order given, duplicates dropped."""
    values: list[float] = []
    for item in (t.strip() for t in text.split(",")):
        try:
            value = float(item)
        except ValueError:
            raise InputError(f"--percentile '{item[:20]}' is not a number", "e.g. --percentile 50,90,99") from None
        if value not in values:
            values.append(value)
    return values


def percentile_key(p: float) -> str:
    """JSON key of a percentile: ``p99``, ``p99.9``."""
    return f"p{p:g}"


def too_few_samples(samples: int, p: float) -> bool:
    """Whether the ``p`` percentile of ``samples`` values rests on fewer than one value beyond it: p99 needs
    100 samples, p99.9 1,000, p50 2 (the max, p100, is never short)."""
    return p < 100 and samples * (100 - p) < 100 - 1e-9
