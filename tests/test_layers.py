"""edgecolor's subpackages import in one direction, lazily or not:

    base modules <- graph <- backends <- builder, stream, data <- models <- evaluation, jobs, bench, batch <- cli

(``base``: the top-level modules every layer may use: errors, choices, colour, imageio, system, ...). A module may
import its own layer and the layers below it, never above: so there is no import cycle between subpackages, and a
newcomer can read the package bottom up."""

import ast
from pathlib import Path

import edgecolor

PACKAGE = Path(edgecolor.__file__).parent
LAYERS = [
    {"base"},
    {"graph"},
    {"backends"},
    {"builder", "stream", "data"},
    {"models"},
    {"evaluation", "jobs", "bench", "batch", "doctor"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Siblings in one layer that may use each other (one direction each): the builder gates with corpus photos.
SIBLINGS = {("builder", "data"), ("jobs", "evaluation"), ("batch", "jobs"), ("bench", "jobs")}


def _unit(parts: tuple[str, ...]) -> str:
    """The layer unit of ``edgecolor/<parts>``: its subpackage, a top-level module named in LAYERS, or base."""
    if not parts:
        return "base"
    head = parts[0].removesuffix(".py")
    return head if head in RANK else "base"


def _imports(path: Path):
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join((*base, *([node.module] if node.module else [])))
            else:
                name = node.module or ""
            names = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for full in names:
            parts = full.split(".")
            if parts[0] == "edgecolor":
                yield node.lineno, full, _unit(tuple(parts[1:]))


def test_every_subpackage_and_top_level_module_has_a_layer():
    units = {_unit(p.relative_to(PACKAGE).parts) for p in PACKAGE.rglob("*.py")}
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages <= set(RANK), f"give {sorted(subpackages - set(RANK))} a layer in LAYERS"
    assert units <= set(RANK)


def test_imports_point_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _unit(path.relative_to(PACKAGE).parts)
        for line, name, unit in _imports(path):
            if unit == me or RANK[unit] < RANK[me] or (me, unit) in SIBLINGS:
                continue
            wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({me}) imports {name} ({unit})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_siblings_use_each_other_in_one_direction_only():
    assert not {(b, a) for a, b in SIBLINGS} & SIBLINGS
