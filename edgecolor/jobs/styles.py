"""Styles as frame models: find one by name, and draw a contact sheet (content | each style).

A style is any frame model whose metadata says ``edgecolor.task = stylize``; the shipped ones are
``edgecolor/assets/style-NAME.onnx`` and are addressed by ``NAME``.
"""

from __future__ import annotations

from pathlib import Path

from edgecolor.choices import CpuPath, Task
from edgecolor.errors import InputError, ModelError
from edgecolor.overwrite import refuse_overwrite
from edgecolor.registry import shipped_models, shipped_name


def shipped_styles() -> dict[str, Path]:
    """Style name (without the ``style-`` prefix) -> shipped frame model."""
    return {name.removeprefix("style-"): path for name, path in shipped_models().items() if name.startswith("style-")}


def resolve_style(style: str | Path) -> Path:
    """A shipped style name (``starry-night`` or ``style-starry-night``) or a style ``.onnx`` path -> path.

    Whether the file is a style is the loader's check, where the model opens (``open_engine(..., task=stylize)``
    reads a built engine's manifest or the model's metadata): a shipped model of another task (``colorizer``)
    resolves here so that the check can name what it is."""
    styles = shipped_styles()
    key = str(style).removeprefix("style-")
    if key in styles:
        return styles[key]
    if (name := shipped_name(style)) is not None:
        return shipped_models()[name]
    path = Path(style)
    if not path.is_file():
        names = ", ".join(styles) or "none shipped"
        raise ModelError(f"no style '{style}' (neither a shipped style nor a file)",
                         f"use one of: {names}; or a style .onnx from 'edgecolor train style'")
    return path


def write_style_sheet(images: list[Path], sheet: Path, styles: list[str] | None = None,
                      extra: dict[str, float] | None = None, threads: int = 0, cell: int = 256) -> dict:
    """One row per image: the image, then the image in each style (all shipped styles by default).
    Returns what was drawn; the PNG is written atomically."""
    from edgecolor.backends import open_engine
    from edgecolor.imageio import is_image, read_image, write_image
    from edgecolor.quality import contact_sheet

    files = [f for p in images for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if is_image(f)]
    if not files:
        raise InputError("no images for the contact sheet", "pass image files or a folder of images")
    refuse_overwrite([sheet], files, "contact sheet")
    names = styles or list(shipped_styles())
    if not names:
        raise ModelError("no styles shipped or given", "train one: edgecolor train style --style-image IMG --name NAME")
    engines = [open_engine(resolve_style(n), cpu_path=CpuPath.GRAPH, threads=threads, task=Task.STYLIZE)
               for n in names]
    rows = []
    for f in files:
        img = read_image(f)
        rows.append([img] + [e(img, **(extra or {})) for e in engines])
    write_image(sheet, contact_sheet(rows, ["content"] + [n.removeprefix("style-") for n in names], cell))
    return {"sheet": str(sheet), "images": [str(f) for f in files], "styles": names}
