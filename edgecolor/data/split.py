"""Training / validation split of a corpus by *source*, so validation predicts photos from unseen sources.

Photos of one package (one photographer's set, near-duplicate wallpapers) are alike; a validation photo
from the same package as training photos overstates how well a model does on photos it never saw.
Validation is therefore whole sources, never trained on: the model's checkpoint and its default colour
strength are chosen on them, never on the public evaluation set.
"""

from __future__ import annotations

from pathlib import Path

# Validation sources: held out whole (never trained on). mate/gnome/sway are other wallpaper photographers;
# gcompris' monuments file is buildings, which the rest of gcompris barely has.
VAL_SOURCES = ("mate-backgrounds", "gnome-backgrounds", "sway-backgrounds", "gcompris-qt-data:explore_monuments")
# Paintings (the style networks' material), not photos: they teach painted colours.
NOT_PHOTOS = ("gcompris-qt-data:paintings", "gcompris-qt-data:details")

def source_of(entry: dict) -> str:
    """The photo's source: its package, or ``gcompris-qt-data:ACTIVITY`` for gcompris' resource files."""
    source, origin = str(entry.get("source", "")), str(entry.get("origin", ""))
    if source == "gcompris-qt-data" and ".rcc#" in origin:
        return f"{source}:{Path(origin.split('#')[0]).stem}"
    return source


def split_corpus(entries: list[dict]) -> tuple[list[dict], list[dict]]:
    """Training and validation photos: validation is every photo of :data:`VAL_SOURCES`.

    A corpus without those sources (one built ``--from-folder``) falls back to every 10th photo by name."""
    usable = sorted((e for e in entries if source_of(e) not in NOT_PHOTOS), key=lambda e: e["file"])
    val = [e for e in usable if source_of(e) in VAL_SOURCES]
    if not val or len(val) == len(usable):
        return [e for i, e in enumerate(usable) if i % 10 != 0], [e for i, e in enumerate(usable) if i % 10 == 0]
    return [e for e in usable if source_of(e) not in VAL_SOURCES], val
