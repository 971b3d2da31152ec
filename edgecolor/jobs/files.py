"""One-shot processing of images, folders and videos through a frame model (``colorize`` / ``stylize``).

Videos overlap as the streaming pipeline does: frame k+1 is submitted to the engine before frame k is written
(:meth:`~edgecolor.backends.base.Engine.submit`), so decoding, the engine's stages and encoding run at once.

Output naming: one input file -> ``OUT`` is a file (or a folder to put it in); a folder or several inputs
-> ``OUT`` is a folder and each output keeps its input's stem and extension. Every output is written
atomically, and the whole plan is validated before the first frame is processed.

Bad files: by default one input file that cannot be used (unreadable, corrupt, past the pixel limit) stops the
whole job before anything is written. A caller that passes a ``failed`` list to :func:`plan` and :func:`run_jobs`
keeps going instead: each bad file becomes a :class:`Failure` (its name and a short reason) and the rest are
written. Only input faults are kept going past (:class:`~edgecolor.errors.InputError`); an output that cannot
be written or a bad model still stops the job.

Interrupts: :func:`run_jobs` takes a :class:`~edgecolor.signals.StopRequest` (``run``'s mechanism: SIGINT and
SIGTERM set it, nothing is raised mid-write) and checks it between frames and files, so finished outputs are
kept, an unfinished video keeps its finished frames in its work folder (:mod:`edgecolor.jobs.parts`; an
``.avi`` is removed), and :class:`JobsStopped` says which.
"""

from __future__ import annotations

import collections
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgecolor import inputs as ec_inputs
from edgecolor.errors import InputError, OutputError
from edgecolor.imageio import (
    TooManyPixels,
    VideoReader,
    VideoWriter,
    is_image,
    is_video,
    megapixels,
    probe_image,
    read_image,
    write_image,
)
from edgecolor.jobs.parts import Stopped, in_parts, write_video
from edgecolor.overwrite import Inputs
from edgecolor.stream.temporal import Output, TemporalConfig, TemporalStage
from edgecolor.video_encode import Encoding, check_encoding

if TYPE_CHECKING:
    from edgecolor.backends.base import Engine
    from edgecolor.jobs.parts import Resume
    from edgecolor.signals import StopRequest


@dataclass(frozen=True)
class Job:
    src: Path
    dst: Path
    kind: str  # "image" | "video"


@dataclass
class Result:
    input: str
    output: str
    kind: str
    frames: int
    seconds: float
    skipped_frames: int = 0
    resumed_frames: int = 0  # a video's frames an interrupted earlier run had finished (kept in its parts)
    shots: int = 0  # a video's shots (edgecolor.stream.temporal), those copied as colour footage
    colour_shots: int = 0


@dataclass(frozen=True)
class Failure:
    """An input file that was skipped: ``reason`` is short, for a summary line ("not a readable image",
    "115 MP > the 67 MP limit: --max-pixels 120M"); ``error`` is the whole one-line message."""

    input: str
    reason: str
    error: str


def max_pixels_hint(pixels: int) -> str:
    """The ``--max-pixels`` value that lets a ``pixels`` image through: the next 10 million up (``120M``)."""
    return f"{math.ceil(pixels / 1e7) * 10}M"


def failure(src: Path | str, exc: InputError) -> Failure:
    """``exc`` (raised for the input ``src``) as a :class:`Failure`."""
    if isinstance(exc, TooManyPixels):
        reason = (f"{megapixels(exc.pixels)} MP > the {megapixels(exc.limit)} MP limit: "
                  f"--max-pixels {max_pixels_hint(exc.pixels)}")
    else:
        reason = exc.problem
        for prefix in (f"{src} is ", f"image {src} is ", f"video {src} is "):
            if reason.startswith(prefix):
                reason = reason[len(prefix):].split(" (")[0]  # "not a readable image (corrupt, ...)": the gist
                break
        else:
            reason = reason.replace(str(src), Path(src).name)
    return Failure(str(src), reason, str(exc).splitlines()[0][:300])


def _with_option(exc: InputError) -> InputError:
    """A :class:`TooManyPixels` from a colorize/stylize input says which ``--max-pixels`` lets it through."""
    if isinstance(exc, TooManyPixels):
        return TooManyPixels(exc.name, exc.width, exc.height, exc.limit,
                             f"pass --max-pixels {max_pixels_hint(exc.pixels)}, or downscale it first")
    return exc


