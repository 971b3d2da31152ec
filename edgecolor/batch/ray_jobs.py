"""``colorize`` / ``stylize --on ray``: the same jobs as on one machine, spread over a Ray cluster.

Ray Data reads the job list, and ``map_batches`` runs a callable class in a pool of actors
(``compute=ActorPoolStrategy(size=workers)``, ``num_gpus`` per actor): each actor opens one engine through
the normal loader and writes its outputs atomically, with the names the single-machine command would
use (:func:`edgecolor.jobs.files.plan`). A video is split into parts at its keyframes
(:mod:`edgecolor.jobs.parts`, the same parts the local job writes and resumes from): each part is a task an actor
encodes into the output's hidden work folder (seeking to it, and warming the temporal step up on the frames
before it), and the driver joins the parts into the output without re-encoding once all are done. So one long
film keeps every actor busy, and the output is the local job's (same part boundaries, same keyframes).

Resume: ``.edgecolor-done.jsonl`` in the output folder records, per finished output, a key of the model
file, the settings and the input's size and mtime (:mod:`edgecolor.jobs.record`, the same record the local
command writes). A second run skips outputs whose record matches and whose file exists; ``-y`` redoes them,
``-n`` leaves every existing file (:func:`edgecolor.overwrite.leave_existing`).

Faults: an actor that dies is restarted by Ray and its task retried; outputs are
renamed into place only when complete, so a retry can neither lose nor duplicate one. One bad input is
reported as failed with its one-line reason and the rest go on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecolor.choices import Overwrite
from edgecolor.errors import EdgecolorError, InputError, OutputError, require
from edgecolor.imageio import VideoReader, remove_orphaned_temps
from edgecolor.jobs.files import Failure, Job, failure, run_job
from edgecolor.jobs.parts import PART_SECONDS, Parts, Resume, encode_part, in_parts, join, probe, run_key
from edgecolor.jobs.record import RECORD, load_record, record_done, settings_key, split
from edgecolor.stream.temporal import TemporalConfig

if TYPE_CHECKING:
    from edgecolor.video_encode import SourceStreams

__all__ = ["RECORD", "FrameModelWorker", "RayOptions", "load_record", "run_on_ray"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start a local Ray on this machine
    workers: int = 1
    gpus_per_worker: float = 0.0
    threads: int = 1  # ONNX Runtime threads per worker


class FrameModelWorker:
    """One Ray actor: one engine, then every job of its batches through :func:`run_job`."""

    def __init__(self, model: str, extra: dict[str, float], cpu_path: str, threads: int,
                 max_pixels: int | None = None, temporal: TemporalConfig | None = None,
                 part_seconds: float = PART_SECONDS) -> None:
        from edgecolor.backends import open_engine

        self.engine = open_engine(model, cpu_path=cpu_path, threads=threads)
        self.extra = extra
        self.max_pixels = max_pixels
        self.temporal, self.part_seconds = temporal, part_seconds

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        keys = ("dst", "status", "error", "reason", "frames", "seconds", "pid")
        rows: dict[str, list[Any]] = {k: [] for k in keys}
        none = [-1] * len(batch["src"])  # rows without a part: whole files
        for src, dst, kind, start, end in zip(batch["src"], batch["dst"], batch["kind"], batch.get("start", none),
                                              batch.get("end", none), strict=True):
            try:
                t0 = time.perf_counter()
                if kind == "part":  # one part of a video: encoded into its work folder, joined by the driver
                    frames = encode_part(Path(src), Path(dst), int(start), int(end), self.engine, self.extra,
                                         temporal=self.temporal, max_pixels=self.max_pixels,
                                         part_seconds=self.part_seconds)
                else:
                    frames = run_job(Job(Path(src), Path(dst), str(kind)), self.engine, self.extra,
                                     max_pixels=self.max_pixels, temporal=self.temporal).frames
                status, error, reason, seconds = "written", "", "", time.perf_counter() - t0
            except InputError as exc:  # a bad input is reported as the local command does, the job goes on
                bad = failure(str(src), exc)
                status, error, reason, frames, seconds = "failed", bad.error, bad.reason, 0, 0.0
            except EdgecolorError as exc:  # an output this worker cannot write: reported, the job goes on
                error = str(exc).splitlines()[0][:300]
                status, reason, frames, seconds = "failed", error, 0, 0.0
            for k, v in zip(rows, (str(dst), status, error, reason, frames, seconds, os.getpid()), strict=True):
                rows[k].append(v)
        return {k: np.array(v) for k, v in rows.items()}


def run_on_ray(jobs: list[Job], model: Path, extra: dict[str, float], cpu_path: str, opts: RayOptions,
               on_done: Callable[[dict], None] | None = None,
               worker: type[FrameModelWorker] = FrameModelWorker, max_pixels: int | None = None,
               failed: list[Failure] | None = None, policy: Overwrite = Overwrite.SKIP,
               temporal: TemporalConfig | None = None, part_seconds: float = PART_SECONDS) -> dict[str, Any]:
    """Run ``jobs`` on Ray; returns the summary (``written``, ``skipped``, ``failed``, frames/s, workers, and
    ``parts``: the video parts encoded by actors). ``failed``: the files the plan already left out
    (:func:`~edgecolor.jobs.files.plan`), listed first; each entry of ``failed`` has ``input``, ``reason`` and
    ``error``, as the local command's. Videos go through ``temporal``'s stage (as
    :func:`~edgecolor.jobs.files.run_job` does) in parts of ``part_seconds``, as the local job's."""
    if opts.workers < 1 or opts.gpus_per_worker < 0:
        raise InputError("--workers must be >= 1 and --gpus-per-worker >= 0", "e.g. --workers 2")
    temporal = temporal or TemporalConfig()
    settings = settings_key(model, extra, cpu_path, temporal.key())
    todo, skipped = split(jobs, settings, policy)
    summary: dict[str, Any] = {"written": 0, "skipped": len(skipped), "failed": [f.__dict__ for f in failed or []],
                               "frames": 0, "parts": 0,
                               "seconds": 0.0, "frames_per_s": None, "workers": opts.workers, "outputs": []}
    rows: list[dict[str, Any]] = []
    films: dict[str, tuple[Job, Parts, SourceStreams]] = {}  # videos in parts, by output
    for job in todo:
        if job.kind == "video" and in_parts(job.dst):
            try:
                VideoReader(job.src, max_pixels).close()  # a bad video is named before any part is planned
            except InputError as exc:
                summary["failed"].append(failure(job.src, exc).__dict__)
                continue
            plan, source = probe(job.src, part_seconds)
            parts = Parts(job.dst, plan)
            parts.prepare(run_key(job.src, Resume(settings), None, temporal, plan), redo=policy is Overwrite.YES)
            films[str(job.dst)] = (job, parts, source)
            rows += [{"src": str(job.src), "dst": str(job.dst), "kind": "part", "start": start, "end": end}
                     for start, end in parts.todo()]
        else:
            rows.append({"src": str(job.src), "dst": str(job.dst), "kind": job.kind, "start": -1, "end": -1})
    if not rows and not films:
        return summary
    ray = require("ray", "ray")
    require("ray.data", "ray")
    t0 = time.perf_counter()
    started_here = bool(rows) and not ray.is_initialized()  # parts an earlier run finished only need joining
    if started_here:
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # Ray's C++ warnings would reach stderr
        kwargs: dict[str, Any] = {"address": opts.address, "include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.ERROR}
        if opts.address is None:
            kwargs["num_cpus"] = max(os.cpu_count() or 1, opts.workers)
        ray.init(**kwargs)
    try:
        out = None
        if rows:
            logging.getLogger("ray.data").setLevel(logging.ERROR)
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            out = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                worker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=opts.workers),
                num_cpus=1, num_gpus=opts.gpus_per_worker or None,
                fn_constructor_kwargs={"model": str(model), "extra": extra, "cpu_path": cpu_path,
                                       "threads": opts.threads, "max_pixels": max_pixels, "temporal": temporal,
                                       "part_seconds": part_seconds},
            )
        by_dst = {str(j.dst): j for j in todo}
        part_failed: dict[str, dict[str, str]] = {}
        for row in out.iter_rows() if out is not None else ():
            job = by_dst[str(row["dst"])]
            if str(row["dst"]) in films:  # a part: the video is reported once joined
                summary["parts"] += 1
                summary["frames"] += int(row["frames"])  # frames encoded here (not those an earlier run did)
                if row["status"] != "written":
                    part_failed.setdefault(str(row["dst"]), {"input": str(job.src), "reason": str(row["reason"]),
                                                             "error": str(row["error"])})
                continue
            if row["status"] == "written":
                summary["written"] += 1
                summary["frames"] += int(row["frames"])
                record_done(job, settings)
            else:
                summary["failed"].append({"input": str(job.src), "reason": str(row["reason"]),
                                          "error": str(row["error"])})
            summary["outputs"].append({"input": str(job.src), "output": str(job.dst), "status": str(row["status"]),
                                       "pid": int(row["pid"])})
            if on_done:
                on_done(summary)
        for dst, (job, parts, source) in films.items():  # every part done: joined here, without re-encoding
            status = "failed"
            if dst in part_failed:
                summary["failed"].append(part_failed[dst])
            else:
                try:
                    join(parts, job.dst, job.src, source)
                except OutputError as exc:
                    error = str(exc).splitlines()[0][:300]
                    summary["failed"].append({"input": str(job.src), "reason": error, "error": error})
                else:
                    parts.remove()
                    record_done(job, settings)
                    summary["written"] += 1
                    status = "written"
            summary["outputs"].append({"input": str(job.src), "output": dst, "status": status, "pid": os.getpid()})
            if on_done:
                on_done(summary)
    finally:
        if started_here:
            ray.shutdown()
        for job in todo:  # an actor killed mid-write (Ray retried its task elsewhere) leaves its temp file
            remove_orphaned_temps(job.dst)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    summary["frames_per_s"] = round(summary["frames"] / summary["seconds"], 2) if summary["seconds"] else None
    return summary
