"""Frame sources: cameras (V4L2, Jetson CSI), RTSP, video files, image folders and single images.

Every source yields :class:`Frame` objects: a BGR uint8 ``H x W x 3`` image with its index in the source
and its capture time (``time.perf_counter()`` right after the frame was read), so the pipeline can report
capture-to-output latency. A *live* source (camera, RTSP, or a file paced with ``realtime=True``) runs at
its own rate whatever the consumer does; the pipeline drops frames for it instead of queueing them.

Spec strings: ``camera:N``, ``/dev/videoN``, ``csi:N``, ``rtsp://...``, a video file, a folder of images,
or one image file.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from edgecolor.errors import InputError
from edgecolor.imageio import VideoReader, is_image, is_video, read_image

log = logging.getLogger(__name__)

MAX_READ_FAILURES = 50  # consecutive failed reads after which a live source is considered gone


@dataclass(frozen=True)
class Frame:
    """One captured frame: ``image`` is BGR uint8 ``H x W x 3``; ``captured`` is ``perf_counter`` seconds."""

    index: int
    captured: float
    image: np.ndarray


class Source:
    """Base: iterate :meth:`frames`; ``skipped`` counts unreadable frames; ``close`` releases the device."""

    live = False
    fps: float | None = None

    def __init__(self, name: str) -> None:
        self.name = name
        self._skipped = 0

    @property
    def skipped(self) -> int:
        return self._skipped

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""


def _pace(index: int, t0: float, fps: float | None) -> None:
    """With ``fps``, sleep until frame ``index`` is due at ``t0 + index / fps``."""
    if fps:
        delay = t0 + index / fps - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


class VideoFileSource(Source):
    """A video file (broken frames skipped and counted by :class:`VideoReader`); ``Frame.index`` is the
    index in the file."""

    def __init__(self, path: Path, realtime: bool = False) -> None:
        super().__init__(str(path))
        self._reader = VideoReader(path)  # validates the file, with one-line errors
        self.fps, self.frame_count = self._reader.fps, self._reader.frame_count
        self.live = realtime

    @property
    def skipped(self) -> int:
        return self._reader.skipped

    def frames(self) -> Iterator[Frame]:
        t0 = time.perf_counter()
        for index, image in self._reader.indexed():
            _pace(index, t0, self.fps if self.live else None)
            yield Frame(index, time.perf_counter(), np.ascontiguousarray(image))

    def close(self) -> None:
        self._reader.close()


class ImagesSource(Source):
    """A folder of images (sorted by name) or one image; unreadable images are skipped and counted."""

    def __init__(self, paths: list[Path], name: str, fps: float = 10.0, realtime: bool = False) -> None:
        super().__init__(name)
        self.paths = paths
        self.fps = fps
        self.live = realtime

    def _images(self) -> Iterator[tuple[int, np.ndarray]]:
        for index, path in enumerate(self.paths):
            try:
                yield index, read_image(path)
            except InputError as err:
                self._skipped += 1
                log.warning("skipped %s", err)

    def frames(self) -> Iterator[Frame]:
        t0 = time.perf_counter()
        for index, image in self._images():
            _pace(index, t0, self.fps if self.live else None)
            yield Frame(index, time.perf_counter(), image)


class CaptureSource(Source):
    """A live OpenCV capture (V4L2 camera, GStreamer CSI pipeline, RTSP); failed reads are counted."""

    live = True

    def __init__(self, cap: cv2.VideoCapture, name: str) -> None:
        super().__init__(name)
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or None

    def frames(self) -> Iterator[Frame]:
        index, failures = 0, 0
        while failures < MAX_READ_FAILURES:
            ok, image = self._cap.read()
            captured = time.perf_counter()
            if not ok or image is None:
                self._skipped += 1
                failures += 1
                time.sleep(0.01)
                continue
            failures = 0
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            yield Frame(index, captured, np.ascontiguousarray(image))
            index += 1
        log.warning("%s stopped delivering frames after %d failed reads", self.name, failures)

    def close(self) -> None:
        self._cap.release()


def gstreamer_available() -> bool:
    """Whether this OpenCV build can open GStreamer pipelines (needed for Jetson CSI cameras)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return line.split(":", 1)[1].strip().upper().startswith("YES")
    return False


