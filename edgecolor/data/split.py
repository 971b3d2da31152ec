"""Training / validation split of a corpus by *source*, so validation predicts photos from unseen sources.

Photos of one package (one photographer's set, near-duplicate wallpapers) are alike; a validation photo
from the same package as training photos overstates how well a model does on photos it never saw.
Validation is therefore whole sources, never trained on: the model's checkpoint and its default colour
strength are chosen on them, never on the public evaluation set.
"""

from __future__ import annotations

from pathlib import Path

# Validation folds for cross-validation by source: rotate which whole sources are held out. Fold 0 is the
# split the colorizer's settings were first chosen on (mate/gnome/sway are other wallpaper photographers;
# gcompris' monuments file is buildings, which the rest of gcompris barely has). Fold 1 is gcompris'
# categorization file (everyday objects, food, animals: a third of the corpus) with three small sources.
# Fold 2 is the indoor-like sources, so that selection sees rooms: kphotoalbum's people in bars and living
# rooms and ufoai's wall, floor, carpet and furniture textures (the surfaces a colorizer paints sky-blue or
# yellow); sweethome3d's fabrics and woods and ufoai's other folders still train it. The last fold is every
# source the others do not name, so the folds always cover the whole corpus.
INDOOR_FOLD = ("kphotoalbum", "ufoai-textures:tex_buildings", "ufoai-textures:tex_furniture")
VAL_FOLDS: tuple[tuple[str, ...], ...] = (
    ("mate-backgrounds", "gnome-backgrounds", "sway-backgrounds", "gcompris-qt-data:explore_monuments"),
    ("gcompris-qt-data:categorization", "gcompris-qt-data:clickgame", "gcompris-qt-data:digital_electricity",
     "ukui-wallpapers"),
    INDOOR_FOLD,
)
FOLDS = len(VAL_FOLDS) + 1  # the last: every other source
VAL_SOURCES = VAL_FOLDS[0]
# Paintings (the style networks' material), not photos: they teach painted colours.
NOT_PHOTOS = ("gcompris-qt-data:paintings", "gcompris-qt-data:details")

def source_of(entry: dict) -> str:
    """The photo's source: its package, ``gcompris-qt-data:ACTIVITY`` for gcompris' resource files, or
    ``ufoai-textures:FOLDER`` for ufoai's texture folders (walls and floors, furniture, nature...)."""
    source, origin = str(entry.get("source", "")), str(entry.get("origin", ""))
    if source == "gcompris-qt-data" and ".rcc#" in origin:
        return f"{source}:{Path(origin.split('#')[0]).stem}"
    if source == "ufoai-textures" and "/textures/" in origin:
        return f"{source}:{origin.split('/textures/')[1].split('/')[0]}"
    return source


def held_out(source: str, fold: int) -> bool:
    """Whether validation fold ``fold`` holds ``source`` out."""
    if fold < len(VAL_FOLDS):
        return source in VAL_FOLDS[fold]
    return not any(source in named for named in VAL_FOLDS)


def split_corpus(entries: list[dict], fold: int | None = 0) -> tuple[list[dict], list[dict]]:
    """Training and validation photos: validation is every photo of the sources fold ``fold`` holds out
    (0 .. ``FOLDS - 1``); ``None`` trains on every photo and validates on none (the refit after
    cross-validation).

    A corpus without those sources (one built ``--from-folder``) falls back to every 10th photo by name
    (offset by the fold)."""
    usable = sorted((e for e in entries if source_of(e) not in NOT_PHOTOS), key=lambda e: e["file"])
    if fold is None:
        return usable, []
    if not 0 <= fold < FOLDS:
        raise ValueError(f"validation fold {fold} is not one of 0..{FOLDS - 1}")
    val = [e for e in usable if held_out(source_of(e), fold)]
    if not val or len(val) == len(usable):
        return [e for i, e in enumerate(usable) if i % 10 != fold], [e for i, e in enumerate(usable) if i % 10 == fold]
    return [e for e in usable if not held_out(source_of(e), fold)], val
