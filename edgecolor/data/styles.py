"""The paintings behind the shipped styles, cut out of Debian packages (no downloads from URLs).

Each painting is identified by the package, the file inside it, for Qt ``.rcc`` bundles the index of the
WebP image in the bundle, and the SHA-256 of the extracted bytes, so a different package version that
moved or changed the picture fails loudly instead of training on the wrong image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from edgecolor.data.debian import unpack_packages
from edgecolor.data.rcc import iter_webp
from edgecolor.errors import DataError

_GCOMPRIS_DETAILS = "usr/share/gcompris-qt/rcc/details.rcc"
_GCOMPRIS_LICENCE = ("public domain (Vincent van Gogh, d. 1890); reproduction from Debian gcompris-qt-data "
                     "3.1-2, activity 'details', GPL-3 per the package's copyright file")


@dataclass(frozen=True)
class StylePainting:
    name: str
    title: str
    package: str
    path: str  # inside the unpacked package
    webp_index: int | None  # index among the WebP images of an .rcc bundle; None for a plain image file
    sha256: str
    licence: str
    suffix: str = ".webp"


PAINTINGS = [
    StylePainting(
        "starry-night", "Vincent van Gogh, The Starry Night (1889)", "opencv-doc",
        "usr/share/doc/opencv-doc/examples/data/starry_night.jpg", None,
        "accda7a19a90f22a4a922fdc8c230167d7abf5f80882171e2cee125c5f12481d",
        "public domain (Vincent van Gogh, d. 1890); file from Debian opencv-doc 4.6.0, "
        "Apache-2.0 AND BSD-3-Clause per the package's copyright file", ".jpg"),
    StylePainting(
        "night-cafe", "Vincent van Gogh, The Night Café (1888)", "gcompris-qt-data", _GCOMPRIS_DETAILS, 60,
        "ce4d535bc04fb59a177873a1b3ed7a2edeb81af82ede5e28d85fad82533ba33b", _GCOMPRIS_LICENCE),
    StylePainting(
        "harvest", "Vincent van Gogh, The Harvest (1888)", "gcompris-qt-data", _GCOMPRIS_DETAILS, 50,
        "53f7fae4fb52354272b6596acbff439f1b851029a16f0bbdf94d8cd727de49f4", _GCOMPRIS_LICENCE),
]


def _extract(p: StylePainting, root: Path) -> bytes:
    src = root / p.path
    if not src.is_file():
        raise DataError(f"{p.path} is missing from the {p.package} package", "this package version differs; "
                        "train from any painting instead: edgecolor train style --style-image IMG --name NAME")
    data = src.read_bytes()
    if p.webp_index is not None:
        images = list(iter_webp(data))
        if p.webp_index >= len(images):
            raise DataError(f"{p.path} holds {len(images)} images, expected at least {p.webp_index + 1}",
                            "use --style-image with your own painting")
        data = images[p.webp_index]
    if p.sha256 and hashlib.sha256(data).hexdigest() != p.sha256:
        raise DataError(f"the '{p.name}' painting in {p.package} is not the one the shipped style was trained on",
                        "use --style-image with your own painting")
    return data


def fetch_styles(dest: Path, debs: Path, unpacked: list[Path] | None = None) -> list[dict[str, str]]:
    """Write each painting to ``dest/NAME.ext``; packages already unpacked under one of ``unpacked``
    (e.g. by ``edgecolor data fetch``) are reused, others are downloaded and unpacked under ``debs``."""
    dest.mkdir(parents=True, exist_ok=True)
    roots: dict[str, Path] = {}
    for pkg in sorted({p.package for p in PAINTINGS}):
        found = [d / pkg for d in (unpacked or []) if (d / pkg / ".unpacked").exists()]
        roots[pkg] = found[0] if found else unpack_packages([pkg], debs)[pkg]
    out = []
    for p in PAINTINGS:
        path = dest / f"{p.name}{p.suffix}"
        path.write_bytes(_extract(p, roots[p.package]))
        out.append({"name": p.name, "file": str(path), "title": p.title, "package": p.package, "licence": p.licence})
    return out
