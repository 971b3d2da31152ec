"""The paintings behind the shipped styles, cut out of Debian packages (no downloads from URLs).

Each painting is identified by the package, the file inside it, for Qt ``.rcc`` bundles the index of the
WebP image in the bundle, and the SHA-256 of the extracted bytes, so a different package version that
moved or changed the picture fails loudly instead of training on the wrong image.

gcompris' 'paintings' activity holds its paintings only as jigsaw pieces (WebP with alpha, ~200 px).
A style learns the painting's texture statistics (Gram matrices, which ignore where things are), so
for those the style image is a 2x2 mosaic of the largest fully opaque square of four pieces of one
painting (:func:`piece_mosaic`), not the reassembled painting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.data.debian import unpack_packages
from edgecolor.data.rcc import iter_webp
from edgecolor.errors import DataError

_GCOMPRIS_DETAILS = "usr/share/gcompris-qt/rcc/details.rcc"
_GCOMPRIS_PAINTINGS = "usr/share/gcompris-qt/rcc/paintings.rcc"
_WEBMUSEUM = ("reproduction from Debian gcompris-qt-data 3.1-2, activity 'paintings' "
              "(src/activities/paintings/resource/image/*: WebMuseum, GPL-3+ per the package's copyright file)")
_GCOMPRIS_LICENCE = ("public domain (Vincent van Gogh, d. 1890); reproduction from Debian gcompris-qt-data "
                     "3.1-2, activity 'details', GPL-3 per the package's copyright file")


@dataclass(frozen=True)
class StylePainting:
    name: str
    title: str
    package: str
    path: str  # inside the unpacked package
    webp_index: int | tuple[int, ...] | None  # WebP index in an .rcc bundle (several: a piece mosaic); None: a file
    sha256: str | tuple[str, ...]
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
    StylePainting(
        "cafe-terrace", "Vincent van Gogh, Café Terrace at Night (1888)", "gcompris-qt-data", _GCOMPRIS_DETAILS, 79,
        "cd41f9e0ad142148fc4dbb86bd98641cd56c7be95b650131066aaaa3e1d52957", _GCOMPRIS_LICENCE),
    StylePainting(
        "painter", "Vincent van Gogh, Painter on His Way to Work (1888)", "gcompris-qt-data", _GCOMPRIS_DETAILS,
        117, "ddc28715a60a357f9f887df332d49dbdc5815b1fd1fbe8343035861a84938cdd", _GCOMPRIS_LICENCE),
    StylePainting(
        "entrance-hall", "Vincent van Gogh, Entrance Hall of Saint-Paul Hospital (1889)", "gcompris-qt-data",
        _GCOMPRIS_DETAILS, 69, "45f038919ae8216a927d35cd6766c6a99cbb622873185c5fb0af615f1525caf6", _GCOMPRIS_LICENCE),
    StylePainting(
        "great-wave", "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831), four puzzle pieces",
        "gcompris-qt-data", _GCOMPRIS_PAINTINGS, (222, 230, 249, 263),
        ("35110e1c3ed5ea6aef169dacf16001972dea04300484bb503785a61b71e41bf9",
         "2491c11e9208b6b2161acd95cb9eb646f88184f48ae6bae88119221406141a82",
         "6b6837959b9ab7e89a689be1ebdcea8b53edb52e5b4f974953b5b7dc50b13b2e",
         "897aeb56b0e2c527b02c40d5eeda7c101eebeb3e432770bf89861d9aa0e6414d"),
        f"public domain (Katsushika Hokusai, d. 1849); {_WEBMUSEUM}", ".png"),
    StylePainting(
        "kandinsky", "Wassily Kandinsky, Composition VIII (1923), four puzzle pieces",
        "gcompris-qt-data", _GCOMPRIS_PAINTINGS, (15, 62, 103, 223),
        ("67bcd29206ed353a21f6ea5526d1b4f77f4647f6d7e1d8f3f4bef6c2298b65c5",
         "92e3ebbaa42df5af6129dcb749a0f6cfa9749a469410077b6d8d00ac2b886db9",
         "b7567aacb05ec786f11d4a0da407b95d4a1b38675b2462646cd515e865cce500",
         "f9518aa6512a0e454a22e850f77d43ed7509e8a098fb5dad5ad22c10fd32e51b"),
        "public domain in life+70 countries and in the US (Wassily Kandinsky, d. 1944; published 1923); "
        f"{_WEBMUSEUM}", ".png"),
]

MOSAIC_CELL = 128  # pixels per piece in a mosaic (the pieces' opaque squares are 106..164 px)


def opaque_square(alpha: np.ndarray) -> tuple[int, int, int]:
    """(y0, x0, side) of the largest square with every pixel fully opaque, searched near the centre of a
    jigsaw piece (the body; tabs stick out, blanks cut in)."""
    h, w = alpha.shape
    for side in range(min(h, w), 15, -4):
        for dy in range(-(h // 6), h // 6 + 1, 4):
            for dx in range(-(w // 6), w // 6 + 1, 4):
                y0, x0 = h // 2 + dy - side // 2, w // 2 + dx - side // 2
                if y0 >= 0 and x0 >= 0 and y0 + side <= h and x0 + side <= w and \
                        alpha[y0 : y0 + side, x0 : x0 + side].min() == 255:
                    return y0, x0, side
    raise DataError("a puzzle piece has no opaque square of 16 px", "use --style-image with your own painting")


def piece_mosaic(pieces: list[bytes]) -> np.ndarray:
    """BGR uint8 mosaic (2 columns) of the opaque squares of WebP jigsaw pieces, each MOSAIC_CELL px."""
    cells = []
    for data in pieces:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None or img.ndim != 3 or img.shape[2] != 4:
            raise DataError("a puzzle piece is not a WebP image with alpha", "use --style-image with your own painting")
        y0, x0, side = opaque_square(img[..., 3])
        cells.append(cv2.resize(img[y0 : y0 + side, x0 : x0 + side, :3], (MOSAIC_CELL, MOSAIC_CELL),
                                interpolation=cv2.INTER_AREA))
    if len(cells) % 2:
        cells.append(cells[-1])
    return np.vstack([np.hstack(cells[i : i + 2]) for i in range(0, len(cells), 2)])


def _extract(p: StylePainting, root: Path) -> bytes:
    src = root / p.path
    if not src.is_file():
        raise DataError(f"{p.path} is missing from the {p.package} package", "this package version differs; "
                        "train from any painting instead: edgecolor train style --style-image IMG --name NAME")
    data = src.read_bytes()
    if p.webp_index is None:
        parts = [data]
    else:
        indices = (p.webp_index,) if isinstance(p.webp_index, int) else p.webp_index
        images = list(iter_webp(data))
        if max(indices) >= len(images):
            raise DataError(f"{p.path} holds {len(images)} images, expected at least {max(indices) + 1}",
                            "use --style-image with your own painting")
        parts = [images[i] for i in indices]
    hashes = (p.sha256,) if isinstance(p.sha256, str) else p.sha256
    if [hashlib.sha256(b).hexdigest() for b in parts] != list(hashes):
        raise DataError(f"the '{p.name}' painting in {p.package} is not the one the shipped style was trained on",
                        "use --style-image with your own painting")
    if len(parts) == 1:
        return parts[0]
    ok, png = cv2.imencode(".png", piece_mosaic(parts))
    if not ok:
        raise DataError(f"could not encode the '{p.name}' mosaic", "check that OpenCV has PNG support")
    return png.tobytes()


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
