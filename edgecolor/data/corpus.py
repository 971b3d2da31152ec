"""Build the colorization training corpus from Debian packages or from a folder of the user's photos.

Output layout (``DEST``)::

    images/<source>-<n>.jpg     photos, longest side <= MAX_SIDE
    manifest.json               one entry per photo: file, source package, licence, size, colourfulness;
                                plus counts of what was dropped and why
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.data.debian import licence_lookup, unpack_packages
from edgecolor.data.rcc import iter_webp
from edgecolor.errors import DataError, InputError
from edgecolor.imageio import IMAGE_EXTS, decode_image, write_image
from edgecolor.quality import colourfulness

log = logging.getLogger(__name__)

CORPUS_PACKAGES = [
    "gcompris-qt-data", "lomiri-wallpapers-16.04", "mate-backgrounds", "plasma-workspace-wallpapers",
    "ukui-wallpapers", "gnome-backgrounds", "sway-backgrounds", "lomiri-wallpapers-20.04",
]
MIN_SIDE = 160  # smaller images are icons / thumbnails
MAX_SIDE = 768  # training crops are 224-256 px; larger files only cost disk and decode time
MAX_FLAT_FRACTION = 0.35  # clipart and cartoons are mostly flat fills
# Below this a photo is grayscale or sepia. Kept low on purpose: neutral rooms, snow and overcast skies are
# what a colorizer must learn to leave neutral (a higher floor taught it to paint white walls).
MIN_COLOURFULNESS = 4.0


@dataclass(frozen=True)
class Entry:
    file: str
    source: str
    licence: str
    width: int
    height: int
    colourfulness: float


def _flat_fraction(img: np.ndarray) -> float:
    """Share of pixels whose 3x3 neighbourhood is one flat colour: high for clipart, low for photos."""
    g = img.astype(np.int16)
    spread = cv2.dilate(g, np.ones((3, 3), np.uint8)) - cv2.erode(g, np.ones((3, 3), np.uint8))
    return float((spread.max(axis=2) <= 1).mean())


def _dhash(img: np.ndarray) -> int:
    """64-bit difference hash: equal for the same picture at different resolutions."""
    g = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def _package_images(name: str, root: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (relative name, encoded bytes) of every photo-like file in an unpacked package."""
    if name == "gcompris-qt-data":
        for rcc in sorted(root.rglob("*.rcc")):
            for i, blob in enumerate(iter_webp(rcc.read_bytes())):
                yield f"{rcc.relative_to(root)}#{i}", blob
        return
    for f in sorted(root.rglob("*")):
        if f.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"} and f.is_file():
            yield str(f.relative_to(root)), f.read_bytes()


def _folder_images(folder: Path) -> Iterator[tuple[str, bytes]]:
    from edgecolor import inputs

    for f in inputs.folder_files(folder, lambda p: p.suffix.lower() in IMAGE_EXTS, "photo folder", recursive=True):
        yield str(f.relative_to(folder)), inputs.read_bytes(f, "photo")


