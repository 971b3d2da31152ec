"""Reading and writing images and videos at the edge of the program.

Frames at every public boundary are ``numpy.uint8``, ``H x W x 3``, BGR, C-contiguous (OpenCV's
convention). Everything written goes to a temporary file in the destination folder first and is renamed
into place, so an interrupted or failed run never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import math
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edgecolor import inputs
from edgecolor.choices import VideoCodec
from edgecolor.errors import InputError, OutputError
from edgecolor.imageheader import FORMATS as IMAGE_FORMATS
from edgecolor.imageheader import Header, image_size, jpeg_scans
from edgecolor.signals import held
from edgecolor.video_encode import (
    AvEncoder,
    Encoding,
    SourceStreams,
    check_encoding,
    count_video_frames,
    exact_rate,
    probe_source,
)

log = logging.getLogger(__name__)

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}
# Refuse decoding past this many pixels (~8k x 8k) instead of exhausting memory; images, video frames
# and stream frames alike.
MAX_PIXELS = 8192 * 8192
# OpenCV's own per-side limit (CV_IO_MAX_IMAGE_WIDTH/HEIGHT, 2^20): past it imdecode raises cv2.error.
MAX_SIDE = 1 << 20
# A progressive JPEG decodes every scan over the whole image: usual files have ~10 scans (jpegtran's
# script), mozjpeg's up to ~30; thousands (a CPU bomb: 5,000 took ~70 s) are refused from the markers.
MAX_JPEG_SCANS = 100
# OpenCV applies EXIF orientation for these flags (not for IMREAD_UNCHANGED) and keeps 16-bit/float depth.
_DECODE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTS


def check_header(data: bytes | Header, name: str = "image", max_pixels: int | None = None) -> tuple[int, int]:
    """``(width, height)`` from the encoded image's header, or :class:`InputError` if it is unknown, empty or
    larger than ``max_pixels`` (default :data:`MAX_PIXELS`) / :data:`MAX_SIDE`. Reads no pixels."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes)", "pass a JPEG/PNG/WebP image")
    size = image_size(data)
    if size is None or 0 in size:
        raise InputError(f"{name} is not a readable image (corrupt, cut short or not {IMAGE_FORMATS})",
                         "pass a JPEG/PNG/WebP image")
    check_pixels(size[0], size[1], name, max_pixels)
    return size


def is_bgr_frame(a: object, batch: bool = False) -> bool:
    """Whether ``a`` is a frame as edgecolor passes frames between its parts (engines, the stabiliser, the
    browser view): a uint8 BGR ``H x W x 3`` array (``batch``: ``N x H x W x 3``) with no empty side."""
    return (isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.ndim == (4 if batch else 3)
            and a.shape[-1] == 3 and a.size > 0)


class TooManyPixels(InputError):
    """An image or frame past the pixel limit; ``pixels`` and ``limit`` say by how much (a caller with a way to
    raise the limit, such as ``colorize --max-pixels``, names it from these)."""

    def __init__(self, name: str, width: int, height: int, limit: int, remedy: str = "downscale it first") -> None:
        self.name, self.width, self.height, self.pixels, self.limit = name, width, height, width * height, limit
        super().__init__(f"{name} is {width}x{height}, larger than the {megapixels(limit)} MP limit", remedy)


def megapixels(pixels: int) -> str:
    """``pixels`` in millions as people say them: 67 for 8192 x 8192, 115 for 12000 x 9600, 0.3 for 640 x 480."""
    return f"{pixels / 1e6:.0f}" if pixels >= 10**7 else f"{pixels / 1e6:.2g}"


def check_pixels(width: int, height: int, name: str = "image", max_pixels: int | None = None) -> None:
    """:class:`InputError` when a ``width x height`` image, video frame or stream frame is past the limits
    (``max_pixels``, default :data:`MAX_PIXELS`: :class:`TooManyPixels`; :data:`MAX_SIDE`)."""
    limit = MAX_PIXELS if max_pixels is None else max_pixels  # read at call time: tests lower it
    if width * height > limit:
        raise TooManyPixels(name, width, height, limit)
    if max(width, height) > MAX_SIDE:
        raise InputError(f"{name} is {width}x{height}, larger than the {MAX_SIDE}-pixel side limit",
                         "downscale it first")


def probe_image(path: str | Path, max_pixels: int | None = None) -> tuple[int, int]:
    """Check an image file's header without decoding it (reads only the header's bytes); see
    :func:`check_header`."""
    path = inputs.require_file(path, "image")
    try:
        with open(path, "rb") as f:
            if not f.read(1):
                raise InputError(f"{path} is empty (0 bytes)", "pass a JPEG/PNG/WebP image")
            return check_header(Header(f), str(path), max_pixels)  # type: ignore[arg-type]
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", "check the path and its permissions") from exc


