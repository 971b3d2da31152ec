"""Image dimensions from a file's header, read *before* decoding, by each format's own layout rules.

Why: OpenCV's own pixel limit is 2^30 pixels, so a 16k x 16k PNG (a few hundred kB of compressed zeros)
would make ``cv2.imdecode`` allocate 768 MB before edgecolor could refuse it. Reading the width and height
from the header costs microseconds and lets :func:`edgecolor.imageio.decode_image` refuse first.

Formats: PNG, JPEG (SOFn markers), WebP (VP8, VP8L, VP8X), BMP, TIFF (first IFD), and the PNM family.
The parsers follow the formats' real structure rather than a fixed window: a JPEG's frame header comes
after any number of APPn segments (a 200 kB ICC profile is common), and a TIFF's first directory can sit
anywhere in the file (OpenCV and libtiff write it *after* the pixel data). So they read through a
:class:`Header`, which is either the bytes in memory or a file read at the offsets they ask for.

:func:`image_size` returns ``None`` when the bytes are not one of these or the header is cut short; it
never raises on any input (it is fuzzed).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

FORMATS = "JPEG/PNG/WebP/BMP/TIFF"

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_MAX_JPEG_SEGMENTS = 4096  # APPn/COM segments before the frame header; real files have a handful


class Header:
    """Random access to an encoded image: bytes in memory, or an open binary file (read on demand)."""

    def __init__(self, source: bytes | bytearray | memoryview | BinaryIO) -> None:
        self._data = bytes(source) if isinstance(source, (bytearray, memoryview)) else source

    def get(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset`` (fewer at the end of the file; none before its start)."""
        if offset < 0 or n <= 0:
            return b""
        if isinstance(self._data, bytes):
            return self._data[offset : offset + n]
        try:
            self._data.seek(offset)
            return self._data.read(n)
        except (OSError, ValueError, OverflowError):
            return b""


def _png(src: Header) -> tuple[int, int] | None:
    data = src.get(0, 24)
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _jpeg(src: Header) -> tuple[int, int] | None:
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        head = src.get(pos, 4)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = struct.unpack(">H", head[2:4])[0]
        if marker in _JPEG_SOF:
            sof = src.get(pos + 5, 4)
            if len(sof) < 4:
                return None
            h, w = struct.unpack(">HH", sof)
            return w, h
        if length < 2:
            return None
        pos += 2 + length
    return None


def jpeg_scans(data: bytes) -> int:
    """Start-of-scan markers in a JPEG: 1 for a baseline image, ~10 for a usual progressive one.

    0xFF 0xDA cannot occur inside entropy-coded data (a 0xFF there is always followed by 0x00 or a restart
    marker), so counting the pair is exact up to an embedded EXIF thumbnail (one more)."""
    return data.count(b"\xff\xda") if data[:2] == b"\xff\xd8" else 0


def _webp(src: Header) -> tuple[int, int] | None:
    data = src.get(0, 30)
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _bmp(src: Header) -> tuple[int, int] | None:
    data = src.get(0, 26)
    if len(data) < 26:
        return None
    header = struct.unpack("<I", data[14:18])[0]
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        w, h = struct.unpack("<HH", data[18:22])
        return w, h
    w, h = struct.unpack("<ii", data[18:26])
    return abs(w), abs(h)


def _tiff(src: Header) -> tuple[int, int] | None:
    head = src.get(0, 8)
    if len(head) < 8:
        return None
    end = "<" if head[:2] == b"II" else ">"
    ifd = struct.unpack(end + "I", head[4:8])[0]  # the first directory: anywhere in the file
    raw_count = src.get(ifd, 2)
    if len(raw_count) < 2:
        return None
    count = struct.unpack(end + "H", raw_count)[0]
    entries = src.get(ifd + 2, 12 * count)
    found: dict[int, int] = {}
    for i in range(len(entries) // 12):
        entry = entries[12 * i : 12 * i + 12]
        tag, kind = struct.unpack(end + "HH", entry[:4])
        if tag in (256, 257):
            fmt = end + ("H" if kind == 3 else "I")
            found[tag] = struct.unpack(fmt, entry[8 : 8 + struct.calcsize(fmt)])[0]
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def _pnm(src: Header) -> tuple[int, int] | None:
    fields: list[int] = []
    for line in src.get(2, 254).split(b"\n"):
        for tok in line.split(b"#", 1)[0].split():
            if not tok.isdigit() or len(fields) == 2:
                return tuple(fields) if len(fields) == 2 else None  # type: ignore[return-value]
            fields.append(int(tok))
    return tuple(fields) if len(fields) == 2 else None  # type: ignore[return-value]


def image_size(data: bytes | Header) -> tuple[int, int] | None:
    """``(width, height)`` from the header of an encoded image, or ``None`` if the format is not known."""
    src = data if isinstance(data, Header) else Header(data)
    head = src.get(0, 16)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(src)
    if head.startswith(b"\xff\xd8"):
        return _jpeg(src)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp(src)
    if head.startswith(b"BM"):
        return _bmp(src)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(src)
    if len(head) > 2 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3].isspace():
        return _pnm(src)
    return None
