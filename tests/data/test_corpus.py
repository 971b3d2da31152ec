import json

import cv2
import numpy as np
import pytest

from edgecolor.data.corpus import build_corpus, load_manifest
from edgecolor.errors import DataError, InputError


def _photo(h, w, seed):
    """Smooth colourful noise: photo-like (no flat areas), colourful."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(int) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def test_from_folder_filters_and_writes_manifest(tmp_path):
    src = tmp_path / "photos"
    (src / "sub").mkdir(parents=True)
    big = _photo(400, 600, 1)
    cv2.imwrite(str(src / "big.jpg"), big)
    cv2.imwrite(str(src / "sub" / "big_small_copy.jpg"), cv2.resize(big, (300, 200), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(src / "other.png"), _photo(300, 300, 2))
    cv2.imwrite(str(src / "tiny.png"), _photo(40, 40, 3))
    gray = cv2.cvtColor(_photo(300, 300, 4), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(src / "gray.png"), gray)
    cv2.imwrite(str(src / "flat.png"), np.full((300, 300, 3), (0, 0, 255), np.uint8))
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really")

    entries, dropped = build_corpus(tmp_path / "corpus", from_folder=src)
    assert len(entries) == 2
    assert dropped == {"unreadable": 1, "cutout": 0, "tiny": 1, "clipart": 1, "near_gray": 1, "duplicate": 1,
                       "eval_duplicate": 0}
    kept = {e.width for e in entries}
    assert 600 in kept  # the larger copy of the duplicated picture is the one kept
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text())
    assert {e["source"] for e in manifest["entries"]} == {"user"}
    for e in load_manifest(tmp_path / "corpus"):
        assert (tmp_path / "corpus" / e["file"]).is_file()


def test_missing_folder_and_missing_manifest(tmp_path):
    with pytest.raises(InputError):
        build_corpus(tmp_path / "c", from_folder=tmp_path / "nope")
    with pytest.raises(DataError, match="edgecolor data fetch"):
        load_manifest(tmp_path)


def test_licence_lookup_matches_dep5_patterns(tmp_path):
    from edgecolor.data.debian import licence_lookup

    doc = tmp_path / "usr/share/doc/pkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Files: *\nLicense: GPL-2+\n\nFiles: 16.04/Bridge_by_S.jpg\nLicense: CC-BY-SA-4.0\n\n"
        "Files: abstract/*.png\nLicense: GPL-3\n")
    lookup = licence_lookup(tmp_path, "pkg")
    assert lookup("usr/share/backgrounds/Bridge_by_S.jpg") == "CC-BY-SA-4.0"
    assert lookup("usr/share/backgrounds/other.jpg") == "GPL-2+"
    assert lookup("usr/share/backgrounds/mate/abstract/Flow.png") == "GPL-3"
