"""Shipped frame models (``edgecolor/assets``) and resolution of a model argument to a file."""

from __future__ import annotations

from pathlib import Path

from edgecolor.errors import ModelError

ASSETS = Path(__file__).parent / "assets"
SAMPLE_CLIP = ASSETS / "sample.mp4"


def shipped_models() -> dict[str, Path]:
    """Name -> path of each frame model shipped in the package (``colorizer``, ``style-NAME`` ...)."""
    return {p.stem: p for p in sorted(ASSETS.glob("*.onnx"))}


def shipped_name(model: str | Path) -> str | None:
    """The shipped model a name means, or None: a style has one name in every command, with or without its
    ``style-`` prefix (``starry-night`` = ``style-starry-night``), as ``edgecolor models`` lists it."""
    shipped = shipped_models()
    for name in (str(model), f"style-{model}"):
        if name in shipped:
            return name
    return None


def resolve_model(model: str | Path) -> Path:
    """A shipped model name (see :func:`shipped_name`) or a path to a frame-model ONNX file -> existing path.
    A shipped name wins over a file of the same name in the working directory."""
    shipped = shipped_models()
    if (name := shipped_name(model)) is not None:
        return shipped[name]
    path = Path(model)
    if path.is_file():
        return path
    names = ", ".join(n.removeprefix("style-") for n in shipped) or "none shipped"
    raise ModelError(f"no model '{model}' (neither a shipped model nor a file)",
                     f"use one of: {names}; or a .onnx path")
