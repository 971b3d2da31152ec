"""The photos ``edgecolor tune colorizer`` learns from, and which of them are held out (no PyTorch needed, so a
bad folder is refused before any heavy import)."""

from __future__ import annotations

from pathlib import Path

import cv2

from edgecolor.errors import InputError
from edgecolor.imageio import is_image, read_image
from edgecolor.inputs import folder_files
from edgecolor.models.scoring import GRAY_COLOURFULNESS, Photo
from edgecolor.quality import colourfulness

MIN_PHOTOS, MAX_PHOTOS = 5, 50
MAX_SIDE = 1024  # photos are shrunk to this long side when read (INTER_AREA): the network sees 224 x 224 anyway
HELD_OUT_SHARE = 0.3
HOLD_OUT_RULE = (f"in file-name order, {HELD_OUT_SHARE:.0%} of the photos (at least 2), spread evenly over the "
                 "list, are held out: they choose the step, curve and strength and are never trained on")

def read_photos(folder: Path) -> list[Photo]:
    """The colour photos ``tune`` learns from: every image directly in ``folder``, shrunk to :data:`MAX_SIDE`.
    Raises :class:`InputError` (one line) for a missing folder, too few or too many photos, or gray ones."""
    if not folder.is_dir():
        raise InputError(f"photo folder {folder} does not exist or is not a folder",
                         "pass a folder of 5 to 50 colour photos of the site")
    files = folder_files(folder, is_image, "photo folder")
    if len(files) < MIN_PHOTOS:
        raise InputError(f"{folder} has {len(files)} photo(s); tune needs at least {MIN_PHOTOS} colour photos of the "
                         "site (10 advised)", "add colour photos of the site to the folder")
    if len(files) > MAX_PHOTOS:
        raise InputError(f"{folder} has {len(files)} photos; tune takes at most {MAX_PHOTOS}",
                         f"pick {MAX_PHOTOS} that show the site's variety, or train on a corpus: "
                         "edgecolor train colorizer")
    photos = []
    for path in files:
        img = read_image(path)
        scale = MAX_SIDE / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        photos.append((path.name, img))
    gray = [name for name, img in photos if colourfulness(img) < GRAY_COLOURFULNESS]
    if gray:
        shown = ", ".join(gray[:3]) + (f" and {len(gray) - 3} more" if len(gray) > 3 else "")
        raise InputError(f"{len(gray)} of {len(photos)} photos in {folder} are grayscale ({shown}); tune learns the "
                         "site's colours from colour photos", "remove them, or pass a folder of colour photos")
    return photos


def split_photos(photos: list[Photo]) -> tuple[list[Photo], list[Photo]]:
    """(training, held-out) photos by :data:`HOLD_OUT_RULE`."""
    n = len(photos)
    held = max(2, round(HELD_OUT_SHARE * n))
    picked = {min(n - 1, int((i + 0.5) * n / held)) for i in range(held)}
    return [p for i, p in enumerate(photos) if i not in picked], [p for i, p in enumerate(photos) if i in picked]
