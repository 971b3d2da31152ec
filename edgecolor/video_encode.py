"""Video encoding through PyAV (FFmpeg in its wheels): the codec table, the user's encoding choices, and the
encoder that writes BGR frames and remuxes the input's audio and subtitle streams beside them.

Frames in are ``numpy.uint8``, ``H x W x 3``, BGR, C-contiguous; they are converted once, here, to the codec's
pixel format. Audio and subtitle packets are copied, never re-encoded, with the input's timestamps. The frames
come from OpenCV's decoder (:class:`~edgecolor.imageio.VideoReader`; PyAV's decoder was measured against it and
was no faster in the pipeline: benchmarks/results/2026-12-07-decode-and-video-stage-720p.md), which gives no
timestamps: frame ``k`` is stamped with the ``k``-th presentation time of the input's video packets (read once
from the container, no decoding), so a variable-rate phone clip keeps its timing and its sync with the sound.
Inputs without times (AVI) are stamped ``start + k / rate`` on the input's own rate (a :class:`fractions.Fraction`, so
30000/1001 stays exact). A frame the reader skipped as undecodable shifts the later frames' times one slot
earlier, as it shifted them by one frame before. The sample aspect ratio is kept where the frames keep the
input's size.

Why PyAV rather than OpenCV's writer: OpenCV's FFmpeg build writes MPEG-4 Part 2 (``mp4v``), which browsers
refuse, drops audio, and reports no write error. Why PyAV rather than a piped ``ffmpeg`` process: the wheels
carry the encoders (libx264, libx265, VP9, SVT-AV1, FFV1), so nothing else need be installed, and errors are
exceptions where they happen instead of a child's stderr.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from edgecolor.choices import VideoCodec
from edgecolor.errors import InputError, OutputError

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodecSpec:
    """How one ``--codec`` is written: FFmpeg's encoder, the pixel format, the extensions whose containers hold
    it (the first is the one to suggest), whether it takes odd frame sizes, its CRF range and default (None:
    lossless or no CRF), and fixed encoder options."""

    encoder: str
    pix_fmt: str
    extensions: tuple[str, ...]
    odd_sizes: bool
    crf: tuple[int, int, int] | None  # (default, lowest, highest)
    options: dict[str, str] = field(default_factory=dict)
    tag: str | None = None  # the sample entry to write in MP4/MOV (hvc1: what Safari and Chromium look for)


# One row per --codec. yuv420p is what browsers and hardware decoders play; x264/x265 need even sides for it,
# VP9 and FFV1 do not. FFV1 stores BGR as is (bgr0): lossless, the archival choice. The presets trade a little
# size for speed: on a 2-core VM, 720p, libx264 'veryfast' encodes 78 frames/s and 'medium' 36, against OpenCV's
# mp4v at 130, with files 10x and 8x smaller than mp4v's at CRF 23.
CODECS: dict[VideoCodec, CodecSpec] = {
    VideoCodec.H264: CodecSpec("libx264", "yuv420p", (".mp4", ".mkv", ".mov", ".m4v"), False, (23, 0, 51),
                               {"preset": "veryfast"}),
    VideoCodec.HEVC: CodecSpec("libx265", "yuv420p", (".mp4", ".mkv", ".mov", ".m4v"), False, (28, 0, 51),
                               {"preset": "veryfast", "x265-params": "log-level=error"}, tag="hvc1"),
    VideoCodec.VP9: CodecSpec("libvpx-vp9", "yuv420p", (".webm", ".mkv", ".mp4"), True, (32, 0, 63),
                              {"deadline": "good", "cpu-used": "4", "row-mt": "1"}),
    VideoCodec.AV1: CodecSpec("libsvtav1", "yuv420p", (".webm", ".mkv", ".mp4"), False, (35, 1, 63), {"preset": "8"}),
    VideoCodec.FFV1: CodecSpec("ffv1", "bgr0", (".mkv",), True, None, {"level": "3", "slicecrc": "1"}),
    VideoCodec.MJPEG: CodecSpec("mjpeg", "yuvj420p", (".mkv", ".mov"), True, None),
}
# The container FFmpeg writes for each extension PyAV writes (.avi stays with OpenCV: see imageio.VideoWriter).
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
# An extension's codec when --codec is not given: what browsers play in that container.
DEFAULT_CODECS = {".webm": VideoCodec.VP9}


def check_encoding(path: Path, encoding: Encoding) -> None:
    """:class:`InputError` when a video output ``path`` cannot be written as ``encoding`` says (no I/O)."""
    ext = path.suffix.lower()
    if ext == ".avi":  # OpenCV's writer (see imageio.VideoWriter): MPEG-4 Part 2, or MJPEG
        if encoding.codec not in (None, VideoCodec.MJPEG):
            raise InputError(f"{path.name}: --codec {encoding.codec} is not written in .avi files",
                             f"name the output {path.stem}.mp4 (or .mkv, .webm)")
        if encoding.crf is not None or encoding.bitrate is not None:
            raise InputError(f"{path.name}: --crf and --bitrate do not apply to .avi outputs",
                             f"leave them out, or name the output {path.stem}.mp4")
        return
    if ext not in FORMATS:
        raise InputError(f"{path.name}: '{path.suffix}' is not a video container edgecolor writes",
                         f"use one of {', '.join(sorted(FORMATS))} or .avi")
    encoding.resolve(path)


def parse_bitrate(text: str) -> int:
    """``"4M"``, ``"800k"`` or ``"2500000"`` as bits/s, or :class:`InputError`."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmM]?)\s*", text)
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()] if m else 0
    if not 1e4 <= value <= 1e9:
        raise InputError(f"--bitrate {text[:20]!r} is not a bit rate between 10k and 1000M",
                         "pass bits per second such as 4M or 800k")
    return int(value)


