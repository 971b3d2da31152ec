"""``edgecolor models``: list the shipped frame models."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from edgecolor.cli._common import JsonOpt, emit_json, out


def models(as_json: JsonOpt = False) -> None:
    """List shipped models (colorizer and styles) with task, size and provenance. A style is named with or
    without its style- prefix in every command (starry-night = style-starry-night).

    \b
    Example: edgecolor models --json"""
    from edgecolor.registry import shipped_models

    rows = [describe(p) for p in shipped_models().values()]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="shipped frame models")
    for col in ("name", "task", "size MB", "net size", "trained on"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), str(r["task"]), str(r["size_mb"]), str(r["net_size"]), str(r["trained_on"]))
    out.print(table)


def describe(path: Path) -> dict[str, object]:
    """Name, task, size and provenance of a frame model, as it records them."""
    from edgecolor.graph.contract import FrameModelInfo

    info = FrameModelInfo.read_file(path)
    return {
        "name": path.stem,
        "task": info.task or "?",
        "size_mb": round(path.stat().st_size / 1e6, 2),
        "net_size": info.net_size or "?",
        "trained_on": info.training_data or "?",
        "source": info.source or "?",
        "path": str(path),
    }
