"""Frame sources: cameras (V4L2, Jetson CSI), RTSP, video files, image folders and single images.

Every source yields :class:`Frame` objects: a BGR uint8 ``H x W x 3`` image with its index in the source
and its capture time (``time.perf_counter()`` right after the frame was read), so the pipeline can report
capture-to-output latency. A *live* source (camera, RTSP, or a file paced with ``realtime=True``) runs at
its own rate whatever the consumer does; the pipeline drops frames for it instead of queueing them.

Spec strings: ``camera:N``, ``/dev/videoN``, ``csi:N``, ``rtsp://...``, ``http(s)://...`` (e.g. an MJPEG
camera), a video file, a folder of images, or one image file; jetson-utils' spellings are aliases
(``v4l2:///dev/video0``, ``csi://0``, ``file://clip.mp4``). A live source that disappears mid-run is
reopened with backoff (:class:`Reconnect`) and resumes without restarting the process. A file source can
``loop`` (a kiosk demo plays its clip for ever, or ``replays`` times more); frame indices keep counting across
passes. A camera can be asked for a capture mode (:class:`CameraMode`: size, rate, V4L2 pixel format).
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from edgecolor import inputs
from edgecolor.errors import InputError
from edgecolor.imageio import VideoReader, check_pixels, is_image, is_video, read_image
from edgecolor.stream.camera_mode import CSI_DEFAULT, DEVICE_MODE, CameraMode, csi_pipeline, gstreamer_available
from edgecolor.textsafe import redact_url

log = logging.getLogger(__name__)

MAX_READ_FAILURES = 50  # consecutive failed reads after which a live source is considered gone


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``image`` is BGR uint8 ``H x W x 3``; ``captured`` is ``perf_counter`` seconds."""

    index: int
    captured: float
    image: np.ndarray


class Source:
    """Base: iterate :meth:`frames`; ``skipped`` counts unreadable frames; ``close`` releases the device.
    ``paced`` sources (a file played like a camera) add the seconds they sleep to ``paced_s``, so the time spent
    waiting for a frame's turn is not mistaken for decoding."""

    live = False
    paced = False
    fps: float | None = None

    def __init__(self, name: str) -> None:
        self.name = name
        self._skipped = 0
        self.paced_s = 0.0

    @property
    def skipped(self) -> int:
        return self._skipped

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def stop(self) -> None:
        """Ask :meth:`frames` to end soon, from another thread (a reconnecting source stops waiting)."""

    def close(self) -> None:
        """Release the device or file."""


def _pace(index: int, t0: float, fps: float | None) -> float:
    """With ``fps``, sleep until frame ``index`` is due at ``t0 + index / fps``: the one pacing of every source
    that plays a file like a camera (``--realtime``, the soak's looped clip). Returns the seconds slept."""
    if fps:
        delay = t0 + index / fps - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
            return delay
    return 0.0


class VideoFileSource(Source):
    """A video file (broken frames skipped and counted by :class:`VideoReader`); ``Frame.index`` is the
    index in the file, counted on across the passes of a ``loop`` (``replays`` passes after the first; None: for
    ever)."""

    def __init__(self, path: Path, realtime: bool = False, loop: bool = False, replays: int | None = None) -> None:
        super().__init__(str(path))
        self._path, self.loop, self.replays = path, loop, replays
        self._reader = VideoReader(path)  # validates the file, with one-line errors
        self.fps, self.frame_count = self._reader.fps, self._reader.frame_count
        self.live = self.paced = realtime
        self._skipped_before = 0  # by earlier passes of a loop
        self.loops = 0  # passes completed (a looping source)
        self._stopping = threading.Event()

    @property
    def skipped(self) -> int:
        return self._skipped_before + self._reader.skipped

    def stop(self) -> None:
        self._stopping.set()

    def frames(self) -> Iterator[Frame]:
        t0, offset = time.perf_counter(), 0
        while True:
            last = -1
            for index, image in self._reader.indexed():
                self.paced_s += _pace(offset + index, t0, self.fps if self.paced else None)
                yield Frame(offset + index, time.perf_counter(), np.ascontiguousarray(image))
                last = index
                if self._stopping.is_set():
                    return
            if not self.loop or last < 0 or self.loops == self.replays:  # a pass without a frame: no end
                return
            self.loops += 1
            offset += last + 1
            self._skipped_before += self._reader.skipped
            self._reader.close()  # reopen rather than seek: seeking to 0 is unreliable in some containers
            self._reader = VideoReader(self._path)

    def close(self) -> None:
        self._reader.close()


