"""The skeleton both trainers share (``train colorizer``, ``train style``): atomic checkpoints, resume, a JSON-lines
log written at each checkpoint, and a time limit that checkpoints and stops.

What a checkpoint holds is each trainer's own (its keys are unchanged, so runs checkpointed before this module
existed resume as they are); this module only writes and reads it atomically and runs the steps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where a run is: steps done and training seconds so far (both kept in the checkpoint)."""

    step: int = 0
    elapsed: float = 0.0


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: an interrupted save keeps the last one."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, device: torch.device, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from, or None (no ``--resume``, or nothing saved yet)."""
    if not resume or not path.exists():
        return None
    return dict(torch.load(path, map_location=device, weights_only=False))


def run_steps(at: Progress, steps: int, *, train_step: Callable[[], None], record: Callable[[Progress], dict],
              save: Callable[[], None], log_path: Path, ckpt_every: int, max_minutes: float) -> None:
    """Train from ``at.step`` to ``steps``: ``train_step()`` once per step, then ``record(at)`` (the step's log
    line; validation goes there). Every ``ckpt_every`` steps and at the last, ``save()`` and append the record
    to ``log_path``; a record holding a validation result (a ``val_`` key) is appended at its own step too, so
    none is lost between checkpoints. Past ``max_minutes`` (0 = no limit) save and stop, to be resumed."""
    t0 = time.time() - at.elapsed
    with log_path.open("a") as logf:
        while at.step < steps:
            train_step()
            at.step += 1
            at.elapsed = time.time() - t0
            line = record(at)
            checkpoint = at.step % ckpt_every == 0 or at.step == steps
            if checkpoint:
                save()
            if checkpoint or any(str(k).startswith("val_") for k in line):
                logf.write(json.dumps(line) + "\n")
                logf.flush()
            if max_minutes and at.elapsed > max_minutes * 60:
                save()
                log.info("time limit reached at step %d; resume with --resume", at.step)
                break
