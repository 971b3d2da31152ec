"""Cut WebP images out of Qt ``.rcc`` resource files.

Qt resource bundles store files back to back (optionally zlib-compressed; gcompris stores its WebP photos
uncompressed since WebP is already compressed). A WebP file is a RIFF container: ``b"RIFF"``, a
little-endian uint32 payload size, then ``b"WEBP"``; the whole file is ``size + 8`` bytes. We do not parse
the rcc tree (names are UTF-16 in a separate table and not needed); we scan for the RIFF/WEBP signature.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

_SIGNATURE = re.compile(rb"RIFF(.{4})WEBP", re.S)


def iter_webp(blob: bytes) -> Iterator[bytes]:
    """Yield each complete RIFF/WEBP chunk in ``blob``; truncated chunks (size past the end) are skipped."""
    pos = 0
    while True:
        m = _SIGNATURE.search(blob, pos)
        if m is None:
            return
        size = struct.unpack("<I", m.group(1))[0]
        end = m.start() + 8 + size
        if size >= 4 and end <= len(blob):
            yield blob[m.start() : end]
            pos = end
        else:
            pos = m.start() + 4
