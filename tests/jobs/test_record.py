"""The record of complete outputs (``.edgecolor-done.jsonl``) and the overwrite policy applied to a plan."""

from pathlib import Path

import cv2
import pytest

from edgecolor.choices import Overwrite
from edgecolor.errors import OutputError
from edgecolor.jobs.files import Job
from edgecolor.jobs.record import RECORD, append_record, job_key, load_record, record_done, split

from helpers import random_bgr


def test_a_torn_record_line_is_skipped_and_the_rest_kept(tmp_path):
    append_record(tmp_path, "a.png", "k1")
    with (tmp_path / RECORD).open("a") as f:
        f.write('{"output": "b.png", "ke')  # a run killed mid-line
    append_record(tmp_path, "c.png", "k3")
    append_record(tmp_path, "a.png", "k4")  # a redone output: the later line wins
    assert load_record(tmp_path) == {"a.png": "k4", "c.png": "k3"}


def four_jobs(tmp_path: Path) -> list[Job]:
    """new.png: no output yet; done.png: recorded complete; stale.png: recorded under other settings; mine.png:
    an existing file with no record line (the user's)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    jobs = []
    for name in ("new", "done", "stale", "mine"):
        cv2.imwrite(str(tmp_path / "in" / f"{name}.png"), random_bgr(4, 4))
        jobs.append(Job(tmp_path / "in" / f"{name}.png", tmp_path / "out" / f"{name}.png", "image"))
        if name != "new":
            jobs[-1].dst.write_bytes(b"x")
    record_done(jobs[1], "S")
    append_record(tmp_path / "out", "stale.png", job_key(jobs[2], "OTHER"))
    return jobs


@pytest.mark.parametrize(("policy", "todo", "left"), [
    (Overwrite.YES, ["new", "done", "stale", "mine"], []),
    (Overwrite.NO, ["new"], ["done", "stale", "mine"]),
])
def test_split_by_policy(tmp_path, policy, todo, left):
    got = split(four_jobs(tmp_path), "S", policy)
    assert [[j.src.stem for j in part] for part in got] == [todo, left]


def test_the_default_resumes_redoes_stale_outputs_and_refuses_a_file_it_did_not_write(tmp_path):
    jobs = four_jobs(tmp_path)
    with pytest.raises(OutputError, match=r"output .*mine.png already exists.*-y.*-n"):
        split(jobs, "S", Overwrite.SKIP)
    todo, left = split(jobs[:3], "S", Overwrite.SKIP)
    assert ([j.src.stem for j in todo], [j.src.stem for j in left]) == (["new", "stale"], ["done"])