def keeps_going(inputs: list[Path]) -> bool:
    """Whether a bad file can be skipped: the inputs are a folder or several files. One file given alone is the
    whole job, so a bad one is an error (exit 2), as it always was."""
    return len(inputs) > 1 or (len(inputs) == 1 and inputs[0].is_dir())


def _media(folder: Path) -> list[Path]:
    return ec_inputs.folder_files(folder, lambda p: is_image(p) or is_video(p), "input folder")


def plan(inputs: list[Path], out: Path, encoding: Encoding | None = None, max_pixels: int | None = None,
         failed: list[Failure] | None = None) -> list[Job]:
    """Map inputs to outputs, or raise a one-line error before anything is written (``encoding``: a codec
    a video output's container cannot hold, or quality options that do not apply to it). Each image's header is
    checked (readable, at most ``max_pixels``, default :data:`~edgecolor.imageio.MAX_PIXELS`); with ``failed``,
    an image that fails it is added there and left out of the plan instead."""
    if not inputs:
        raise InputError("no input given", "pass an image, a video or a folder")
    files: list[tuple[Path, Path | None]] = []  # (file, folder it came from)
    for inp in inputs:
        found = ec_inputs.kind(inp, "input")  # names too long, link loops, FIFOs and devices: one line
        if found == "dir":
            media = _media(inp)
            if not media:
                raise InputError(f"folder {inp} has no images or videos", "pass a folder with .jpg/.png/.mp4 files")
            files += [(m, inp) for m in media]
        elif found == "file":
            if not (is_image(inp) or is_video(inp)):
                raise InputError(f"{inp} is not an image or video file by its extension", "pass .jpg/.png/.mp4/...")
            files.append((inp, None))
        else:
            raise InputError(f"input {inp} does not exist", "check the path")
    ec_inputs.check_output(out)  # a name too long or a link loop: one line before anything is read
    single = len(files) == 1 and files[0][1] is None
    if str(out) == "-" or re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", str(out)):  # typer made "x://" "x:/"
        raise OutputError(f"-o {out} is not a file or a folder (outputs are never written to stdout or a URL)",
                          "pass a file such as out.png or a folder such as out/")
    to_folder = not single or out.is_dir() or not out.suffix
    if to_folder:
        if out.exists() and not out.is_dir():
            if not out.is_file():
                raise OutputError(f"output {out} is a device or a pipe, not a file or a folder",
                                  "pass a file such as out.png or a folder such as out/")
            if single:
                raise OutputError(f"output {out} is an existing file without an image or video extension",
                                  "pass a file such as out.png or a folder such as out/")
            raise OutputError(f"{out} is a file, but {len(files)} outputs need a folder", "pass a folder for -o")
        jobs = [Job(f, out / f.name, "video" if is_video(f) else "image") for f, _ in files]
    else:
        src = files[0][0]
        if is_image(src) != is_image(out):
            raise OutputError(f"output {out.name} and input {src.name} are not the same kind of media",
                              "give the output an image extension for an image, a video extension for a video")
        jobs = [Job(src, out, "video" if is_video(src) else "image")]
    seen: dict[Path, Path] = {}
    guard = Inputs(f for f, _ in files)
    kept: list[Job] = []
    for job in jobs:
        if job.kind == "image":
            try:
                probe_image(job.src, max_pixels)  # header only: a bad file fails before anything is written
            except InputError as exc:
                if failed is None:
                    raise _with_option(exc) from None
                failed.append(failure(job.src, exc))
                continue
        elif encoding is not None:
            check_encoding(job.dst, encoding)
        ec_inputs.check_output(job.dst)
        if job.dst in seen:
            raise OutputError(f"{seen[job.dst]} and {job.src} would both be written to {job.dst}", "rename one input")
        guard.check_file(job.dst)
        seen[job.dst] = job.src
        kept.append(job)
    return kept


