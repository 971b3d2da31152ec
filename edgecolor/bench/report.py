"""Bench reports: markdown table and a PNG plot of throughput and p99 latency per resolution."""

from __future__ import annotations

from pathlib import Path

from edgecolor.errors import require


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """``columns``: (key, header) pairs; floats are printed with one decimal."""
    head = "| " + " | ".join(h for _, h in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    lines = [head, sep]
    for r in rows:
        cells = [f"{r[k]:.1f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_rows(rows: list[dict], path: Path, label_key: str = "model") -> None:
    """Two panels (throughput, p99) with one line per ``label_key`` over the resolutions benchmarked."""
    require("matplotlib", "eval")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgecolor.imageio import atomic_output

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    labels = list(dict.fromkeys(str(r[label_key]) for r in rows))
    for label in labels:
        sel = [r for r in rows if str(r[label_key]) == label]
        x = [r["resolution"] for r in sel]
        ax1.plot(x, [r["throughput_fps"] for r in sel], marker="o", label=label)
        ax2.plot(x, [r["p99_ms"] for r in sel], marker="o", label=label)
    ax1.set_title("throughput (frames/s, higher is better)")
    ax2.set_title("p99 latency (ms, lower is better)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