@dataclass(frozen=True)
class Encoding:
    """What the user asked of a video output: ``codec`` (None: the extension's default, H.264 but for .webm),
    ``crf`` (quality; lower is better) or ``bitrate`` (bits/s), not both."""

    codec: VideoCodec | None = None
    crf: int | None = None
    bitrate: int | None = None

    def resolve(self, path: Path) -> tuple[VideoCodec, CodecSpec]:
        """The codec for ``path`` and its row, or :class:`InputError` when the container cannot hold it or the
        quality options do not apply. No I/O: called before any work."""
        ext = path.suffix.lower()
        codec = self.codec or DEFAULT_CODECS.get(ext, VideoCodec.H264)
        spec = CODECS[codec]
        if ext not in spec.extensions:
            raise InputError(f"{path.name}: --codec {codec} cannot be written in a '{ext}' file",
                             f"name the output {path.stem}{spec.extensions[0]} (it takes "
                             f"{', '.join(spec.extensions)})")
        if self.crf is not None and self.bitrate is not None:
            raise InputError("--crf and --bitrate were both given", "pass one: --crf for constant quality, "
                             "--bitrate for a target size")
        if spec.crf is None and (self.crf is not None or self.bitrate is not None):
            what = "lossless" if codec is VideoCodec.FFV1 else "written at a fixed quality"
            raise InputError(f"--codec {codec} is {what}: --crf and --bitrate do not apply", "leave them out")
        if self.crf is not None and spec.crf is not None and not spec.crf[1] <= self.crf <= spec.crf[2]:
            raise InputError(f"--crf {self.crf} is out of {codec}'s range", f"pass {spec.crf[1]}..{spec.crf[2]} "
                             f"(default {spec.crf[0]}; lower is better)")
        return codec, spec

    def encoder_options(self, codec: VideoCodec, spec: CodecSpec) -> dict[str, str]:
        options = dict(spec.options)
        if spec.crf is not None and self.bitrate is None:
            options["crf"] = str(self.crf if self.crf is not None else spec.crf[0])
            if codec is VideoCodec.VP9:
                options["b"] = "0"  # libvpx's constant-quality mode: CRF with no bit-rate cap
        return options


def exact_rate(fps: float) -> Fraction:
    """``fps`` as the fraction it stands for (29.97002997 -> 30000/1001, 25.0 -> 25)."""
    return Fraction(fps).limit_denominator(1001)


# Containers whose packets carry presentation times (AVI's are frame numbers at one rate).
TIMED = (".mp4", ".m4v", ".mov", ".mkv", ".webm")