def decode_image(data: bytes, name: str = "image", max_pixels: int | None = None) -> np.ndarray:
    """Decode encoded bytes to a BGR uint8 frame; gray, RGBA, 16-bit and palette images become 8-bit BGR.
    Larger than ``max_pixels`` (default :data:`MAX_PIXELS`): :class:`TooManyPixels`, before decoding."""
    check_header(data, name, max_pixels)  # refuse huge images before the decoder allocates them
    scans = jpeg_scans(data)
    if scans > MAX_JPEG_SCANS:
        raise InputError(f"{name} is a progressive JPEG of {scans} scans (at most {MAX_JPEG_SCANS} are decoded)",
                         "re-encode it as a baseline JPEG or PNG")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, _DECODE_FLAGS)  # EXIF orientation applied: the frame is upright
    except cv2.error as exc:  # a limit of OpenCV's that the header check does not know
        raise InputError(f"{name} cannot be decoded ({str(exc).strip().splitlines()[-1][:100]})",
                         "pass a JPEG/PNG/WebP image") from exc
    if img is None or img.size == 0:
        raise InputError(f"{name} is not a readable image (corrupt or unsupported format)",
                         "pass a JPEG/PNG/WebP image")
    check_pixels(img.shape[1], img.shape[0], name, max_pixels)  # a header that lied
    if img.dtype != np.uint8:  # 16-bit PNG/TIFF, float EXR: scale to 8 bits
        if img.dtype.kind == "f":  # a few NaN/inf pixels must not stretch the rest to black
            finite = np.isfinite(img)
            lo, hi = (float(img[finite].min()), float(img[finite].max())) if finite.any() else (0.0, 0.0)
            img = np.nan_to_num(img, nan=lo, posinf=hi, neginf=lo)
            img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)  # type: ignore[call-overload]
        else:
            img = np.right_shift(img, 8)
        img = np.asarray(img).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.shape[2] == 1:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img)


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as a BGR uint8 ``H x W x 3`` frame, or raise :class:`InputError` (past ``max_pixels``,
    default :data:`MAX_PIXELS`: :class:`TooManyPixels`)."""
    data = inputs.read_bytes(path, "image")  # regular files only: a FIFO or /dev/zero is refused, not read
    return decode_image(data, str(path), max_pixels)


_TOKEN_BYTES = 4  # the random part of a temporary name: 8 hex digits


def _temp_parts(path: Path) -> tuple[str, str]:
    """The stem and extension a temporary name beside ``path`` keeps: short enough to fit NAME_MAX even when
    ``path``'s name uses all of it (the extension is kept where it fits: OpenCV's video writer picks the
    container by it)."""
    return path.stem[:32], path.suffix if len(path.suffix.encode()) <= 32 else ""


def _temp_name(path: Path) -> str:
    """A hidden temporary name beside ``path``: ``.STEM.XXXXXXXX.partialSUFFIX``."""
    stem, suffix = _temp_parts(path)
    return f".{stem}.{secrets.token_hex(_TOKEN_BYTES)}.partial{suffix}"


def remove_orphaned_temps(path: str | Path) -> int:
    """Delete the temporary files :func:`atomic_output` left beside ``path`` when a writer was killed mid-write
    (SIGKILL, a lost Ray actor: no ``finally`` ran). Only for a caller that owns ``path`` and whose writers have
    all stopped. Returns how many were removed."""
    path = Path(path)
    stem, suffix = _temp_parts(path)
    pattern = re.compile(rf"\.{re.escape(stem)}\.[0-9a-f]{{{2 * _TOKEN_BYTES}}}\.partial{re.escape(suffix)}")
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(stem)}.*.partial*"):
        if pattern.fullmatch(tmp.name):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same extension); rename it into place only on success."""
    path = inputs.check_output(path)
    blocker = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise OutputError(f"cannot write {path}: {blocker} is a file, not a folder", "choose another output location")
    tmp = path.parent / _temp_name(path)
    made = False
    try:
        with held():  # an interrupt as the file is made lands in this try, with the file known to the finally
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                made = True
            except OSError as exc:
                raise OutputError(f"cannot write to {path.parent}: {exc.strerror or exc}",
                                  "choose a writable output location") from exc
        yield tmp
        os.chmod(tmp, 0o644)  # created 0600; outputs are ordinary files others may read
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", "check free space and permissions") from exc
    finally:
        if made:
            tmp.unlink(missing_ok=True)