class ImagesSource(Source):
    """A folder of images (sorted by name) or one image; unreadable images are skipped and counted. Loops as
    :class:`VideoFileSource` does."""

    def __init__(self, paths: list[Path], name: str, fps: float = 10.0, realtime: bool = False,
                 loop: bool = False, replays: int | None = None) -> None:
        super().__init__(name)
        self.paths = paths
        self.fps = fps
        self.live = self.paced = realtime
        self.loop, self.replays = loop, replays
        self.loops = 0

    def _images(self) -> Iterator[tuple[int, np.ndarray]]:
        for index, path in enumerate(self.paths):
            try:
                yield index, read_image(path)
            except InputError as err:
                self._skipped += 1
                log.warning("skipped %s", err)

    def frames(self) -> Iterator[Frame]:
        t0, offset = time.perf_counter(), 0
        while True:
            shown = False
            for index, image in self._images():
                self.paced_s += _pace(offset + index, t0, self.fps if self.paced else None)
                yield Frame(offset + index, time.perf_counter(), image)
                shown = True
            if not self.loop or not shown or self.loops == self.replays:
                return
            self.loops += 1
            offset += len(self.paths)


@dataclass(frozen=True)
class Reconnect:
    """How a live source that disappears is retried: a first delay doubling up to ``max_delay_s`` (so a
    source that comes back is picked up within about ``max_delay_s`` plus its open time), for ever unless
    ``max_outage_s`` is set. A kiosk keeps the defaults: the process never has to be restarted."""

    enabled: bool = True
    first_delay_s: float = 0.1
    max_delay_s: float = 0.5
    lost_after_s: float = 2.0  # no frame for this long (or MAX_READ_FAILURES failed reads): the source is gone
    max_outage_s: float | None = None


Opener = Callable[[], "cv2.VideoCapture | None"]


