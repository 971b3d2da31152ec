"""Latency and throughput statistics, defined as trtexec defines them.

- throughput: frames divided by the total wall time of the timed phase (after warm-up);
- latency: per-frame time of one inference (or one pipeline pass), summarised by mean, min, max and the
  p50/p90/p95/p99 percentiles (nearest-rank, as trtexec reports them) and any others asked for
  (``--percentile``), each with a warning when too few samples lie beyond it to measure it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from edgecolor.bench.units import percentile_key, too_few_samples
from edgecolor.errors import InputError

PERCENTILES = (50, 90, 95, 99)


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_ms:
        raise InputError("no latency samples were collected", "run for longer (--duration/--iterations)")
    rank = max(1, math.ceil(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


@dataclass(frozen=True)
class LatencyStats:
    frames: int
    wall_s: float
    throughput_fps: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # the asked ones: {"p99.9": ms}
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in asdict(self).items():
            if isinstance(v, dict):
                v = {name: round(x, 3) for name, x in v.items()}
            out[k] = round(v, 3) if isinstance(v, float) else v
        return out


def summarise(latencies_ms: list[float], wall_s: float, frames: int | None = None,
              percentiles: tuple[float, ...] | list[float] = PERCENTILES) -> LatencyStats:
    """Statistics of per-frame latencies measured over ``wall_s`` seconds of wall time; ``percentiles``
    are reported in ``percentiles_ms``, with a warning for each that rests on too few samples."""
    if wall_s <= 0:
        raise InputError("the timed phase lasted no time", "use a positive --duration or --iterations")
    s = sorted(latencies_ms)
    n = len(s) if frames is None else frames
    p = {q: percentile(s, q) for q in PERCENTILES}
    asked = {percentile_key(q): percentile(s, q) for q in percentiles}
    short = [q for q in percentiles if too_few_samples(len(s), q)]
    warnings = [f"{percentile_key(q)} rests on {len(s)} samples (needs {math.ceil(100 / (100 - q))} for one beyond "
                f"it): run longer (--duration/--iterations)" for q in short]
    return LatencyStats(n, wall_s, n / wall_s, sum(s) / len(s), s[0], s[-1], p[50], p[90], p[95], p[99], asked,
                        warnings)
