"""The public evaluation set: colour photos that ship inside PyPI / Debian packages, never trained on.

Sources: scikit-image's bundled photos, scikit-learn's ``load_sample_images``, matplotlib's
``grace_hopper.jpg`` and the colour photographs in Debian ``opencv-doc``'s ``examples/data``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from edgecolor.data.debian import unpack_packages
from edgecolor.errors import require
from edgecolor.imageio import read_image, write_image
from edgecolor.quality import colourfulness

SKIMAGE_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "motorcycle_right"]
# opencv-doc JPEGs that are not photographs (cartoon, logo render, painting) or near-gray.
OPENCV_NOT_PHOTOS = {"HappyFish.jpg", "WindowsLogo.jpg", "starry_night.jpg"}
MIN_COLOURFULNESS = 8.0


def _python_package_photos() -> list[tuple[str, str, np.ndarray]]:
    """(name, source, BGR image) from scikit-image, scikit-learn and matplotlib."""
    out = []
    skdata = require("skimage.data", "eval")
    for name in SKIMAGE_PHOTOS:
        if name.startswith("motorcycle"):
            left, right, _ = skdata.stereo_motorcycle()
            rgb = left if name.endswith("left") else right
        else:
            rgb = getattr(skdata, name)()
        out.append((name, "scikit-image (skimage.data)", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
    datasets = require("sklearn.datasets", "eval")
    sample = datasets.load_sample_images()
    for fname, rgb in zip(sample.filenames, sample.images, strict=True):
        out.append((Path(fname).stem, "scikit-learn load_sample_images", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
    cbook = require("matplotlib.cbook", "eval")
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        path = f.name
    out.append(("grace_hopper", "matplotlib sample_data", read_image(path)))
    return out


def _opencv_doc_photos(workdir: Path) -> list[tuple[str, str, np.ndarray]]:
    root = unpack_packages(["opencv-doc"], workdir)["opencv-doc"]
    out = []
    for f in sorted((root / "usr/share/doc/opencv-doc/examples/data").glob("*.jpg")):
        if f.name in OPENCV_NOT_PHOTOS:
            continue
        img = read_image(f)
        if min(img.shape[:2]) >= 128 and colourfulness(img) >= MIN_COLOURFULNESS:
            out.append((f"opencv_{f.stem}", "Debian opencv-doc examples/data", img))
    return out


def build_eval_set(dest: Path, with_opencv_doc: bool = True) -> list[dict]:
    """Write the evaluation photos as PNG into ``dest`` plus ``manifest.json``; returns the entries."""
    dest.mkdir(parents=True, exist_ok=True)
    photos = _python_package_photos()
    if with_opencv_doc:
        photos += _opencv_doc_photos(dest / "debs")
    entries = []
    for name, source, img in photos:
        write_image(dest / f"{name}.png", img)
        entries.append({"file": f"{name}.png", "source": source, "width": img.shape[1], "height": img.shape[0]})
    (dest / "manifest.json").write_text(json.dumps({"entries": entries}, indent=1))
    return entries