def csi_pipeline(sensor: int, width: int = 1280, height: int = 720, fps: int = 30) -> str:
    """The GStreamer pipeline of a Jetson CSI camera: NVMM capture, hardware conversion, BGR into appsink."""
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},framerate={fps}/1 ! "
        "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink drop=true max-buffers=1 sync=false"
    )


def _open_camera(index_or_path: int | str, name: str) -> CaptureSource:
    cap = cv2.VideoCapture(index_or_path, cv2.CAP_V4L2)
    if not cap.isOpened():
        cap.release()
        raise InputError(
            f"camera {name} cannot be opened (missing, busy, or no permission)",
            "check it is connected and free: v4l2-ctl --list-devices",
        )
    return CaptureSource(cap, name)


def _open_rtsp(url: str, timeout_s: float) -> CaptureSource:
    parsed = urlparse(url)
    host, port = parsed.hostname or "", parsed.port or 554
    remedy = "check the URL and that the camera or RTSP server is running"
    # FFmpeg's own failure is a long, silent timeout; a TCP probe answers "refused" at once
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except ConnectionRefusedError as exc:
        raise InputError(f"RTSP server {host}:{port} refused the connection", remedy) from exc
    except OSError as exc:
        raise InputError(f"RTSP server {host}:{port} is unreachable ({exc.strerror or exc})", remedy) from exc
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(timeout_s * 1000),
    ]
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise InputError(f"RTSP stream {url} cannot be opened", remedy)
    return CaptureSource(cap, url)


def open_source(spec: str, realtime: bool = False, image_fps: float = 10.0, timeout_s: float = 5.0) -> Source:
    """Open a source from its spec string (see the module docstring) or raise :class:`InputError`."""
    if m := re.fullmatch(r"camera:(\d+)", spec):
        return _open_camera(int(m[1]), f"{spec} (/dev/video{m[1]})")
    if re.fullmatch(r"/dev/video\d+", spec):
        if not Path(spec).exists():
            raise InputError(
                f"camera {spec} does not exist", "check it is connected: v4l2-ctl --list-devices"
            )
        return _open_camera(spec, spec)
    if m := re.fullmatch(r"csi:(\d+)", spec):
        if not gstreamer_available():
            raise InputError(
                "this OpenCV build has no GStreamer support, which CSI cameras need",
                "on Jetson use the system OpenCV (JetPack's python3-opencv), not the pip wheel",
            )
        cap = cv2.VideoCapture(csi_pipeline(int(m[1])), cv2.CAP_GSTREAMER)
        if not cap.isOpened():
            raise InputError(
                f"CSI camera {m[1]} cannot be opened", "check the ribbon cable and nvargus-daemon"
            )
        return CaptureSource(cap, spec)
    if spec.startswith(("rtsp://", "rtsps://")):
        return _open_rtsp(spec, timeout_s)
    path = Path(spec)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.is_file() and is_image(p))
        if not images:
            raise InputError(f"folder {path} has no images", "pass a folder with .jpg/.png files")
        return ImagesSource(images, str(path), image_fps, realtime)
    if not path.exists():
        raise InputError(
            f"source {spec} does not exist",
            "pass camera:N, /dev/videoN, csi:N, rtsp://..., a video, an image folder or an image",
        )
    if is_video(path):
        return VideoFileSource(path, realtime)
    if is_image(path):
        read_image(path)  # fail now, with a one-line error, rather than mid-run
        return ImagesSource([path], str(path), image_fps, realtime)
    raise InputError(
        f"{path} is neither a video nor an image by its extension", "pass .mp4/.avi/.jpg/.png/..."
    )
