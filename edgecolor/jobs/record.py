"""Which ``colorize`` / ``stylize`` outputs are complete: ``.edgecolor-done.jsonl`` in their folder.

One record, written the same way locally and by ``--on ray``: a line per output, appended only after the file
was renamed into place (outputs are written atomically), with a key of the model file, the settings and the
input's size and mtime. So a recorded output whose file exists is a real, whole output of *this* command with
*these* settings. Checking the file alone (it exists, it decodes, its frame count matches) could not tell a
rerun with another ``--colour-strength`` or model from a resume, nor a user's own file from ours, and would
decode every output of a 100,000-photo folder on each rerun. :func:`split` applies the overwrite policy
(:func:`edgecolor.overwrite.leave_existing`) to a plan with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from edgecolor.choices import Overwrite
from edgecolor.jobs.files import Job
from edgecolor.overwrite import leave_existing

log = logging.getLogger(__name__)

RECORD = ".edgecolor-done.jsonl"
MAX_RECORD_BYTES = 64 << 20


def settings_key(model: Path, extra: Mapping[str, float], cpu_path: str,
                 video: Mapping[str, object] | None = None) -> str:
    """The key of the settings an output depends on: the model file, its extra inputs, the CPU path and the video
    stage's settings (``video``: :meth:`edgecolor.stream.temporal.TemporalConfig.key`)."""
    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    parts: list = [digest, sorted(extra.items()), str(cpu_path)]
    if video is not None:
        parts.append(sorted(video.items()))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def job_key(job: Job, settings: str) -> str:
    st = job.src.stat()
    return f"{settings}:{st.st_size}:{st.st_mtime_ns}"


def load_record(folder: Path) -> dict[str, str]:
    """``output name -> key`` of finished outputs. The record is append-only JSON lines (one per output, so a
    100,000-photo job never rewrites it); a torn or foreign line is skipped, a later line wins."""
    path = folder / RECORD
    found: dict[str, str] = {}
    try:
        if not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
            return found
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        log.warning("cannot read the resume record %s: everything is redone", path)
        return found
    for line in lines:
        try:
            entry = json.loads(line) if len(line) < 4096 else None
        except (ValueError, RecursionError):
            continue  # a line cut short by a killed run
        if isinstance(entry, dict) and isinstance(entry.get("output"), str) and isinstance(entry.get("key"), str):
            found[entry["output"]] = entry["key"]
    return found


def append_record(folder: Path, output: str, key: str) -> None:
    """Add one finished output to the record (after its file was renamed into place)."""
    path = folder / RECORD
    with path.open("ab+") as f:
        f.seek(0, os.SEEK_END)
        torn = f.tell() > 0 and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n"  # a line a killed run cut short
        f.write((b"\n" if torn else b"") + json.dumps({"output": output, "key": key}).encode() + b"\n")
        f.flush()


def record_done(job: Job, settings: str) -> None:
    append_record(job.dst.parent, job.dst.name, job_key(job, settings))


def split(jobs: list[Job], settings: str, policy: Overwrite) -> tuple[list[Job], list[Job]]:
    """``(todo, left)``: the jobs to run and those whose existing output is left as it is, by ``policy``. With
    the default, an output of ours whose record key differs (its input or settings changed) is redone and an
    existing file with no record line is refused (:class:`~edgecolor.errors.OutputError`, naming -y and -n),
    before anything is written."""
    records = {folder: load_record(folder) for folder in {j.dst.parent for j in jobs}} \
        if policy is Overwrite.SKIP else {}
    todo: list[Job] = []
    left: list[Job] = []
    for job in jobs:
        known = records.get(job.dst.parent, {}).get(job.dst.name)
        complete = None if known is None else known == job_key(job, settings)
        (left if leave_existing(job.dst, policy, complete) else todo).append(job)
    return todo, left
