"""Write the colour photos bundled for the colorizer's accuracy gate (``edgecolor/assets/gate``).

Reads the public evaluation set (``edgecolor data evalset`` writes it to ``data/eval``), keeps the photos whose
licence is recorded below (one of each stereo or before/after pair), centre-crops each to 4:3 and writes it
at the gate's working size (320 x 240, :func:`edgecolor.graph.calibration.fit_frame`) as a JPEG, with a
manifest naming its source and licence. The shipped colorizer never trained on any of these sources
(its ``edgecolor.training`` metadata lists the Debian wallpaper and gcompris sources it used), and
``edgecolor data fetch`` never reads them.

    .venv/bin/python scripts/make_gate_photos.py data/eval edgecolor/assets/gate
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2

from edgecolor.graph.calibration import fit_frame
from edgecolor.imageio import read_image

OPENCV_DOC = "Apache-2.0 AND BSD-3-Clause (Debian opencv-doc 4.6.0 copyright file; no per-image provenance)"
LICENCES = {
    "astronaut": "no known copyright restrictions (NASA Great Images; skimage.data docstring)",
    "chelsea": "CC0 (Stefan van der Walt; skimage.data docstring)",
    "coffee": "CC0 (Rachel Michetti; skimage.data docstring)",
    "rocket": "public domain (SpaceX; skimage.data docstring)",
    "china": "CC-BY-2.0 (danielbuechele on Flickr; sklearn/datasets/images/README.txt)",
    "flower": "CC-BY-2.0 (vultilion on Flickr; sklearn/datasets/images/README.txt)",
    "grace_hopper": "public domain (U.S. Navy; matplotlib sample_data)",
    **{f"opencv_{n}": OPENCV_DOC for n in (
        "aero1", "aero3", "aloeL", "apple", "baboon", "board", "building", "butterfly", "ela_original", "fruits",
        "home", "left", "leuvenA", "licenseplate_motion", "messi5", "orange", "pca_test1", "squirrel_cls", "stuff")},
}
SIZE = 320
QUALITY = 92


def main(eval_dir: Path, dest: Path) -> None:
    sources = {e["file"]: e["source"] for e in json.loads((eval_dir / "manifest.json").read_text())["entries"]}
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    for stem, licence in LICENCES.items():
        image = fit_frame(read_image(eval_dir / f"{stem}.png"), SIZE)
        name = f"{stem}.jpg"
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
        if not ok:
            raise SystemExit(f"cannot encode {name}")
        (dest / name).write_bytes(data.tobytes())
        entries.append({"file": name, "source": sources[f"{stem}.png"], "licence": licence})
    manifest = {"what": "colour photos for the colorizer's accuracy gate, never trained on",
                "size": f"{SIZE}x{SIZE * 3 // 4}, centre-cropped to 4:3", "entries": entries}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum((dest / e["file"]).stat().st_size for e in entries)
    print(f"{len(entries)} photos, {total / 1e6:.2f} MB in {dest}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