def write_image(path: str | Path, frame: np.ndarray) -> None:
    """Encode ``frame`` by the file extension and write it atomically."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", frame)
    if not ok:
        raise OutputError(f"cannot encode an image as '{path.suffix}'", "use .png or .jpg")
    with atomic_output(path) as tmp:
        tmp.write_bytes(buf.tobytes())


class VideoReader:
    """Iterate BGR frames of a video file. A frame that fails to decode is skipped and counted, and reading
    goes on with the next one; the file ends after ``MAX_CONSECUTIVE_FAILURES`` failed reads in a row.

    The container's frame count is only a hint (an AVI header can claim 2^31 - 1 frames): failed reads are
    counted as skipped only when a good frame follows them, so the end of the file is never "skipped"."""

    MAX_CONSECUTIVE_FAILURES = 100

    def __init__(self, path: str | Path, max_pixels: int | None = None) -> None:
        self.path = Path(path)
        self.max_pixels = max_pixels
        if inputs.kind(self.path, "video") != "file":  # a FIFO or device is refused, not opened (a hang)
            raise InputError(f"video {self.path} does not exist", "check the path")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"{self.path} is not a readable video",
                             "pass an MP4/AVI/MKV file OpenCV's FFmpeg can decode")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.fps = fps if math.isfinite(fps) and 0 < fps <= 1000 else 25.0
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if math.isfinite(count) and count > 0 else 0
        self.skipped = 0
        self._start, self._at_ms = 0, 0.0  # see seek()
        width, height = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        try:
            check_pixels(width, height, f"video {self.path}", max_pixels)  # before FFmpeg allocates frames
        except InputError:
            self._cap.release()
            raise

    def seek(self, index: int, at_ms: float) -> None:
        """Start reading at frame ``index``, shown ``at_ms`` milliseconds after the video's first frame. OpenCV seeks
        to the keyframe before it and decodes up to it; its frame numbers come from the frame rate, so on a
        variable-rate file it can land elsewhere: the first frame read is checked against ``at_ms`` (within half a
        frame) and, if it is not that frame, the file is read again from the start up to ``index`` (slow, exact)."""
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._start, self._at_ms = index, at_ms

    def _landed(self) -> bool:
        """After a :meth:`seek` and the first grab: whether it is the frame asked for (else it is read again)."""
        if abs(self._cap.get(cv2.CAP_PROP_POS_MSEC) - self._at_ms) <= 500 / self.fps:
            return True
        log.warning("%s: seeking to frame %d landed elsewhere; reading up to it from the start", self.path,
                    self._start)
        self._cap.release()
        self._cap = cv2.VideoCapture(str(self.path))
        for _ in range(self._start):
            if not self._cap.grab():
                break
        return False

    def indexed(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index in the file, frame)``."""
        index, failures = self._start, 0
        check = index > 0
        while failures < self.MAX_CONSECUTIVE_FAILURES:
            # No seek after a failure: FFmpeg has consumed the broken packet and goes on with the next one
            # (seeking back into broken frames lost the whole file when its first frames were broken).
            ok = self._cap.grab()
            if ok and check:
                check = False
                if not self._landed():
                    continue
            frame = self._cap.retrieve()[1] if ok else None
            if frame is None:
                failures += 1
                index += 1
                continue
            if failures:
                self.skipped += failures
                log.warning("%s: %d unreadable frame(s) before frame %d skipped", self.path, failures, index)
                failures = 0
            check_pixels(frame.shape[1], frame.shape[0], f"a frame of video {self.path}", self.max_pixels)
            yield index, frame
            index += 1

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, frame in self.indexed():
            yield frame

    def close(self) -> None:
        self._cap.release()


def space_note(path: Path) -> str:
    """``" (only N kB free on its file system)"`` when the destination's file system is nearly full, else ``""``."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return ""
    return f" (only {free // 1024} kB free on its file system)" if free < 64 << 20 else ""


MAX_WRITER_FPS = 65535  # FFmpeg's MPEG-4 time base is 16-bit: the mp4v writer refuses a faster frame rate


def _writer_refused(path: Path, fps: float, w: int, h: int, fourcc: str) -> OutputError:
    """Why OpenCV's writer did not open, as far as it can be told (it only says "not opened")."""
    if not 0 < fps <= MAX_WRITER_FPS:
        return OutputError(f"cannot write {path} at {fps:g} frames/s (the input's frame rate): the '{fourcc}' "
                           f"writer takes at most {MAX_WRITER_FPS}", "re-encode the input with a real frame rate, "
                           "e.g. ffmpeg -i IN -r 30 OUT.mp4")
    if min(w, h) < 2:
        return OutputError(f"cannot write {path}: {w}x{h} frames are too small for the '{fourcc}' codec",
                           "use an image output (.png) for frames under 2x2 pixels")
    if note := space_note(path):
        return OutputError(f"cannot open a video writer for {path}{note}", "free disk space or choose another "
                           "output location")
    return OutputError(f"cannot open a '{fourcc}' video writer for {path} ({w}x{h} at {fps:g} frames/s)",
                       "use an .mp4 or .avi output name in a writable folder")


