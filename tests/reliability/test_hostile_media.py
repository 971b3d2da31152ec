"""Hostile and unusual media (issues 10 item 7 and 11): headers by the formats' real rules, pixel limits for
images, videos and streams, EXIF orientation, float images with NaN, odd video sizes, lying frame counts and
broken first frames. Every file is generated small in tmp_path.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecolor import imageio
from edgecolor.errors import DataError, InputError, OutputError

from helpers import random_bgr


def _jpeg(h: int = 120, w: int = 160, **params: int) -> bytes:
    flags = [v for k, val in params.items() for v in (getattr(cv2, k), val)]
    return cv2.imencode(".jpg", random_bgr(h, w), flags)[1].tobytes()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def big_icc_jpeg() -> bytes:
    """A JPEG whose frame header sits ~190 kB in, after three APP2 (ICC profile) segments."""
    data = _jpeg()
    icc = b"".join(_segment(0xE2, b"ICC_PROFILE\x00" + bytes([i + 1, 3]) + bytes(65000)) for i in range(3))
    return data[:2] + icc + data[2:]


def exif_jpeg(orientation: int) -> bytes:
    """A 160x120 JPEG with an EXIF orientation tag (6: shown rotated 90 degrees clockwise, 120x160)."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    data = _jpeg()
    return data[:2] + _segment(0xE1, b"Exif\x00\x00" + tiff) + data[2:]


def many_scans_jpeg(extra: int) -> bytes:
    """A progressive JPEG whose last scan is repeated ``extra`` times (a CPU bomb when decoded)."""
    data = _jpeg(64, 64, IMWRITE_JPEG_PROGRESSIVE=1)
    last = data.rindex(b"\xff\xda")
    return data[:last] + data[last:-2] * (extra + 1) + b"\xff\xd9"


def wide_bmp(width: int, height: int = 1) -> bytes:
    """A BMP header claiming ``width x height`` (24-bit) with one row of pixel data."""
    row = (width * 3 + 3) // 4 * 4
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, row * height, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + row, 0, 0, 54) + info + bytes(min(row, 4096))


def tiff_ifd_at_end() -> bytes:
    """What OpenCV (libtiff) writes: the first directory after ~190 kB of pixels."""
    data = cv2.imencode(".tif", random_bgr(256, 256))[1].tobytes()
    assert struct.unpack("<I", data[4:8])[0] > 65536
    return data


def float_tiff_with_nan(path: Path) -> Path:
    img = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (16, 1))
    img = np.dstack([img] * 3)
    img[0, 0] = np.nan
    img[1, 1] = np.inf
    img[2, 2] = -np.inf
    cv2.imwrite(str(path), img)
    return path


# --- images: accepted by the real rules ---------------------------------------------------------------------
ACCEPT = [
    ("tiff-ifd-past-64k", tiff_ifd_at_end, (256, 256)),
    ("jpeg-sof-past-64k", big_icc_jpeg, (120, 160)),
    ("jpeg-exif-upright", lambda: exif_jpeg(1), (120, 160)),
    ("jpeg-exif-rotated", lambda: exif_jpeg(6), (160, 120)),
    ("jpeg-progressive", lambda: _jpeg(IMWRITE_JPEG_PROGRESSIVE=1), (120, 160)),
]


@pytest.mark.parametrize("make,shape", [c[1:] for c in ACCEPT], ids=[c[0] for c in ACCEPT])
def test_valid_files_are_read_by_their_format_rules(make, shape, tmp_path):
    ext = ".tif" if "tiff" in str(make) or make is tiff_ifd_at_end else ".jpg"
    path = tmp_path / f"in{ext}"
    path.write_bytes(make())
    assert imageio.probe_image(path) in (shape[::-1], shape)  # (w, h) as stored; EXIF rotates on decode
    img = imageio.read_image(path)
    assert img.shape == (*shape, 3) and img.dtype == np.uint8


def test_exif_rotation_reaches_the_output(tmp_path):
    """A phone photo shown 120x160 is written 120x160 (upright), whatever the output format."""
    from edgecolor.backends.base import Engine
    from edgecolor.jobs.files import plan, run_job

    class Identity(Engine):
        def _infer_impl(self, batch, extra):
            return batch

    src = tmp_path / "phone.jpg"
    src.write_bytes(exif_jpeg(6))
    for name in ("o.png", "o.jpg"):
        (job,) = plan([src], tmp_path / name)
        run_job(job, Identity())
        assert cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED).shape[:2] == (160, 120)


