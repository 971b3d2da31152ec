"""Paintings for the styles: jigsaw-piece mosaics and the checks on what is cut out of a package."""

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecolor.data.styles import MOSAIC_CELL, StylePainting, _extract, opaque_square, piece_mosaic
from edgecolor.errors import DataError

from helpers import random_bgr


def _piece(h=60, w=50, seed=0, hole=None):
    """A BGRA WebP 'piece': opaque body with a transparent margin (the tabs' bounding box) and a bite."""
    bgra = np.dstack([random_bgr(h, w, seed), np.zeros((h, w), np.uint8)])
    bgra[8:-8, 6:-6, 3] = 255
    if hole:
        y, x = hole
        bgra[y : y + 6, x : x + 6, 3] = 0
    ok, buf = cv2.imencode(".webp", bgra, [cv2.IMWRITE_WEBP_QUALITY, 101])  # 101 = lossless, alpha kept exactly
    assert ok
    return buf.tobytes()


def test_opaque_square_by_hand():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[5:35, 8:30] = 255  # a 30 x 22 opaque rectangle
    y0, x0, side = opaque_square(alpha)
    assert side == 20  # the largest multiple-of-4 step from 40 that fits 22 wide
    assert alpha[y0 : y0 + side, x0 : x0 + side].min() == 255


def test_opaque_square_refuses_a_transparent_piece():
    with pytest.raises(DataError):
        opaque_square(np.zeros((40, 40), np.uint8))


def test_mosaic_is_two_by_two_cells_of_opaque_pixels():
    pieces = [_piece(seed=i, hole=(30, 8) if i == 1 else None) for i in range(4)]
    m = piece_mosaic(pieces)
    assert m.shape == (2 * MOSAIC_CELL, 2 * MOSAIC_CELL, 3) and m.dtype == np.uint8
    assert piece_mosaic(pieces[:3]).shape == m.shape  # an odd count repeats the last piece


def test_mosaic_refuses_pieces_without_alpha():
    ok, buf = cv2.imencode(".png", random_bgr(20, 20))
    with pytest.raises(DataError, match="alpha"):
        piece_mosaic([buf.tobytes()])


def _painting(tmp_path, pieces, hashes):
    blob = b"qres" + b"\0" * 7 + b"".join(pieces)
    (tmp_path / "bundle.rcc").write_bytes(blob)
    return StylePainting("t", "test", "pkg", "bundle.rcc", tuple(range(len(pieces))), hashes, "CC0", ".png")


def test_extract_checks_every_piece_hash(tmp_path):
    pieces = [_piece(seed=i) for i in range(4)]
    good = tuple(hashlib.sha256(p).hexdigest() for p in pieces)
    png = _extract(_painting(tmp_path, pieces, good), tmp_path)
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).shape == (2 * MOSAIC_CELL, 2 * MOSAIC_CELL, 3)
    with pytest.raises(DataError, match="not the one"):
        _extract(_painting(tmp_path, pieces, good[:3] + ("0" * 64,)), tmp_path)
    with pytest.raises(DataError, match="holds 4 images"):
        _extract(StylePainting("t", "t", "pkg", "bundle.rcc", (0, 4), good[:2], "CC0"), tmp_path)


def test_every_shipped_style_names_its_painting_as_the_registry_does_and_has_a_sources_row():
    """A style added to the package carries the painting's title, package and licence from ``PAINTINGS`` (what
    ``edgecolor data styles`` cuts out) and is listed in ``edgecolor/assets/SOURCES.md``."""
    from edgecolor.data.styles import PAINTINGS
    from edgecolor.graph.contract import FrameModelInfo
    from edgecolor.jobs.styles import shipped_styles

    paintings = {p.name: p for p in PAINTINGS}
    shipped = shipped_styles()
    sources = (Path(__file__).resolve().parents[2] / "edgecolor" / "assets" / "SOURCES.md").read_text()
    assert len(shipped) >= 4
    for name, path in shipped.items():
        info = FrameModelInfo.read_file(path)
        p = paintings[name]
        assert info.style == name
        assert info.style_source == f"{p.title} (Debian {p.package})", name
        assert info.style_licence == p.licence, name
        assert f"`style-{name}.onnx`" in sources, name