@dataclass(frozen=True)
class SourceStreams:
    """What the encoder takes from the input file: its video rate and start (seconds) as FFmpeg reads them,
    the indexes of the audio and subtitle streams to copy, and its video frames' presentation times (``pts``
    in ``time_base``, in display order; empty where the container has none), frame size and sample aspect
    ratio."""

    rate: Fraction | None
    start: float
    copy: tuple[int, ...]
    pts: tuple[int, ...] = ()
    time_base: Fraction | None = None
    size: tuple[int, int] = (0, 0)
    sar: Fraction | None = None


def probe_source(path: Path) -> SourceStreams:
    """The input's video rate and start and its audio/subtitle streams, read from the container (no decoding);
    an input FFmpeg cannot open gives nothing to copy (OpenCV's reader says why it fails, if it does)."""
    import av

    try:
        with av.open(str(path)) as src:
            video = next(iter(src.streams.video), None)
            found = (video.average_rate or video.guessed_rate) if video is not None else None
            rate = Fraction(found) if found else None
            start = float(video.start_time * video.time_base) if video is not None and video.start_time \
                and video.time_base else 0.0
            copy = tuple(s.index for s in src.streams if s.type in ("audio", "subtitle"))
            if video is None:
                return SourceStreams(None, start, copy)
            # The frames' times from the packets (no decoding; one read of the file): a variable-rate clip keeps
            # its timing. Discarded packets (before an edit list's start) are not shown, so not decoded.
            pts: tuple[int, ...] = ()
            if path.suffix.lower() in TIMED and video.time_base:
                pts = tuple(sorted({p.pts for p in src.demux(video) if p.size and p.pts is not None
                                    and not p.is_discard}))
            sar = video.sample_aspect_ratio
            return SourceStreams(rate if rate and 0 < rate <= 1000 else None, start, copy, pts,
                                 Fraction(video.time_base) if video.time_base else None,
                                 (video.width, video.height), Fraction(sar) if sar else None)
    except (av.FFmpegError, OSError, ValueError):
        return SourceStreams(None, 0.0, ())


def _packets(src: Any, streams: list[Any]) -> Iterator[Any]:
    for packet in src.demux(streams):
        if packet.size and packet.dts is not None:  # the demuxer's flush packets carry nothing
            yield packet


def mov_options(fmt: str, time_base: Fraction | None) -> dict[str, str]:
    """Muxer options for an MP4/MOV output: the index first (+faststart, so a browser plays it before it has it
    all), and the movie's time scale the video's, so an edit list (a start other than 0, the decoder's delay)
    keeps the frames' times exact instead of rounding them to milliseconds."""
    if fmt not in ("mp4", "mov"):
        return {}
    options = {"movflags": "+faststart"}
    if time_base is not None and time_base.numerator == 1 and time_base.denominator <= 1 << 20:
        options["movie_timescale"] = str(time_base.denominator)
    return options


class StreamCopies:
    """The input ``path``'s streams ``indexes`` (audio, subtitles) added to the output container ``out`` and
    muxed packet for packet, never re-encoded, with their timestamps, as the video reaches them
    (:meth:`until`). A stream the container cannot hold is left out with a warning."""

    def __init__(self, out: Any, path: Path, indexes: tuple[int, ...]) -> None:
        import av

        self._src: Any = av.open(str(path))
        self._map: dict[int, Any] = {}
        streams = []
        for index in indexes:
            stream = self._src.streams[index]
            name = stream.codec_context.name if stream.codec_context else "?"
            if name not in out.supported_codecs:
                log.warning("%s: the input's %s stream %d (%s) cannot be stored in a %s file; it is left out",
                            out.name, stream.type, index, name, out.format.name)
                continue
            self._map[index] = out.add_stream_from_template(stream)
            streams.append(stream)
        self._out = out
        self._copies = _packets(self._src, streams) if streams else iter(())
        self._pending: Any = next(self._copies, None)

    def until(self, seconds: float | None) -> None:
        """Mux the copied streams' packets up to ``seconds`` (None: all that are left)."""
        while self._pending is not None:
            packet = self._pending
            when = float(packet.dts * packet.time_base) if packet.time_base else 0.0
            if seconds is not None and when > seconds:
                return
            packet.stream = self._map[packet.stream.index]
            self._out.mux(packet)
            self._pending = next(self._copies, None)

    def close(self) -> None:
        self._src.close()