def test_edgecolors_own_tif_output_reads_back(tmp_path):
    imageio.write_image(tmp_path / "o.tif", random_bgr(300, 300))
    assert imageio.read_image(tmp_path / "o.tif").shape == (300, 300, 3)


def test_float_image_with_nan_and_inf_is_not_black(tmp_path):
    img = imageio.read_image(float_tiff_with_nan(tmp_path / "f.tif"))
    row = img[8, :, 0].astype(int)
    assert row[0] < 20 and row[-1] > 235 and np.all(np.diff(row) >= 0), row


# --- images: refused from the header ------------------------------------------------------------------------
REFUSE = [
    ("bmp-1100000x1", lambda: wide_bmp(1_100_000), "side limit"),
    ("bmp-1x1100000", lambda: wide_bmp(1, 1_100_000), "side limit"),
    ("jpeg-5000-scans", lambda: many_scans_jpeg(5000), r"50\d\d scans"),
    ("jpeg-150-scans", lambda: many_scans_jpeg(150), "scans"),
]


@pytest.mark.parametrize("make,expect", [c[1:] for c in REFUSE], ids=[c[0] for c in REFUSE])
def test_bombs_are_refused_before_decoding(make, expect, monkeypatch):
    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1) or real(*a))
    with pytest.raises(InputError, match=expect):
        imageio.decode_image(make(), "bomb")
    assert decoded == []


def test_opencv_errors_never_escape_the_decoder(monkeypatch):
    def fail(*a):
        raise cv2.error("OpenCV(5.0) imgcodecs: (-215:Assertion failed) size.width <= (1<<20)")

    monkeypatch.setattr(cv2, "imdecode", fail)
    with pytest.raises(InputError, match="cannot be decoded"):
        imageio.decode_image(_jpeg(8, 8), "x.jpg")


def test_corpus_from_folder_checks_headers_before_decoding(tmp_path, monkeypatch):
    from edgecolor.data.corpus import build_corpus

    photos = tmp_path / "photos"
    photos.mkdir()
    sof = bytearray(_jpeg(16, 16))
    at = sof.index(b"\xff\xc0")
    sof[at + 5 : at + 9] = struct.pack(">HH", 16384, 16384)
    (photos / "huge.jpg").write_bytes(bytes(sof))
    (photos / "wide.bmp").write_bytes(wide_bmp(1_100_000))
    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1) or real(*a))
    with pytest.raises(DataError, match="no usable photos"):
        build_corpus(tmp_path / "corpus", from_folder=photos)
    assert decoded == []


# --- videos and streams -------------------------------------------------------------------------------------
def mjpeg_avi(path: Path, frames: int = 8, size: tuple[int, int] = (32, 24), broken: tuple[int, ...] = ()) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for k in range(frames):
        writer.write(random_bgr(size[1], size[0], seed=k))
    writer.release()
    data = bytearray(path.read_bytes())
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    for b in broken:
        data[soi[b] : soi[b] + 300] = bytes(300)
    path.write_bytes(bytes(data))
    return path


def claim_frames(path: Path, count: int) -> Path:
    data = bytearray(path.read_bytes())
    avih, strh = data.index(b"avih") + 8, data.index(b"strh") + 8
    data[avih + 16 : avih + 20] = struct.pack("<I", count)  # dwTotalFrames
    data[strh + 32 : strh + 36] = struct.pack("<I", count)  # dwLength
    path.write_bytes(bytes(data))
    return path


READ_CASES = [
    ("clean", lambda p: mjpeg_avi(p), 8, 0),
    ("claims-2^31-1-frames", lambda p: claim_frames(mjpeg_avi(p), 2**31 - 1), 8, 0),
    ("first-three-broken", lambda p: mjpeg_avi(p, broken=(0, 1, 2)), 5, 3),
    ("middle-broken", lambda p: mjpeg_avi(p, broken=(3,)), 7, 1),
]