class JobsStopped(Exception):
    """``run_jobs`` stopped by SIGINT/SIGTERM (its :class:`~edgecolor.signals.StopRequest`) between frames or
    files. ``str()`` is the one line the CLI prints: what was kept, what was removed, how many of how many were
    done; ``exit_code`` is the shell's ``128 + signal``."""

    def __init__(self, stop: StopRequest, jobs: list[Job], done: list[Result], cut: Job | None = None,
                 frames: tuple[int, int] = (0, 0), failed: int = 0, kept: Path | None = None) -> None:
        self.stop, self.jobs, self.done, self.cut, self.frames = stop, jobs, done, cut, frames
        self.kept = kept  # the work folder holding the unfinished video's finished frames (edgecolor.jobs.parts)
        self.failed = failed  # jobs skipped as bad inputs before the stop
        self.exit_code = stop.exit_code
        super().__init__(self.line())

    def line(self) -> str:
        total, done = len(self.jobs), len(self.done)
        text = f"interrupted by {self.stop.name}: {done} of {total} output{'s' if total > 1 else ''} done"
        if done:
            first, last = self.done[0].output, self.done[-1].output
            text += f" and kept ({first}{', ' + last if done == 2 else ' ... ' + last if done > 2 else ''})"
        if self.cut is not None and self.kept is not None:
            written, frames = self.frames
            text += (f"; {self.cut.dst}: {written} of {frames or '?'} frames done, kept in "
                     f"{self.kept.name}{os.sep} beside it")
        elif self.cut is not None:
            written, frames = self.frames
            text += f"; removed the unfinished {self.cut.dst} ({written} of {frames or '?'} frames written)"
        if self.failed:
            text += f"; {self.failed} failed (bad input{'s' if self.failed > 1 else ''})"
        left = total - done - self.failed - (self.cut is not None)
        if left:
            text += f"; {left} not started"
        rest = "the rest" if self.kept is not None else "it" if total == 1 else f"all {total}"
        return f"{text}. Run the same command again to write {rest}."


class _Cut(Exception):
    """A video job stopped between frames by ``stop``: its output removed, or (``kept``) its finished frames kept
    in that work folder."""

    def __init__(self, stop: StopRequest, written: int, frames: int, kept: Path | None = None) -> None:
        self.stop, self.written, self.frames, self.kept = stop, written, frames, kept


def run_jobs(jobs: list[Job], engine: Engine, extra: Mapping[str, float] | None = None,
             on_frame: Callable[[], None] | None = None, stop: StopRequest | None = None,
             encoding: Encoding | None = None, max_pixels: int | None = None,
             failed: list[Failure] | None = None, done: Callable[[Job], None] | None = None,
             temporal: TemporalConfig | None = None, resume: Resume | None = None) -> list[Result]:
    """:func:`run_job` for each of ``jobs`` in order (``on_frame`` after each video frame and each image;
    ``done`` after each output is in place: :func:`edgecolor.jobs.record.record_done` marks it complete). When
    ``stop`` is set (:func:`edgecolor.signals.stopping`), the job in hand ends at the next frame (an unfinished
    video is removed, a finished output kept) and :class:`JobsStopped` says what was done. With ``failed``, a
    job whose input is bad (:class:`~edgecolor.errors.InputError`: nothing of it is left written) is added there
    and the rest go on; without it, the error ends the run. ``temporal`` and ``resume``: as :func:`run_job`."""
    results: list[Result] = []
    bad = 0
    for job in jobs:
        if stop:
            raise JobsStopped(stop, jobs, results, failed=bad)
        try:
            results.append(run_job(job, engine, extra, on_frame, stop, encoding, max_pixels, temporal, resume))
            if done:
                done(job)
        except _Cut as cut:
            raise JobsStopped(cut.stop, jobs, results, job, (cut.written, cut.frames), bad, cut.kept) from None
        except InputError as exc:
            if failed is None:
                raise _with_option(exc) from None
            failed.append(failure(job.src, exc))
            bad += 1
        if job.kind == "image" and on_frame:
            on_frame()
    if stop:  # came during the last job, which was finished and kept
        raise JobsStopped(stop, jobs, results, failed=bad)
    return results


