import struct

import cv2
import numpy as np

from edgecolor.data.rcc import iter_webp

from helpers import random_bgr


def _webp(seed: int) -> bytes:
    ok, buf = cv2.imencode(".webp", random_bgr(12, 16, seed))
    assert ok
    return buf.tobytes()


def test_extracts_each_webp_by_its_size_field():
    a, b = _webp(1), _webp(2)
    # A stand-in for an rcc: header junk, two WebP files back to back with padding, then a truncated one.
    truncated = b"RIFF" + struct.pack("<I", 10_000) + b"WEBPVP8 " + b"\0" * 20
    blob = b"qres\0\0\0\x01" + b"\x00" * 13 + a + b"\x00\x00" + b + b"junkRIFFxxxx" + truncated
    found = list(iter_webp(blob))
    assert found == [a, b]
    for data in found:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (12, 16, 3)


def test_empty_blob():
    assert list(iter_webp(b"")) == []
