"""Video outputs written in parts: what makes an interrupted video resumable and one film spread over Ray actors.

A video output that PyAV writes (every container but ``.avi``, which OpenCV writes whole) is planned as parts
that start at the input's keyframes, about :data:`PART_SECONDS` long. Each part is encoded to its own complete
file in a hidden work folder beside the output, ``.NAME.parts/``, named by the input frames it holds
(``000000720-000001440.mp4``: frames 720 to 1439) and renamed there only when finished. When the parts cover every
frame, they are joined into the output without re-encoding (their video packets remuxed in order, the input's
audio and subtitle streams copied beside them, as :class:`~edgecolor.video_encode.AvEncoder` copies them), the
output is renamed into place and the work folder removed. Nothing is ever half-written at the output path.

Why parts rather than one file continued later: an encoder cannot be resumed, and an MP4 cut short has no index
and cannot be appended to; a finished part is a whole, playable file. So an interrupt (SIGINT, SIGTERM: the
job's :class:`~edgecolor.signals.StopRequest`) finishes the part in hand at the frame reached, after writing the
frames already in the engine, and loses no finished frame; the rerun encodes only the frames no part holds.

Resume key: ``plan.json`` in the work folder records the run (the model and settings as
:func:`edgecolor.jobs.record.settings_key` gives them, the input's size and mtime, the encoding, the temporal
processing, the plan). Parts from a run with another key are discarded, as are parts when ``-y`` redoes the output.

Joining: every part is encoded with the same settings, so the streams' parameters are the same and their decode
times follow on from part to part (a time that does not is moved one tick past the previous packet's). Each part
starts with a keyframe in the output, so a part boundary costs one keyframe; an interrupted part adds one more.

Temporal state (the stabiliser): every part's state starts from the ``warmup`` frames before it. A part started
on its own (by a Ray actor, or by a rerun after an interrupt) runs those frames through the engine and a fresh
temporal step and drops them; the local job, reading the parts in order, runs the same frames through a fresh
"shadow" step beside the current one (no second decode or inference) and goes on with it at the boundary. So
a part's frames are the same however it was made, and the local and Ray outputs are the same file. The
stabiliser's moving average remembers its cold start by less than half a level after the warm-up
(:func:`warmup_frames`), so a part differs from one never-ending stretch by less than that.

Disk: the parts and the output exist side by side while they are joined, so a video needs its output's size
twice over at the end; a join that fails (a full disk) keeps the parts, and the rerun only joins.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgecolor.errors import InputError, OutputError
from edgecolor.imageio import VideoReader, VideoWriter, atomic_output, av_errors
from edgecolor.stream.temporal import Output, TemporalConfig, TemporalStage
from edgecolor.video_encode import FORMATS, SourceStreams, StreamCopies, mov_options, probe_source

if TYPE_CHECKING:
    from edgecolor.backends.base import Engine, Pending
    from edgecolor.signals import StopRequest
    from edgecolor.video_encode import Encoding

log = logging.getLogger(__name__)

PART_SECONDS = 30.0  # a part's length, at least (it ends at the first keyframe after): see docs/archive.md
PLAN = "plan.json"
_PART = re.compile(r"(\d{9})-(\d{9})(\.[a-z0-9]+)")
# What a run leaves half-done in the folder: a part being written (and its temporary file), the record's.
_UNFINISHED = re.compile(r"\.?\d{9}-\d{9}\.writing\..*|\.plan\.[0-9a-f]+\.partial\.json")


def in_parts(dst: Path) -> bool:
    """Whether the video output ``dst`` is written in parts (every container PyAV writes; ``.avi`` is whole)."""
    return dst.suffix.lower() in FORMATS


def work_folder(dst: Path) -> Path:
    return dst.parent / f".{dst.name}.parts"


def warmup_frames(alpha: float, levels: float = 0.5) -> int:
    """Frames after which an exponential moving average of weight ``alpha`` (at least, per frame) remembers its
    start by less than ``levels`` of 255: ``(1 - alpha) ** n * 255 < levels`` (the stabiliser's 0.1: 60)."""
    return 0 if alpha >= 1 else math.ceil(math.log(levels / 255) / math.log(1 - alpha))


def warmup(config: TemporalConfig) -> int:
    """Frames before a part that a part started on its own runs through a fresh temporal stage and drops: enough
    for the stabiliser to forget its cold start (:func:`warmup_frames`) and, with colour passthrough, for the
    colour test's look-ahead."""
    if not config.active:
        return 0
    frames = warmup_frames(config.stabilizer.alpha) if config.stabilize else 0
    return max(frames, config.lookahead if config.passthrough else 0)


@dataclass(frozen=True)
class Plan:
    """How one input is cut: ``frames`` in it (its video packets; 0 when they cannot be counted: one part, read
    to its end), the first frame of each part (keyframes), and each frame's time after the first (ms; for
    checking a seek)."""

    frames: int
    starts: tuple[int, ...]
    times_ms: tuple[float, ...]

    def ms(self, index: int, fps: float) -> float:
        return self.times_ms[index] if index < len(self.times_ms) else index * 1000 / fps

    def bounds(self) -> list[tuple[int, int]]:
        ends = (*self.starts[1:], max(self.frames, self.starts[-1] + 1))
        return list(zip(self.starts, ends, strict=True))


@functools.lru_cache(maxsize=8)
def _probe(path: str, size: int, mtime_ns: int, part_seconds: float) -> tuple[Plan, SourceStreams]:
    import av

    source = probe_source(Path(path))
    frames, keys, times = 0, [0], tuple[float, ...]()
    try:
        with av.open(path) as f:
            video = f.streams.video[0]
            packets = [(p.pts, p.is_keyframe) for p in f.demux(video) if p.size and not p.is_discard]
    except (av.FFmpegError, OSError, ValueError, IndexError):
        packets = []
    if source.pts and source.time_base:
        # Frame k is the k-th time in display order (the decoder's order); a keyframe starts where its time is.
        index = {pts: k for k, pts in enumerate(source.pts)}
        frames = len(source.pts)
        keys = sorted({index[pts] for pts, key in packets if key and pts in index} | {0})
        times = tuple(float((pts - source.pts[0]) * source.time_base * 1000) for pts in source.pts)
    elif packets:  # no times (AVI): the packets are the frames, in order
        frames = len(packets)
        keys = sorted({k for k, (_, key) in enumerate(packets) if key} | {0})
    starts = [0]
    for k in keys:
        at = times[k] if times else k * 1000 / float(source.rate or 25)
        was = times[starts[-1]] if times else starts[-1] * 1000 / float(source.rate or 25)
        if k > starts[-1] and at - was >= part_seconds * 1000:
            starts.append(k)
    return Plan(frames, tuple(starts), times), source


def probe(src: Path, part_seconds: float = PART_SECONDS) -> tuple[Plan, SourceStreams]:
    """The parts of ``src`` and its streams (read once per input and settings; a Ray actor asks once per film)."""
    st = src.stat()
    return _probe(str(src), st.st_size, st.st_mtime_ns, part_seconds)


@dataclass(frozen=True)
class Resume:
    """Whether parts an earlier run left may be used: ``settings`` is the model and its settings
    (:func:`edgecolor.jobs.record.settings_key`); ``redo`` (``-y``) discards them."""

    settings: str
    redo: bool = False


def run_key(src: Path, resume: Resume | None, encoding: Encoding | None, temporal: TemporalConfig | None,
            plan: Plan) -> str | None:
    """The key parts are reused under (None: never reused, as for a library caller that gives no settings)."""
    if resume is None:
        return None
    st = src.stat()
    enc = [str(encoding.codec) if encoding and encoding.codec else None, encoding.crf if encoding else None,
           encoding.bitrate if encoding else None]
    return json.dumps([resume.settings, st.st_size, st.st_mtime_ns, enc, temporal.key() if temporal else None,
                       plan.frames, list(plan.starts)])


class Parts:
    """The work folder of one video output: which input frames its finished parts hold, and where the next go."""

    def __init__(self, dst: Path, plan: Plan) -> None:
        self.dst, self.plan = dst, plan
        self.folder = work_folder(dst)
        self.ext = dst.suffix.lower()

    def prepare(self, key: str | None, redo: bool = False) -> None:
        """Create the folder, or keep what it holds if ``key`` matches its record (else empty it first)."""
        recorded = None
        with contextlib.suppress(OSError, ValueError):
            recorded = json.loads((self.folder / PLAN).read_text()).get("key")
        if key is None or redo or recorded != key:
            self.remove()
        self._clear_unfinished()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if key is not None and (redo or recorded != key):
                with atomic_output(self.folder / PLAN) as tmp:
                    tmp.write_text(json.dumps({"key": key, "output": self.dst.name}) + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write to {self.folder}: {exc.strerror or exc}",
                              "choose a writable output location") from exc

    def _clear_unfinished(self) -> None:
        """Remove what a killed run left half-written (temporary files of parts that never finished)."""
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if _UNFINISHED.fullmatch(path.name):
                    path.unlink(missing_ok=True)

    def done(self) -> list[tuple[int, int, Path]]:
        """``(first frame, end, file)`` of each finished part, in order (a ``.none`` file: frames that did not
        decode, nothing to join)."""
        found = []
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if (m := _PART.fullmatch(path.name)) and m.group(3) in (self.ext, ".none"):
                    found.append((int(m.group(1)), int(m.group(2)), path))
        return sorted(found)

    def frames_done(self) -> int:
        return sum(end - start for start, end, _ in self.done())

    def todo(self) -> list[tuple[int, int]]:
        """The frame ranges no finished part holds, cut at the plan's part boundaries."""
        covered = [(s, e) for s, e, _ in self.done()]
        out: list[tuple[int, int]] = []
        for start, end in self.plan.bounds():
            at = start
            for s, e in covered:
                if e <= at or s >= end:
                    continue
                if s > at:
                    out.append((at, s))
                at = max(at, e)
            if at < end:
                out.append((at, end))
        return out

    def path(self, start: int, end: int, ext: str | None = None) -> Path:
        return self.folder / f"{start:09d}-{end:09d}{ext or self.ext}"

    def remove(self) -> None:
        """Delete the folder's parts, record and unfinished files, then the folder if nothing else is in it."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name == PLAN or _PART.fullmatch(path.name) or _UNFINISHED.fullmatch(path.name):
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()


class Stopped(Exception):
    """An interrupt ended the encoding at a frame: ``done`` of ``frames`` input frames are in finished parts in
    ``folder`` (None: removed, as a rerun could not tell they are its own)."""

    def __init__(self, stop: StopRequest, done: int, frames: int, folder: Path | None) -> None:
        self.stop, self.done, self.frames, self.folder = stop, done, frames, folder


def encode(src: Path, parts: Parts, ranges: list[tuple[int, int]], engine: Engine,
           extra: Mapping[str, float] | None = None, *, source: SourceStreams, encoding: Encoding | None = None,
           temporal: TemporalConfig | None = None, max_pixels: int | None = None, stop: StopRequest | None = None,
           on_frame: Callable[[], None] | None = None, warm: int | None = None) -> _Counts:
    """Encode the input frames ``ranges`` (each ``[start, end)``, in order) as finished parts, their frames through
    a :class:`~edgecolor.stream.temporal.TemporalStage` as ``temporal`` says (default: the model's). Ranges that
    follow on are read as one stretch, each with its own stage warmed up beside the last one's (a shadow:
    :func:`_encode_range`); a range that does not is sought to ``warm`` frames early (default :func:`warmup`).
    An interrupt finishes the part in hand and raises :class:`Stopped`."""
    plan = parts.plan
    config = (temporal or TemporalConfig()).for_task(engine.info.task)
    early = warmup(config) if warm is None else warm
    shared = _Shared(engine, dict(extra or {}))
    video_only = replace(source, copy=())
    reader = VideoReader(src, max_pixels)
    counts = _Counts()
    try:
        stage: TemporalStage | None = None
        shadow: TemporalStage | None = None
        held: collections.deque[int] = collections.deque()  # indices of the frames the stage holds
        stream: Iterator[tuple[int, np.ndarray]] | None = None
        at = 0  # the next index the stretch yields
        for k, (start, end) in enumerate(ranges):
            if stream is None or at != start:
                begin = max(0, start - early)
                if stream is not None or begin > 0:
                    reader.close()
                    reader = VideoReader(src, max_pixels)
                    if begin > 0:
                        reader.seek(begin, plan.ms(begin, reader.fps))
                stream = reader.indexed()
                stage, held = TemporalStage(shared.submit, config), collections.deque()
            elif shadow is None:
                stage, held = TemporalStage(shared.submit, config), collections.deque()
            else:  # read on from the last range: its shadow was warmed up on the very frames a fresh part would be
                stage = shadow
            follows = k + 1 < len(ranges) and ranges[k + 1][0] == end
            shadow_from = max(start, end - early) if follows else None
            try:
                writer = VideoWriter(parts.path(start, end, ".writing" + parts.ext), reader.fps, encoding=encoding,
                                     source=video_only)
            except OutputError as exc:
                raise _named(exc, parts) from None
            try:
                at, cut, shadow, held = _encode_range(stream, writer, start, None if end >= plan.frames else end,
                                                      engine, stage, shared, config, stop, on_frame, shadow_from,
                                                      counts, held)
                if writer.frames == 0:  # nothing decoded here (a broken tail, or cut at its first frame)
                    writer.abort()
                    if not cut:
                        parts.path(start, end, ".none").touch()
                else:
                    writer.close()
                    os.replace(writer.path, parts.path(start, at if cut else end))
                    counts.written += writer.frames
            except OutputError as exc:
                writer.abort()
                raise _named(exc, parts) from None
            except OSError as exc:
                writer.abort()
                raise _named(OutputError(f"cannot write {writer.path}: {exc.strerror or exc}",
                                         "check free space and permissions"), parts) from None
            except BaseException:
                writer.abort()
                raise
            if cut:
                assert stop is not None
                raise Stopped(stop, parts.frames_done(), plan.frames or reader.frame_count, parts.folder)
        counts.skipped = reader.skipped
        return counts
    finally:
        reader.close()


@dataclass
class _Counts:
    written: int = 0  # frames written
    skipped: int = 0  # input frames that did not decode
    shots: int = 0  # shots that start in the written frames (edgecolor.stream.temporal)
    colour_shots: int = 0  # of them, copied as colour footage


class _Shared:
    """``engine.submit`` for the stages of two neighbouring parts fed the same frames (a part's stage and the
    next part's shadow): a frame fed to both is run once. Only frames in the window :meth:`share` names are
    kept, each until its second request, at most :data:`SHARED_MAX` of them (past that a frame is simply run
    again: the result is the same)."""

    SHARED_MAX = 96

    def __init__(self, engine: Engine, values: dict[str, float]) -> None:
        self._engine, self._values = engine, values
        self._window: dict[int, np.ndarray] = {}  # id -> frame, for the frames both stages take
        self._results: collections.OrderedDict[int, Pending] = collections.OrderedDict()

    def share(self, frame: np.ndarray) -> None:
        self._window[id(frame)] = frame
        while len(self._window) > self.SHARED_MAX:
            key = next(iter(self._window))
            del self._window[key]
            self._results.pop(key, None)

    def submit(self, frame: np.ndarray) -> Pending:
        key = id(frame)
        if self._window.get(key) is not frame:
            return self._engine.submit(frame, **self._values)
        if key in self._results:  # the second stage to ask: the frame leaves the window
            del self._window[key]
            return self._results.pop(key)
        self._results[key] = pending = self._engine.submit(frame, **self._values)
        return pending


def _named(exc: OutputError, parts: Parts) -> OutputError:
    """``exc`` from a part's writer, naming what the user named: the output, not the part file, and the output's
    folder where that is what went missing."""
    problem = re.sub(rf"{re.escape(str(parts.folder))}{re.escape(os.sep)}\S*{re.escape(parts.ext)}", str(parts.dst),
                     exc.problem)
    if not parts.dst.parent.is_dir():
        problem = problem.replace(str(parts.folder), str(parts.dst.parent))
    return type(exc)(problem, exc.remedy)


def _encode_range(stream: Iterator[tuple[int, np.ndarray]], writer: VideoWriter, start: int, end: int | None,
                  engine: Engine, stage: TemporalStage, shared: _Shared, config: TemporalConfig,
                  stop: StopRequest | None, on_frame: Callable[[], None] | None, shadow_from: int | None,
                  counts: _Counts, fed: collections.deque[int]
                  ) -> tuple[int, bool, TemporalStage | None, collections.deque[int]]:
    """Frames from ``stream`` up to ``end`` (None: the file's end) through ``stage`` into ``writer``; frames
    before ``start`` (a warm-up) only through it. ``engine.streams + 1`` frames stay in the engine, as in the
    pipeline. From frame ``shadow_from`` on, a fresh stage (the shadow) takes the same frames too, its outputs
    dropped (the engine runs each frame once: ``shared``): the next part goes on with it, so its state is
    exactly that of a part started on its own (a Ray actor's, a rerun's), which warms a fresh stage up on those
    frames. ``fed``: the indices of the frames ``stage`` holds (a shadow's, from the last range). Returns (the next
    index, whether ``stop`` cut it short, the shadow, the indices of the frames it holds)."""
    shadow_fed: collections.deque[int] = collections.deque()
    pending: collections.deque[tuple[int, Output]] = collections.deque()
    shadow: TemporalStage | None = None

    def drain(keep: int) -> None:
        while len(pending) > keep:
            index, out = pending.popleft()
            frame = out()
            if index >= start:  # a warm-up frame is dropped once the stage has taken it
                writer.write(frame, index)
                counts.shots += out.shot_start
                counts.colour_shots += out.shot_start and out.copy
                if on_frame:
                    on_frame()

    def take(ready: list[Output]) -> None:
        for out in ready:
            out.start()  # frame k+1 goes in before frame k is written
            pending.append((fed.popleft(), out))
            drain(engine.streams)

    at, cut = start, False
    for index, frame in stream:
        if stop:  # during a warm-up too: then nothing of this part is written
            cut = True
            break
        if shadow_from is not None and index >= shadow_from:
            shared.share(frame)
            shadow = shadow or TemporalStage(shared.submit, config)
            shadow_fed.append(index)
            for out in shadow.feed(frame):
                shadow_fed.popleft()
                out()  # its state advances; the frame is the next part's business only as state
        fed.append(index)
        take(stage.feed(frame))
        at = index + 1
        if end is not None and at >= end:
            break
    if not cut:
        take(stage.flush())
    drain(0)
    if cut and fed:  # frames the stage still holds (the colour test's look-ahead) were not written: the part ends
        at = fed[0]  # before the first of them, and a rerun makes them after the same warm-up
    return max(at, start), cut, shadow, shadow_fed


def join(parts: Parts, dst: Path, copy_from: Path, source: SourceStreams) -> int:
    """Remux the finished parts' video, in order, with ``copy_from``'s audio and subtitle streams into ``dst``
    (written atomically); returns its frame count. The parts are left for the caller to remove."""
    import av

    done = parts.done()
    at = 0
    for start, end, _ in done:  # the parts tile the input: two runs writing one output at once would not
        if start != at:
            raise OutputError(f"the parts of {dst} in {parts.folder} do not follow on at frame {at}",
                              "run the command once at a time per output; pass -y to redo it")
        at = end
    files = [p for _, _, p in done if p.suffix != ".none"]
    if not files:
        raise OutputError(f"no frames were written to {dst}", "check that the input has readable frames")
    fmt = FORMATS[dst.suffix.lower()]
    total = 0
    try:
        with atomic_output(dst) as tmp:
            with av.open(str(files[0])) as first:
                time_base = first.streams.video[0].time_base
            with av.open(str(tmp), "w", format=fmt,
                         options=mov_options(fmt, Fraction(time_base) if time_base else None)) as out:
                copies = None
                try:
                    with av.open(str(files[0])) as first:
                        template = first.streams.video[0]
                        video = out.add_stream_from_template(template)
                        video.time_base = template.time_base
                    if source.copy:
                        copies = StreamCopies(out, copy_from, source.copy)
                    last_dts = None
                    for path in files:
                        dts = _decode_times(path)
                        with av.open(str(path)) as part:
                            stream = part.streams.video[0]
                            for packet in (p for p in part.demux(stream) if p.size):
                                if dts is not None:
                                    packet.dts = next(dts)
                                if packet.dts is not None and last_dts is not None and packet.dts <= last_dts:
                                    packet.dts = last_dts + 1  # a variable-rate part's first decode time
                                last_dts = packet.dts
                                total += 1
                                packet.stream = video
                                out.mux(packet)
                                if copies is not None and packet.pts is not None:
                                    copies.until(float(packet.pts * packet.time_base))
                    if copies is not None:
                        copies.until(None)
                finally:
                    if copies is not None:
                        copies.close()
            from edgecolor.video_encode import count_video_frames

            if count_video_frames(tmp) != total:
                raise OutputError(f"cannot write {dst}: joining its parts gave {count_video_frames(tmp)} of {total} "
                                  "frames", f"free disk space and run the command again (the parts are kept in "
                                  f"{parts.folder})")
    except (OSError, av_errors()) as exc:
        raise OutputError(f"cannot join the parts of {dst}: {str(exc)[:160]}",
                          f"free disk space and run the command again (the parts are kept in {parts.folder})") \
            from exc
    return total


def _decode_times(path: Path) -> Iterator[int] | None:
    """The decode times of a part whose container stores none for some packets (Matroska keeps presentation
    times only), else None: the presentation times in order, moved back by the decoder's reorder delay, so each
    is at most its packet's presentation time and they rise packet by packet."""
    import av

    with av.open(str(path)) as part:
        stream = part.streams.video[0]
        found = [(p.pts, p.dts) for p in part.demux(stream) if p.size]
    pts = [p for p, _ in found if p is not None]
    if all(dts is not None for _, dts in found) or len(pts) < len(found):
        return None
    ordered = sorted(pts)
    delay = max(o - p for o, p in zip(ordered, pts, strict=True))
    return iter([o - delay for o in ordered])


@dataclass
class VideoResult:
    frames: int  # in the output
    skipped: int  # input frames that did not decode (this run)
    resumed: int  # input frames an earlier run had finished
    shots: int = 0  # shots starting in this run's frames, and those copied as colour footage
    colour_shots: int = 0


def encode_part(src: Path, dst: Path, start: int, end: int, engine: Engine, extra: Mapping[str, float] | None = None,
                *, encoding: Encoding | None = None, temporal: TemporalConfig | None = None,
                max_pixels: int | None = None, part_seconds: float = PART_SECONDS, warm: int | None = None) -> int:
    """One part on its own (a Ray actor's task; the driver prepared the work folder): sought to, warmed up,
    encoded and renamed into the work folder. Returns the frames written."""
    plan, source = probe(src, part_seconds)
    return encode(src, Parts(dst, plan), [(start, end)], engine, extra, source=source, encoding=encoding,
                  temporal=temporal, max_pixels=max_pixels, warm=warm).written


def write_video(src: Path, dst: Path, engine: Engine, extra: Mapping[str, float] | None = None, *,
                encoding: Encoding | None = None, temporal: TemporalConfig | None = None,
                resume: Resume | None = None, max_pixels: int | None = None, stop: StopRequest | None = None,
                on_frame: Callable[[], None] | None = None, part_seconds: float = PART_SECONDS) -> VideoResult:
    """The local job: encode the frames no finished part holds, in order, then join the parts into ``dst``."""
    reader = VideoReader(src, max_pixels)  # a bad input is refused before the work folder is made
    reader.close()
    plan, source = probe(src, part_seconds)
    parts = Parts(dst, plan)
    # Without settings to check them by, or frames to count (an input PyAV cannot read), parts are not reused.
    key = run_key(src, resume, encoding, temporal, plan) if plan.frames else None
    parts.prepare(key, redo=resume is not None and resume.redo)
    resumed = parts.frames_done()
    if on_frame:
        for _ in range(resumed):
            on_frame()
    todo = parts.todo()
    counts = _Counts()
    if todo:
        try:
            counts = encode(src, parts, todo, engine, extra, source=source, encoding=encoding, temporal=temporal,
                            max_pixels=max_pixels, stop=stop, on_frame=on_frame)
        except InputError:
            parts.remove()  # a bad input: nothing of it is left (a folder job goes on with the next file)
            raise
        except OutputError:
            if not parts.done():  # nothing worth resuming from (a full disk before the first part): no trace
                parts.remove()
            raise
        except Stopped as cut:
            if key is None:
                parts.remove()
                raise Stopped(cut.stop, cut.done, cut.frames, None) from None
            raise
    frames = join(parts, dst, src, source)
    parts.remove()
    return VideoResult(frames, counts.skipped, resumed, counts.shots, counts.colour_shots)