@pytest.mark.parametrize("make,frames,skipped", [c[1:] for c in READ_CASES], ids=[c[0] for c in READ_CASES])
def test_video_reader_counts_only_real_skips(make, frames, skipped, tmp_path):
    reader = imageio.VideoReader(make(tmp_path / "v.avi"))
    got = list(reader.indexed())
    reader.close()
    assert (len(got), reader.skipped) == (frames, skipped)
    assert [i for i, _ in got] == sorted(i for i, _ in got)


@pytest.mark.parametrize("size", [(321, 241), (3, 5), (320, 240)])
def test_odd_sized_videos_keep_every_pixel_in_avi(size, tmp_path):
    writer = imageio.VideoWriter(tmp_path / "o.avi", 10.0)
    for k in range(3):
        writer.write(random_bgr(size[1], size[0], seed=k))
    writer.close()
    cap = cv2.VideoCapture(str(tmp_path / "o.avi"))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape[:2] == (size[1], size[0])


def test_odd_sized_mp4_is_refused_with_the_remedy(tmp_path):
    writer = imageio.VideoWriter(tmp_path / "o.mp4", 10.0)
    with pytest.raises(OutputError, match=r"321x241.*\.avi"):
        writer.write(random_bgr(241, 321))
    assert list(tmp_path.iterdir()) == []


def test_videos_have_the_pixel_limit(tmp_path, monkeypatch):
    path = mjpeg_avi(tmp_path / "v.avi")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 32 * 24 - 1)
    with pytest.raises(InputError, match="32x24, larger than"):
        imageio.VideoReader(path)


class FakeCapture:
    """An OpenCV capture that reports ``size`` and returns ``frames`` (e.g. an HTTP MJPEG camera)."""

    def __init__(self, size: tuple[int, int], frames: list[np.ndarray]) -> None:
        self.size, self.frames, self.released = size, list(frames), False

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FRAME_WIDTH: self.size[0], cv2.CAP_PROP_FRAME_HEIGHT: self.size[1]}.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def release(self) -> None:
        self.released = True


def test_streams_announcing_huge_frames_are_refused_before_reading():
    from edgecolor.stream.sources import CaptureSource

    cap = FakeCapture((12000, 12000), [])
    with pytest.raises(InputError, match="12000x12000, larger than"):
        CaptureSource(cap, "http://camera/stream.mjpg")
    assert cap.released


def test_stream_frames_past_the_limit_are_dropped_not_queued(monkeypatch):
    from edgecolor.stream.sources import CaptureSource, Reconnect

    monkeypatch.setattr(imageio, "MAX_PIXELS", 100)
    frames = [random_bgr(8, 8), random_bgr(20, 20), random_bgr(8, 8)]
    src = CaptureSource(FakeCapture((8, 8), frames), "http://camera/stream.mjpg", policy=Reconnect(enabled=False,
                                                                                                  lost_after_s=0.0))
    got = [f.image.shape for f in src.frames()]
    assert got == [(8, 8, 3), (8, 8, 3)] and src.skipped >= 1


def test_colorize_refuses_an_oversized_video_with_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from edgecolor.cli import app

    from helpers import tiny_colorizer

    model = tiny_colorizer(tmp_path / "m.onnx")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 32 * 24 - 1)
    res = CliRunner().invoke(app, ["colorize", str(mjpeg_avi(tmp_path / "v.avi")), "-o", str(tmp_path / "o.avi"),
                                   "--model", str(model)])
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1 and "larger than" in errors[0], res.output
    assert not (tmp_path / "o.avi").exists()


def test_header_parsers_read_files_lazily(tmp_path):
    """probe_image reads only what the header needs: a TIFF's directory is found by seeking, not by
    reading the file."""
    from edgecolor.imageheader import Header, image_size

    data = tiff_ifd_at_end()

    class Counting:
        def __init__(self) -> None:
            self.read_bytes, self.pos = 0, 0

        def seek(self, pos: int) -> None:
            self.pos = pos

        def read(self, n: int) -> bytes:
            chunk = data[self.pos : self.pos + n]
            self.read_bytes += len(chunk)
            return chunk

    f = Counting()
    assert image_size(Header(f)) == (256, 256)  # type: ignore[arg-type]
    assert f.read_bytes < 1024
