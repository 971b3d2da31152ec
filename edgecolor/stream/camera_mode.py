"""What a camera is asked for: :class:`CameraMode` (jetson-utils' ``--input-width``, ``--input-height``,
``--input-rate``, ``--input-codec``), applied to a V4L2 capture through OpenCV's properties or written into a
Jetson CSI camera's GStreamer caps (:func:`csi_pipeline`). The sources themselves are in
:mod:`edgecolor.stream.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import cv2

from edgecolor.choices import CameraCodec
from edgecolor.errors import InputError


def gstreamer_available() -> bool:
    """Whether this OpenCV build can open GStreamer pipelines (needed for Jetson CSI cameras)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return line.split(":", 1)[1].strip().upper().startswith("YES")
    return False


FOURCC = {CameraCodec.MJPEG: "MJPG", CameraCodec.YUYV: "YUYV", CameraCodec.H264: "H264"}
CSI_DEFAULT = (1280, 720, 30.0)  # width, height, frames/s: a mode every Jetson CSI sensor module offers
MAX_SIDE, MAX_RATE = 16384, 1000  # pixels, frames/s: beyond any camera


@dataclass(frozen=True)
class CameraMode:
    """The capture mode asked of a camera, by jetson-utils' options (``--input-width``, ``--input-height``,
    ``--input-rate``, ``--input-codec``); what is not asked stays the device's own (V4L2: the driver's current
    mode; CSI: :data:`CSI_DEFAULT`). Width and height come together: half a frame size is no mode."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    codec: CameraCodec | None = None

    def __post_init__(self) -> None:
        if (self.width is None) != (self.height is None):
            raise InputError("--input-width and --input-height set a frame size together",
                             "pass both, e.g. --input-width 1280 --input-height 720")
        for name, value, top in (("--input-width", self.width, MAX_SIDE), ("--input-height", self.height, MAX_SIDE),
                                 ("--input-rate", self.fps, MAX_RATE)):
            if value is not None and not 0 < value <= top:
                raise InputError(f"{name} {value} is out of range", f"pass a number more than 0 and at most {top}")

    @property
    def options(self) -> list[str]:
        """The options that asked for this mode (for messages): ``["--input-width", ...]``."""
        return [opt for opt, value in (("--input-width", self.width), ("--input-height", self.height),
                                       ("--input-rate", self.fps), ("--input-codec", self.codec)) if value is not None]

    def apply(self, cap: cv2.VideoCapture) -> None:
        """Ask a V4L2 capture for this mode, before its first read. The pixel format goes first: a driver
        lists its sizes and rates per format."""
        if self.codec is not None:
            cap.set(cv2.CAP_PROP_FOURCC, fourcc_code(FOURCC[self.codec]))
        if self.width is not None and self.height is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if self.fps is not None:
            cap.set(cv2.CAP_PROP_FPS, self.fps)

    def differences(self, cap: cv2.VideoCapture) -> list[str]:
        """What ``cap`` delivers that differs from what was asked (a driver picks its nearest mode), as
        ``"1280x720 (asked 1920x1080)"`` phrases; ``[]`` when it delivers the mode."""
        out = []
        if self.width is not None:
            got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            if got != (self.width, self.height):
                out.append(f"{got[0]}x{got[1]} (asked {self.width}x{self.height})")
        if self.fps is not None:
            fps = float(cap.get(cv2.CAP_PROP_FPS))
            if abs(fps - self.fps) > 0.01 * self.fps:
                out.append(f"{fps:g} frames/s (asked {self.fps:g})")
        if self.codec is not None:
            fourcc = fourcc_text(int(cap.get(cv2.CAP_PROP_FOURCC)))
            if fourcc != FOURCC[self.codec]:
                out.append(f"{fourcc or 'an unknown format'} (asked {FOURCC[self.codec]})")
        return out


DEVICE_MODE = CameraMode()  # nothing asked: the device's own mode


def csi_pipeline(sensor: int, width: int = CSI_DEFAULT[0], height: int = CSI_DEFAULT[1],
                 fps: float = CSI_DEFAULT[2]) -> str:
    """The GStreamer pipeline of a Jetson CSI camera: NVMM capture at ``width`` x ``height`` and ``fps`` (a
    fraction in the caps: 29.97 is 2997/100), hardware conversion, BGR into appsink."""
    rate = Fraction(fps).limit_denominator(1001)
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! "
        f"video/x-raw(memory:NVMM),width={width},height={height},framerate={rate.numerator}/{rate.denominator} ! "
        "nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink drop=true max-buffers=1 sync=false"
    )


def fourcc_code(text: str) -> int:
    """``"MJPG"`` -> the int OpenCV's ``CAP_PROP_FOURCC`` takes (first letter in the lowest byte)."""
    return sum(ord(c) << 8 * i for i, c in enumerate(text))


def fourcc_text(code: int) -> str:
    """The inverse of :func:`fourcc_code`, without trailing NULs (``""`` for 0: the backend does not say)."""
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).rstrip("\0")