class CaptureSource(Source):
    """A live OpenCV capture (V4L2 camera, GStreamer CSI pipeline, RTSP/HTTP stream); failed reads are
    counted. With ``reopen``, a source that disappears is reopened with backoff (see :class:`Reconnect`)
    and frames resume without restarting the pipeline; ``reconnects`` counts the outages survived."""

    live = True

    def __init__(self, cap: cv2.VideoCapture, name: str, reopen: Opener | None = None,
                 policy: Reconnect = Reconnect()) -> None:
        super().__init__(name)
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        try:
            check_pixels(width, height, f"source {name}")  # refused before the first frame is decoded
        except InputError:
            cap.release()
            raise
        self._cap = cap
        self._reopen, self.policy = reopen, policy
        self._stopping = threading.Event()
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
        self.reconnects = 0

    def frames(self) -> Iterator[Frame]:
        index = 0
        while not self._stopping.is_set():
            for image, captured in self._read_until_lost():
                yield Frame(index, captured, image)
                index += 1
            if self._stopping.is_set() or self._reopen is None or not self.policy.enabled:
                break
            if not self._reconnect(self._reopen):
                break

    def _read_until_lost(self) -> Iterator[tuple[np.ndarray, float]]:
        failures, last_frame = 0, time.perf_counter()
        while failures < MAX_READ_FAILURES and not self._stopping.is_set():
            ok, image = self._cap.read()
            captured = time.perf_counter()
            if not ok or image is None:
                self._skipped += 1
                failures += 1
                if captured - last_frame > self.policy.lost_after_s:
                    break
                time.sleep(0.01)
                continue
            failures, last_frame = 0, captured
            try:  # a stream may change size mid-way: one oversized frame is dropped, never queued
                check_pixels(image.shape[1], image.shape[0], f"a frame of {self.name}")
            except InputError as err:
                self._skipped += 1
                log.warning("skipped %s", err)
                continue
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            yield np.ascontiguousarray(image), captured
        if not self._stopping.is_set():
            log.warning("%s stopped delivering frames after %d failed reads", self.name, failures)

    def _reconnect(self, reopen: Opener) -> bool:
        """Reopen with backoff until it works (True), or the source is stopped / the outage too long (False)."""
        self._cap.release()
        t0, delay = time.perf_counter(), self.policy.first_delay_s
        log.warning("%s lost: reconnecting (backoff %.1f..%.1f s)", self.name, delay, self.policy.max_delay_s)
        while not self._stopping.wait(delay):
            outage = time.perf_counter() - t0
            if self.policy.max_outage_s is not None and outage > self.policy.max_outage_s:
                log.error("%s did not come back within %.0f s: giving up", self.name, self.policy.max_outage_s)
                return False
            cap = reopen()
            if cap is not None and cap.isOpened():
                self._cap = cap
                self.reconnects += 1
                log.warning("%s is back after %.1f s", self.name, time.perf_counter() - t0)
                return True
            if cap is not None:
                cap.release()
            delay = min(delay * 2, self.policy.max_delay_s)
        return False

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        self._stopping.set()
        self._cap.release()


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--source``: ``kind`` is camera | csi | rtsp | http | path; ``target`` the index/URL/path."""

    kind: str
    target: str | int


_SPEC_HELP = (
    "pass camera:N, /dev/videoN, csi:N, rtsp://..., http://.../stream.mjpg, a video, an image folder or an image"
)


def parse_source(spec: str) -> SourceSpec:
    """Parse a source spec string (no I/O), or raise :class:`InputError`."""
    if not spec or not spec.strip() or "\x00" in spec or len(spec) > 4096:
        raise InputError(f"source {spec[:80]!r} is empty or not a valid spec", _SPEC_HELP)
    if m := re.fullmatch(r"(?:camera:|v4l2://)([0-9]{1,4})", spec):
        return SourceSpec("camera", int(m[1]))
    if m := re.fullmatch(r"(?:v4l2://)?(/dev/video[0-9]{1,4})", spec):
        return SourceSpec("camera", m[1])
    if m := re.fullmatch(r"csi(?::|://)([0-9]{1,2})", spec):
        return SourceSpec("csi", int(m[1]))
    if spec.lower().startswith("file://") and spec[len("file://"):].strip():
        return SourceSpec("path", spec[len("file://"):])
    lowered = spec.lower()
    if lowered.startswith(("rtsp://", "rtsps://", "http://", "https://")):
        try:
            parsed = urlparse(spec)
            port = parsed.port
        except ValueError as exc:
            raise InputError(f"source URL {redact_url(spec)[:200]} is malformed ({exc})", _SPEC_HELP) from exc
        if not parsed.hostname or port == 0:
            raise InputError(f"source URL {redact_url(spec)[:200]} has no host or a bad port", _SPEC_HELP)
        return SourceSpec("rtsp" if lowered.startswith("rtsp") else "http", spec)
    if re.match(r"^(camera|csi|v4l2):", spec):
        raise InputError(f"source {spec[:80]} is not camera:N, csi:N or v4l2:///dev/videoN", _SPEC_HELP)
    if m := re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", spec):
        raise InputError(f"source {redact_url(spec)[:80]} uses '{m[1]}://', which edgecolor cannot read", _SPEC_HELP)
    return SourceSpec("path", spec)


def _camera_opener(target: int | str, mode: CameraMode) -> Opener:
    """Opens the V4L2 camera and asks it for ``mode`` (again on every reconnect: a replugged camera starts in
    its driver's default mode)."""
    def open_camera() -> cv2.VideoCapture:
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if cap.isOpened():
            mode.apply(cap)
        return cap

    return open_camera


def _stream_opener(url: str, timeout_s: float) -> Opener:
    """Opens ``url`` with FFmpeg after a TCP probe (FFmpeg's own failure is a long, silent timeout; the
    probe answers "refused" at once). Raises ``OSError`` when the server is not there."""
    parsed = urlparse(url)
    default_port = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}[parsed.scheme.lower()]
    host, port = parsed.hostname or "", parsed.port or default_port
    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]

    def open_stream() -> cv2.VideoCapture:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
        return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)

    return open_stream


def _quiet(opener: Opener) -> Opener:
    """While reconnecting, a refused or unreachable server is just "not back yet"."""

    def attempt() -> cv2.VideoCapture | None:
        try:
            return opener()
        except OSError:
            return None

    return attempt


def _open_camera(target: int | str, name: str, policy: Reconnect, mode: CameraMode) -> CaptureSource:
    opener = _camera_opener(target, mode)
    cap = opener()
    if cap is None or not cap.isOpened():
        if cap is not None:
            cap.release()
        raise InputError(
            f"camera {name} cannot be opened (missing, busy, or no permission)",
            "check it is connected and free: v4l2-ctl --list-devices",
        )
    differences = mode.differences(cap)
    if differences:  # the run goes on at what the camera gives; the operator sees what that is
        device = target if isinstance(target, str) else f"/dev/video{target}"
        log.warning("camera %s delivers %s: its driver chose the nearest mode it has (list them: v4l2-ctl "
                    "--list-formats-ext -d %s)", name, ", ".join(differences), device)
    return CaptureSource(cap, name, opener, policy)