class _Collector:
    """Filters, de-duplicates and writes photos; keeps the largest copy of each picture."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.kept: dict[int, tuple[Entry, np.ndarray]] = {}
        self.dropped = {"unreadable": 0, "cutout": 0, "tiny": 0, "clipart": 0, "near_gray": 0, "duplicate": 0}

    def offer(self, source: str, licence: str, name: str, data: bytes) -> None:
        try:
            img = decode_image(data, name)  # header checks (pixel limits, scans) come before any decoding
        except InputError:
            self.dropped["unreadable"] += 1
            return
        if not data.startswith(b"\xff\xd8"):  # formats that can carry alpha: decode again, keeping it
            raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if raw is not None and raw.ndim == 3 and raw.shape[2] == 4 and (raw[..., 3] < 250).mean() > 0.01:
                self.dropped["cutout"] += 1  # transparent sprites / jigsaw pieces: not photos
                return
        h, w = img.shape[:2]
        if min(h, w) < MIN_SIDE:
            self.dropped["tiny"] += 1
            return
        scale = MAX_SIDE / max(h, w)
        if scale < 1:
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        if _flat_fraction(img) > MAX_FLAT_FRACTION:
            self.dropped["clipart"] += 1
            return
        c = colourfulness(img)
        if c < MIN_COLOURFULNESS:
            self.dropped["near_gray"] += 1
            return
        key = _dhash(img)
        entry = Entry(name, source, licence, w, h, round(c, 2))
        old = self.kept.get(key)
        if old is not None:
            self.dropped["duplicate"] += 1
            if old[0].width * old[0].height >= w * h:
                return
        self.kept[key] = (entry, img)

    def write(self) -> list[Entry]:
        if not self.kept:
            raise DataError("no usable photos were found", "check the source; photos must be colour and >= 160 px")
        images = self.dest / "images"
        images.mkdir(parents=True, exist_ok=True)
        entries = []
        counters: dict[str, int] = {}
        for entry, img in self.kept.values():
            stem = entry.source.split(":")[0]
            n = counters[stem] = counters.get(stem, 0) + 1
            rel = f"images/{stem}-{n:04d}.jpg"
            write_image(self.dest / rel, img)
            entries.append(Entry(rel, entry.source, entry.licence, entry.width, entry.height, entry.colourfulness))
        manifest = {
            "entries": [asdict(e) | {"origin": orig[0].file}
                        for e, orig in zip(entries, self.kept.values(), strict=True)],
            "dropped": self.dropped,
            "filters": {"min_side": MIN_SIDE, "max_side": MAX_SIDE, "min_colourfulness": MIN_COLOURFULNESS,
                        "max_flat_fraction": MAX_FLAT_FRACTION},
        }
        (self.dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return entries


def build_corpus(
    dest: Path,
    packages: list[str] | None = None,
    from_folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Entry], dict[str, int]]:
    """Build the corpus in ``dest`` from Debian packages (default) or a folder of the user's photos."""
    dest = Path(dest)
    col = _Collector(dest)
    if from_folder is not None:
        if not from_folder.is_dir():
            raise InputError(f"{from_folder} is not a folder", "pass a folder of JPEG/PNG photos")
        for name, data in _folder_images(from_folder):
            col.offer("user", "user-supplied", name, data)
            if progress:
                progress(name)
    else:
        roots = unpack_packages(packages or CORPUS_PACKAGES, dest / "debs")
        for pkg, root in roots.items():
            licence = licence_lookup(root, pkg)
            for name, data in _package_images(pkg, root):
                col.offer(pkg, licence(name.split("#")[0]), name, data)
                if progress:
                    progress(f"{pkg}: {name}")
    entries = col.write()
    log.info("corpus: %d photos, dropped %s", len(entries), col.dropped)
    return entries, col.dropped


def load_manifest(corpus: Path) -> list[dict]:
    """Entries of a corpus built by :func:`build_corpus`, or a clear error naming the fetch command. Each
    entry is checked for the fields training reads (``file``: a relative path, ``colourfulness``: a number)."""
    from edgecolor import inputs, jsonio

    path = Path(corpus) / "manifest.json"
    remedy = f"rebuild it: edgecolor data fetch --dest {corpus}"
    if inputs.kind(path, "corpus manifest") != "file":
        raise DataError(f"no corpus at {corpus} (manifest.json missing)",
                        f"build it with: edgecolor data fetch --dest {corpus}")
    found = jsonio.Fields(jsonio.load(path, f"corpus manifest {path}", DataError, remedy), f"corpus manifest {path}",
                          DataError, remedy)
    entries = found.items("entries")
    for i, raw in enumerate(entries):
        entry = jsonio.Fields(raw, f"corpus manifest {path} entry {i}", DataError, remedy)
        file = entry.text("file")
        if not file or file.startswith("/") or ".." in Path(file).parts:
            raise DataError(f"corpus manifest {path} entry {i}: 'file' must be a path inside the corpus", remedy)
        entry.number("colourfulness", lo=0.0)
        entry.text("source", "")
    return list(entries)