def run_job(job: Job, engine: Engine, extra: Mapping[str, float] | None = None,
            on_frame: Callable[[], None] | None = None, stop: StopRequest | None = None,
            encoding: Encoding | None = None, max_pixels: int | None = None,
            temporal: TemporalConfig | None = None, resume: Resume | None = None) -> Result:
    """Write ``job``'s output through ``engine`` (with its ``extra`` inputs); ``on_frame`` after each video
    frame written. A video's frames go through :class:`~edgecolor.stream.temporal.TemporalStage` as ``temporal``
    says (default: stabilised; a colorizer's colour shots copied). An input past ``max_pixels`` (default
    :data:`~edgecolor.imageio.MAX_PIXELS`) is refused. A video is encoded as ``encoding`` says (default: H.264
    in MP4/MOV/MKV, VP9 in WebM) with the input's audio and subtitle streams copied. A video keeps
    ``engine.streams + 1`` frames in the engine, as the pipeline does. Every container but .avi is written in
    parts (:mod:`edgecolor.jobs.parts`): with ``stop`` set the part in hand is finished and kept, and a rerun
    with the same ``resume`` settings continues it (``_Cut``); an .avi output is removed unfinished."""
    t0 = time.perf_counter()
    values = dict(extra or {})
    resumed = 0
    if job.kind == "image":
        write_image(job.dst, engine(read_image(job.src, max_pixels), **values))
        frames, skipped, shots = 1, 0, (0, 0)
    elif in_parts(job.dst):
        config = (temporal or TemporalConfig()).for_task(engine.info.task)
        try:
            video = write_video(job.src, job.dst, engine, values, encoding=encoding, temporal=config,
                                resume=resume, max_pixels=max_pixels, stop=stop, on_frame=on_frame)
        except Stopped as cut:
            raise _Cut(cut.stop, cut.done, cut.frames, cut.folder) from None
        frames, skipped, resumed, shots = video.frames, video.skipped, video.resumed, (video.shots, video.colour_shots)
    else:
        reader = VideoReader(job.src, max_pixels)
        try:
            writer = VideoWriter(job.dst, reader.fps, encoding=encoding, copy_from=job.src)
        except BaseException:
            reader.close()
            raise
        pending: collections.deque[Output] = collections.deque()
        config = (temporal or TemporalConfig()).for_task(engine.info.task)
        stage = TemporalStage(lambda f: engine.submit(f, **values), config)

        def drain(keep: int) -> None:
            while len(pending) > keep:
                writer.write(pending.popleft()())
                if on_frame:
                    on_frame()

        def write(ready: list[Output]) -> None:
            for out in ready:
                out.start()  # frame k+1 goes in before frame k is written
                pending.append(out)
                drain(engine.streams)

        try:
            for frame in reader:
                if stop:
                    raise _Cut(stop, writer.frames, reader.frame_count)
                write(stage.feed(frame))
            write(stage.flush())
            drain(0)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            reader.close()
        frames, skipped, shots = writer.frames, reader.skipped, (stage.stats.shots, stage.stats.colour_shots)
    return Result(str(job.src), str(job.dst), job.kind, frames, round(time.perf_counter() - t0, 3), skipped,
                  resumed, *shots)


def count_frames(job: Job, max_pixels: int | None = None) -> int:
    if job.kind == "image":
        return 1
    reader = VideoReader(job.src, max_pixels)
    reader.close()
    return max(reader.frame_count, 1)


def summarise(model: str, results: list[Result], failed: list[Failure] | None = None, skipped: int = 0) -> dict:
    """What ``colorize`` / ``stylize`` report (``--json``): every output, frames (``resumed_frames`` of them kept
    from an interrupted run's parts), seconds, frames/s (of this run's frames), skips, the
    outputs left as they were (``skipped``: already complete, or existing with ``-n``; as ``--on ray`` counts
    them) and the input files that failed (``input``, ``reason``, ``error``: as ``--on ray`` reports them)."""
    frames = sum(r.frames for r in results)
    seconds = sum(r.seconds for r in results)
    resumed = sum(r.resumed_frames for r in results)  # done by an interrupted run: not this run's frames/s
    return {
        "model": model, "outputs": [r.__dict__ for r in results], "frames": frames, "resumed_frames": resumed,
        "seconds": round(seconds, 3), "frames_per_s": round((frames - resumed) / seconds, 2) if seconds else None,
        "skipped_frames": sum(r.skipped_frames for r in results), "written": len(results),
        "colour_shots_kept": sum(r.colour_shots for r in results),
        "skipped": skipped, "failed": [f.__dict__ for f in failed or []],
    }


def failed_line(verb: str, written: int, failed: list[dict]) -> str:
    """The summary line of a job with bad files: ``colorize: 8 written, 2 failed: bad1.jpg (not a readable
    image), huge.png (115 MP > the 67 MP limit: --max-pixels 120M)`` (``failed``: :func:`summarise`'s). Past
    :data:`NAMED_FAILURES` files it says how many more (a folder of 10,000 bad files is one readable line)."""
    named = ", ".join(f"{Path(f['input']).name} ({f['reason']})" for f in failed[:NAMED_FAILURES])
    more = f" and {len(failed) - NAMED_FAILURES} more (--json lists them all)" if len(failed) > NAMED_FAILURES else ""
    return f"{verb}: {written} written, {len(failed)} failed: {named}{more}"


NAMED_FAILURES = 10