def _open_stream(url: str, timeout_s: float, policy: Reconnect) -> CaptureSource:
    parsed = urlparse(url)
    what = "RTSP" if parsed.scheme.lower().startswith("rtsp") else "HTTP"
    opener = _stream_opener(url, timeout_s)
    remedy = f"check the URL and that the camera or {what} server is running"
    where = f"{parsed.hostname}:{parsed.port or ''}".rstrip(":")
    try:
        cap = opener()
    except ConnectionRefusedError as exc:
        raise InputError(f"{what} server {where} refused the connection", remedy) from exc
    except OSError as exc:
        raise InputError(f"{what} server {where} is unreachable ({exc.strerror or exc})", remedy) from exc
    if cap is None or not cap.isOpened():
        if cap is not None:
            cap.release()
        raise InputError(f"{what} stream {redact_url(url)} cannot be opened", remedy)
    return CaptureSource(cap, redact_url(url), _quiet(opener), policy)  # the name is printed and logged


def check_options(spec: str, loop: bool = False, camera: CameraMode = DEVICE_MODE) -> SourceSpec:
    """The parsed spec, once the options asked for suit it (no I/O; :func:`open_source` checks again): a loop is
    for files; a camera mode for cameras, a pixel format for V4L2 ones (a CSI sensor's frames come through the
    ISP). Raises :class:`InputError` otherwise."""
    parsed = parse_source(spec)
    if loop and parsed.kind != "path":
        raise InputError(f"--loop replays a file, but {redact_url(spec)[:80]} is a live source",
                         "drop --loop/--input-loop (live sources are reconnected when they drop out)")
    if not camera.options:
        return parsed
    if parsed.kind not in ("camera", "csi"):
        raise InputError(f"{', '.join(camera.options)} set a camera's capture mode, but {redact_url(spec)[:80]} is "
                         "not a camera", "drop them: a file or stream comes at its own size and rate")
    if parsed.kind == "csi" and camera.codec is not None:
        raise InputError(f"--input-codec picks a V4L2 camera's format, but {spec} is a CSI camera (raw frames "
                         "through the ISP)", "drop --input-codec; --input-width/--input-height/--input-rate apply")
    return parsed


def open_source(spec: str, realtime: bool = False, image_fps: float = 10.0, timeout_s: float = 5.0,
                reconnect: Reconnect = Reconnect(), loop: bool = False, replays: int | None = None,
                camera: CameraMode = DEVICE_MODE) -> Source:
    """Open a source from its spec string (see the module docstring) or raise :class:`InputError`.
    Live sources that disappear later are retried per ``reconnect``; one absent at the start is an error.
    ``loop`` replays a file source (video, image folder, image) from the start when it ends: ``replays`` times
    (None: for ever). ``camera`` is the mode asked of a camera; refused for any other source."""
    parsed = check_options(spec, loop, camera)
    if parsed.kind == "camera":
        if isinstance(parsed.target, int):
            return _open_camera(parsed.target, f"{spec} (/dev/video{parsed.target})", reconnect, camera)
        if not Path(parsed.target).exists():
            raise InputError(f"camera {spec} does not exist", "check it is connected: v4l2-ctl --list-devices")
        return _open_camera(parsed.target, spec, reconnect, camera)
    if parsed.kind == "csi":
        if not gstreamer_available():
            raise InputError(
                "this OpenCV build has no GStreamer support, which CSI cameras need",
                "on Jetson use the system OpenCV (JetPack's python3-opencv), not the pip wheel",
            )
        width, height = (camera.width, camera.height) if camera.width and camera.height else CSI_DEFAULT[:2]
        pipeline = csi_pipeline(int(parsed.target), int(width), int(height), camera.fps or CSI_DEFAULT[2])

        def open_csi() -> cv2.VideoCapture:
            return cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)

        cap = open_csi()
        if not cap.isOpened():
            raise InputError(
                f"CSI camera {parsed.target} cannot be opened", "check the ribbon cable and nvargus-daemon"
            )
        return CaptureSource(cap, spec, open_csi, reconnect)
    if parsed.kind in ("rtsp", "http"):
        return _open_stream(spec, timeout_s, reconnect)
    path = Path(str(parsed.target))
    found = inputs.kind(path, "source")  # a FIFO or device path is refused here, not opened (a hang)
    if found == "dir":
        images = inputs.folder_files(path, is_image, "source folder")
        if not images:
            raise InputError(f"folder {path} has no images", "pass a folder with .jpg/.png files")
        return ImagesSource(images, str(path), image_fps, realtime, loop, replays)
    if found == "missing":
        raise InputError(f"source {path} does not exist", _SPEC_HELP)
    if is_video(path):
        return VideoFileSource(path, realtime, loop, replays)
    if is_image(path):
        read_image(path)  # fail now, with a one-line error, rather than mid-run
        return ImagesSource([path], str(path), image_fps, realtime, loop, replays)
    raise InputError(
        f"{path} is neither a video nor an image by its extension", "pass .mp4/.avi/.jpg/.png/..."
    )
