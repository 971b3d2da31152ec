"""Frame sinks: a window (OpenCV), a video file, an image folder, the browser view, or nothing.

A sink receives :class:`Output` objects (the input frame, the model output, latency, style). Display sinks
draw :func:`render` (optional before/after split and an FPS/latency overlay); file sinks store the clean
output. Files are written atomically: a stopped run leaves complete, playable files and no partial ones.

Spec strings for :func:`open_sink` (see :func:`sink_target`): ``window`` (jetson-utils' ``display://N`` is an
alias), ``null``, ``PATH.mp4`` (any video extension; ``file://PATH.mp4`` too), or a folder for numbered PNG
images: an existing folder, or a new one written as a path (``frames/``, ``out/frames``). A bare word that is
none of these (``windw``, ``-``) is refused with the list, instead of becoming a folder of that name.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgecolor.errors import OutputError
from edgecolor.imageio import VideoWriter, is_video, write_image
from edgecolor.stream.controls import Controls
from edgecolor.stream.http_view import HttpView
from edgecolor.stream.sources import Frame
from edgecolor.video_encode import Encoding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    """One processed frame: ``image`` is the model output (BGR uint8, the input frame's size)."""

    frame: Frame
    image: np.ndarray
    latency_s: float  # capture -> output ready
    fps: float  # recent output rate
    style: str
    split: bool = False


OVERLAY_FONT = cv2.FONT_HERSHEY_SIMPLEX
# The box behind the overlay keeps this share of the picture under it: white text stays legible on snow or a
# white wall, and the scene still shows through. A box rather than an outline because outline and text laid out
# at different thicknesses land at different widths (OpenCV 5's Hershey layout), which garbled the overlay.
OVERLAY_SHADE = 0.35


@dataclass(frozen=True)
class OverlayLayout:
    """Where the overlay goes on a frame: the text's origin (left end of its baseline) and font scale, and the
    box behind it as ``(x0, y0, x1, y1)`` pixel bounds (ends exclusive), clipped to the frame."""

    org: tuple[int, int]
    scale: float
    box: tuple[int, int, int, int]


def overlay_text(out: Output) -> str:
    return f"{out.fps:4.1f} fps  {out.latency_s * 1000:4.0f} ms  {out.style}"


def overlay_layout(shape: tuple[int, ...], text: str) -> OverlayLayout:
    """The overlay's layout on a frame of ``shape`` (H x W x ...): text height follows the frame height."""
    height, width = shape[:2]
    scale = max(0.4, height / 900)
    org = (8, int(24 * scale / 0.6))
    (text_w, text_h), baseline = cv2.getTextSize(text, OVERLAY_FONT, scale, 1)
    pad = max(4, round(6 * scale))  # anti-aliased edges reach a pixel past getTextSize's box
    x0, y0 = max(0, org[0] - pad), max(0, org[1] - text_h - pad)
    x1, y1 = min(width, org[0] + text_w + pad), min(height, org[1] + baseline + pad)
    return OverlayLayout(org, scale, (x0, y0, x1, y1))


def draw_overlay(img: np.ndarray, text: str) -> None:
    """Draw ``text`` in place on ``img`` (BGR uint8 H x W x 3): one white anti-aliased line, one pixel thick, on
    a box that darkens the picture under it to ``OVERLAY_SHADE``."""
    lay = overlay_layout(img.shape, text)
    x0, y0, x1, y1 = lay.box
    roi = img[y0:y1, x0:x1]
    roi[...] = cv2.convertScaleAbs(roi, alpha=OVERLAY_SHADE)
    cv2.putText(img, text, lay.org, OVERLAY_FONT, lay.scale, (255, 255, 255), 1, cv2.LINE_AA)


def render(out: Output, overlay: bool = True) -> np.ndarray:
    """What a display shows: the output, or input | output halves when split, plus an optional overlay
    (:func:`draw_overlay`: frames/s, latency, style). A new BGR uint8 array; ``out`` is left untouched."""
    img = out.image
    if out.split:
        w = img.shape[1]
        img = np.concatenate([out.frame.image[:, : w // 2], img[:, w // 2 :]], axis=1)
        cv2.line(img, (w // 2, 0), (w // 2, img.shape[0] - 1), (255, 255, 255), 2)
    else:
        img = img.copy()
    if overlay:
        draw_overlay(img, overlay_text(out))
    return img


class Sink:
    """Base. ``threaded``: written from its own writer thread (:mod:`edgecolor.stream.writers`);
    ``keeps_every_frame``: that thread's queue blocks when full (files) instead of dropping the oldest (views)."""

    name = "sink"
    threaded = True
    keeps_every_frame = True

    def write(self, out: Output) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Flush and finish (files become visible here)."""

    def abort(self) -> None:
        """Give up after an error: leave no partial output."""
        self.close()


class NullSink(Sink):
    name = "null"
    threaded = False  # nothing to hand off

    def write(self, out: Output) -> None:
        pass


class VideoFileSink(Sink):
    """One video file. Frames of another size than the first (a camera back in another mode) are scaled to fit
    it (:class:`~edgecolor.imageio.VideoWriter`); frames that play back are kept at close even when the file
    ended short (a live recording cannot be made again), with an error naming why it ended."""

    def __init__(self, path: Path, fps: float, encoding: Encoding | None = None) -> None:
        self.name = str(path)
        self.writer = VideoWriter(path, fps, encoding=encoding)

    def write(self, out: Output) -> None:
        self.writer.write(out.image)

    def close(self) -> None:
        self.writer.close(keep_partial=True)

    def abort(self) -> None:
        self.writer.abort()


class ImageFolderSink(Sink):
    """Numbered images ``frame_000000.png`` ...: the number is the source frame index."""

    def __init__(self, folder: Path, ext: str = ".png") -> None:
        self.name = str(folder)
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder} is a file, not a folder", "pass a folder or a video file name")
        self.folder, self.ext, self.frames = folder, ext, 0

    def write(self, out: Output) -> None:
        write_image(self.folder / f"frame_{out.frame.index:06d}{self.ext}", out.image)
        self.frames += 1


class HttpViewSink(Sink):
    """Hands each output (overlay drawn) to the browser view; its clients' threads JPEG-encode it on demand, once
    per frame any of them takes (about 2.5 ms at 720p on the CI VM), so an unwatched view costs no encoding."""

    name = "browser view"
    keeps_every_frame = False  # a view shows the newest output; a slow encoder must not hold inference back

    def __init__(self, view: HttpView, overlay: bool = True) -> None:
        self.view, self.overlay = view, overlay

    def write(self, out: Output) -> None:
        self.view.publish(render(out, self.overlay))


def display_available() -> bool:
    """Whether a window can be opened (a Linux desktop needs X11 or Wayland)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class WindowSink(Sink):
    """An OpenCV window; its keys drive :class:`Controls`; closing the window quits."""

    name = "window"
    threaded = False  # HighGUI (GTK/Qt/Cocoa) windows must be drawn from the thread that created them
    keeps_every_frame = False

    def __init__(
        self, controls: Controls, title: str = "edgecolor", fullscreen: bool = False, overlay: bool = True
    ) -> None:
        if not display_available():
            raise OutputError(
                "no display for a window (DISPLAY/WAYLAND_DISPLAY unset)",
                "use --sink out.mp4 or --serve 127.0.0.1:8080 for the browser view",
            )
        self.controls, self.title, self.overlay = controls, title, overlay
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        if fullscreen:
            cv2.setWindowProperty(title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)

    def write(self, out: Output) -> None:
        cv2.imshow(self.title, render(out, self.overlay))
        self.controls.handle_key(cv2.waitKey(1))
        if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.controls.apply("quit")

    def close(self) -> None:
        cv2.destroyWindow(self.title)


SINK_HELP = "use window (or display://0), null, a video file (out.mp4 or file://out.mp4) or a folder (new ones " \
            "written with a slash: frames/)"


@dataclass(frozen=True)
class SinkTarget:
    """A parsed ``--sink``: ``kind`` is window | null | video | folder; ``path`` matters for the last two."""

    kind: str
    path: Path = Path()


def sink_target(spec: str) -> SinkTarget:
    """Parse a sink spec (no I/O but ``is_dir``), or raise :class:`OutputError` naming the valid sinks."""
    if spec in ("null", "window", "display") or re.fullmatch(r"display://[0-9]{1,2}", spec):
        return SinkTarget("null" if spec == "null" else "window")
    if "\x00" in spec or not spec.strip():
        raise OutputError(f"sink {spec!r} is not a valid sink", SINK_HELP)
    if spec.lower().startswith("file://"):
        spec = spec[len("file://"):]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", spec):
        raise OutputError(f"sink '{spec}' is a URL edgecolor cannot write to", SINK_HELP)
    path = Path(spec)
    if is_video(path):
        return SinkTarget("video", path)
    if path.is_dir() or (not path.suffix and ("/" in spec or os.sep in spec) and spec.strip("/.")):
        return SinkTarget("folder", path)
    raise OutputError(f"sink '{spec}' is not window, null, a video file or a folder", SINK_HELP)


def open_sink(spec: str, fps: float, controls: Controls, fullscreen: bool = False,
              encoding: Encoding | None = None) -> Sink:
    """A sink from its spec string (see the module docstring), or :class:`OutputError`; a video file is encoded
    as ``encoding`` says (default: H.264 yuv420p in .mp4/.mov/.mkv, VP9 in .webm)."""
    target = sink_target(spec)
    if target.kind == "null":
        return NullSink()
    if target.kind == "window":
        return WindowSink(controls, fullscreen=fullscreen)
    if target.kind == "video":
        return VideoFileSink(target.path, fps, encoding)
    return ImageFolderSink(target.path)
