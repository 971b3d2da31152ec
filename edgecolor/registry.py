"""Shipped frame models (``edgecolor/assets``) and resolution of a model argument to a file."""

from __future__ import annotations

from pathlib import Path

from edgecolor.errors import ModelError

ASSETS = Path(__file__).parent / "assets"
SAMPLE_CLIP = ASSETS / "sample.mp4"


def shipped_models() -> dict[str, Path]:
    """Name -> path of each frame model shipped in the package (``colorizer``, ``style-NAME`` ...)."""
    return {p.stem: p for p in sorted(ASSETS.glob("*.onnx"))}


def resolve_model(model: str | Path) -> Path:
    """A shipped model name (a style also by its short name: ``starry-night`` for ``style-starry-night``)
    or a path to a frame-model ONNX file -> existing path."""
    shipped = shipped_models()
    for name in (str(model), f"style-{model}"):
        if name in shipped:
            return shipped[name]
    path = Path(model)
    if path.is_file():
        return path
    names = ", ".join(shipped) or "none shipped"
    raise ModelError(f"no model '{model}' (neither a shipped model nor a file)",
                     f"use one of: {names}; or a .onnx path")


def describe(path: Path) -> dict[str, object]:
    """Name, task, size and provenance of a frame model, read from its ONNX metadata_props."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    return {
        "name": path.stem,
        "task": meta.get("edgecolor.task", "?"),
        "size_mb": round(path.stat().st_size / 1e6, 2),
        "net_size": meta.get("edgecolor.net_size", "?"),
        "trained_on": meta.get("edgecolor.training_data", "?"),
        "source": meta.get("edgecolor.source", "?"),
        "path": str(path),
    }