class AvEncoder:
    """Encodes BGR frames of one size into ``tmp`` (container by ``path``'s extension), copying ``copy_from``'s
    audio and subtitle streams in step with the video. Errors are :class:`OSError` or PyAV's exceptions, raised
    where they happen (the caller turns them into one line)."""

    def __init__(self, tmp: Path, path: Path, width: int, height: int, rate: Fraction, encoding: Encoding,
                 copy_from: Path | None = None, source: SourceStreams | None = None) -> None:
        import av

        codec, spec = encoding.resolve(path)
        if (width % 2 or height % 2) and not spec.odd_sizes:
            raise OutputError(f"cannot write {width}x{height} frames to {path}: --codec {codec} in {spec.pix_fmt} "
                              "needs an even width and height", "pass --codec vp9 (browsers play it, odd sizes "
                              "kept) or --codec ffv1 with an .mkv output, or an .avi output (MJPEG)")
        ext = path.suffix.lower()
        source = source or (probe_source(copy_from) if copy_from else None)
        # The input's frame times when it has them (variable frame rate kept), else start + index / rate.
        self._pts = source.pts if source is not None and source.time_base else ()
        self.time_base = source.time_base if self._pts and source is not None and source.time_base else 1 / rate
        self._step = max(1, round(1 / (rate * self.time_base)))
        self.rate = rate
        self._out = av.open(str(tmp), "w", format=FORMATS[ext], options=mov_options(FORMATS[ext], self.time_base))
        self._copies: StreamCopies | None = None
        try:
            video: Any = self._out.add_stream(spec.encoder, rate=rate, options=encoding.encoder_options(codec, spec))
            self._video = video
            video.width, video.height, video.pix_fmt = width, height, spec.pix_fmt
            self._i420 = spec.pix_fmt == "yuv420p" and not width % 2 and not height % 2
            video.codec_context.time_base = self.time_base
            if source is not None and source.sar and source.sar != 1 and source.size == (width, height):
                video.codec_context.sample_aspect_ratio = source.sar  # anamorphic DV/DVD: the shape it shows at
            if encoding.bitrate is not None:
                self._video.codec_context.bit_rate = encoding.bitrate
            if spec.tag and FORMATS[ext] in ("mp4", "mov"):
                self._video.codec_tag = spec.tag
            self._first = round(source.start * rate) * self._step if source is not None and not self._pts else 0
            if copy_from is not None and source is not None and source.copy:
                self._copies = StreamCopies(self._out, copy_from, source.copy)
        except BaseException:
            self._out.close()
            raise

    def write(self, frame: np.ndarray, index: int) -> None:
        import av

        if self._i420:
            # OpenCV's BT.601 conversion rounds exactly (a neutral gray stays neutral: U = V = 128); swscale's
            # default path, which PyAV offers no flags for, gives U = V = 127, a green cast of 2 levels in G.
            i420 = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), np.uint8)
            picture = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        else:
            picture = av.VideoFrame.from_ndarray(frame, format="bgr24")
        picture.pts = self._frame_pts(index)
        picture.time_base = self.time_base
        self._out.mux(self._video.encode(picture))
        if self._copies is not None:
            self._copies.until(float((picture.pts + self._step) * self.time_base))

    def _frame_pts(self, index: int) -> int:
        """Frame ``index``'s time in ``time_base``: the input's own, or (past its frames, or for an input without
        times) one ``1 / rate`` step after the last."""
        if index < len(self._pts):
            return self._pts[index]
        if self._pts:
            return self._pts[-1] + self._step * (index - len(self._pts) + 1)
        return self._first + self._step * index

    def close(self) -> None:
        """Flush the encoder, copy what is left of the other streams and finish the file."""
        try:
            self._out.mux(self._video.encode(None))
            if self._copies is not None:
                self._copies.until(None)
        finally:
            self.release()

    def release(self) -> None:
        try:
            self._out.close()
        finally:
            if self._copies is not None:
                self._copies.close()
                self._copies = None


def count_video_frames(path: Path) -> int:
    """How many video frames ``path`` holds, from its index or by reading its packets (no decoding); 0 when it
    does not open (an MP4 cut short before its index)."""
    import av

    try:
        with av.open(str(path)) as f:
            if not f.streams.video:
                return 0
            stream = f.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for p in f.demux(stream) if p.size)
    except (av.FFmpegError, OSError, ValueError):
        return 0