def av_errors() -> type[Exception]:
    """PyAV's base exception (imported late: PyAV loads FFmpeg's libraries)."""
    import av

    return av.FFmpegError


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``frame`` (BGR uint8 H x W x 3) scaled to fit ``width x height`` with its shape kept, centred on black."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    fw, fh = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fw) // 2, (height - fh) // 2
    out[y:y + fh, x:x + fw] = cv2.resize(frame, (fw, fh), interpolation=cv2.INTER_AREA if scale < 1 else
                                         cv2.INTER_LINEAR)
    return out


def _playable_frames(path: Path, most: int) -> int:
    """How many frames of ``path`` decode, reading at most ``most``."""
    cap = cv2.VideoCapture(str(path))
    count = 0
    while count < most and cap.isOpened() and cap.grab():
        count += 1
    cap.release()
    return count


class VideoWriter:
    """Write BGR frames to a video file atomically (the file appears only after :meth:`close`).

    A video file has one frame size, its first frame's. A frame of another size (a camera that reconnects in
    another mode, a stream that changes resolution) is scaled to fit it, its shape kept (black bars), and
    ``rescaled`` counts those frames; one warning per new size says so. Why not a new file per size: the
    recording stays the one file the user named, playable in any player; the frames lose resolution
    rather than being lost (OpenCV's writer silently drops a frame of another size, and the whole file was then
    refused as incomplete)."""

    def __init__(self, path: str | Path, fps: float, fourcc: str = "mp4v", encoding: Encoding | None = None,
                 copy_from: str | Path | None = None, source: SourceStreams | None = None) -> None:
        self.path = Path(path)
        self.source = source  # the input's streams and frame times, if already probed (else probed from copy_from)
        self.fps = fps
        self.fourcc = fourcc
        # .avi stays with OpenCV's writer (mp4v, MJPEG for odd sizes or --codec mjpeg): AVI is no browser format,
        # and a recording cut short plays without its index. Every other extension is encoded by PyAV.
        self._opencv = self.path.suffix.lower() == ".avi"
        self.encoding = encoding or Encoding()
        check_encoding(self.path, self.encoding)  # a codec the container cannot hold: refused before any work
        self.copy_from = Path(copy_from) if copy_from is not None else None
        self._ctx = atomic_output(self.path)
        self._tmp = self._ctx.__enter__()
        self._writer: cv2.VideoWriter | None = None
        self._encoder: AvEncoder | None = None
        self._failure: BaseException | None = None
        self._size = (0, 0)
        self._warned: set[tuple[int, int]] = set()
        self.frames = 0
        self.rescaled = 0

    def write(self, frame: np.ndarray, index: int | None = None) -> None:
        """Append ``frame``; ``index`` (PyAV outputs) is its place in the input, whose time it is given (default:
        the count of frames written so far: a part of a video written from frame 1000 on passes 1000, 1001, ...)."""
        h, w = frame.shape[:2]
        if self._writer is None and self._encoder is None:
            self._open(w, h)
        if (w, h) != self._size:
            if (w, h) not in self._warned:
                self._warned.add((w, h))
                log.warning("%s: frames changed from %dx%d to %dx%d at frame %d; they are scaled to fit %dx%d "
                            "(shape kept, black bars): a video file has one frame size", self.path,
                            *self._size, w, h, self.frames, *self._size)
            frame = letterbox(frame, *self._size)
            self.rescaled += 1
        if self._writer is not None:
            self._writer.write(frame)
        elif self._encoder is not None and self._failure is None:
            # A failed write (a full disk, a vanished folder) is kept and reported by close(), as OpenCV's
            # writer's were: the frames still count, so the message says how many of how many were kept.
            try:
                self._encoder.write(np.ascontiguousarray(frame), self.frames if index is None else index)
            except (OSError, av_errors()) as exc:
                self._failure = exc
        self.frames += 1

    def _open(self, w: int, h: int) -> None:
        if not self._opencv:
            if min(w, h) < 2 and self.encoding.resolve(self.path)[1].odd_sizes:  # else: refused as odd
                self.abort()
                raise OutputError(f"cannot write {self.path}: {w}x{h} frames are too small for a video codec",
                                  "use an image output (.png) for frames under 2x2 pixels")
            if not 0 < self.fps <= MAX_WRITER_FPS:
                self.abort()
                raise _writer_refused(self.path, self.fps, w, h, "h264")
            source = self.source or (probe_source(self.copy_from) if self.copy_from is not None else None)
            rate = source.rate if source is not None and source.rate and \
                abs(float(source.rate) - self.fps) < 0.01 else exact_rate(self.fps)
            try:
                self._encoder = AvEncoder(self._tmp, self.path, w, h, rate, self.encoding, self.copy_from, source)
            except OutputError:
                self.abort()
                raise
            except (OSError, av_errors()) as exc:
                self.abort()
                raise OutputError(f"cannot open a video encoder for {self.path} ({w}x{h} at {self.fps:g} "
                                  f"frames/s): {str(exc)[:120]}{space_note(self.path)}",
                                  "try another --codec, or free disk space") from exc
            self._size = (w, h)
            return
        mjpeg = self.encoding.codec is VideoCodec.MJPEG
        if w % 2 or h % 2 or mjpeg:  # OpenCV's FFmpeg writer drops the last odd row/column without a word
            # OpenCV's own MJPEG writer keeps every pixel
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter.fourcc(*"MJPG"),
                                           self.fps, (w, h))
        else:
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter.fourcc(*self.fourcc), self.fps, (w, h))
        if not self._writer.isOpened():
            self.abort()
            raise _writer_refused(self.path, self.fps, w, h, "MJPG" if mjpeg else self.fourcc)
        self._size = (w, h)

    def close(self, keep_partial: bool = False) -> None:
        """Finish the file and rename it into place after checking it plays back to its last frame. One that
        stops short is an :class:`OutputError` naming why; with ``keep_partial`` (a live recording, which cannot
        be made again) the frames that do play are kept under the final name first, and the error says so."""
        if self._writer is not None:
            self._writer.release()
        if self._encoder is not None:
            encoder, self._encoder = self._encoder, None
            try:
                encoder.close() if self._failure is None else encoder.release()
            except (OSError, av_errors()) as exc:
                self._failure = self._failure or exc
        if self.frames == 0:
            self.abort()
            raise OutputError(f"no frames were written to {self.path}", "check that the input has readable frames")
        # OpenCV's writer never reports a failed write (a full disk, a vanished folder), and an encoder's error
        # was kept: check the file holds every frame before it is renamed into place.
        if self._opencv:
            check = cv2.VideoCapture(str(self._tmp))
            written = int(check.get(cv2.CAP_PROP_FRAME_COUNT)) if check.isOpened() else 0
            check.release()
        else:
            written = count_video_frames(self._tmp) if self._tmp.exists() else 0
        if written >= self.frames:
            self._ctx.__exit__(None, None, None)
            return
        why, remedy = self._why_short()
        if keep_partial and written == 0 and self._tmp.exists():  # no index (a full disk cut the end off):
            written = _playable_frames(self._tmp, self.frames)  # count the frames that do decode
        if keep_partial and written > 0:
            self._ctx.__exit__(None, None, None)
            raise OutputError(f"{self.path} keeps only its first {written} of {self.frames} frames: {why}", remedy)
        self.abort()
        raise OutputError(f"cannot write {self.path}: the video is incomplete ({written} of {self.frames} frames): "
                          f"{why}", remedy)

    def _why_short(self) -> tuple[str, str]:
        """Why the file holds fewer frames than were written to it, as far as can be told, and the remedy."""
        if not self._tmp.exists():
            if not self.path.parent.is_dir():
                return (f"its folder {self.path.parent} was removed while it was written",
                        "keep the output folder until the command ends, or choose another output location")
            return (f"its temporary file {self._tmp.name} was removed while it was written",
                    "leave the output folder's .partial files alone until the command ends")
        if note := space_note(self.path):
            return f"the disk is nearly full{note}", "free disk space or choose another output location"
        if self._failure is not None:
            return (f"the encoder failed: {str(self._failure)[:120]}", "check the output file system (free space, "
                    "quota, errors) or choose another output location")
        return ("OpenCV's writer stopped without saying why", "check the output file system (free space, quota, "
                "errors) or choose another output location")

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._encoder is not None:
            encoder, self._encoder = self._encoder, None
            with contextlib.suppress(Exception):  # the output is being thrown away: its errors do not matter
                encoder.release()
        with contextlib.suppress(Exception):
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
