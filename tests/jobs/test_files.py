"""One-shot file jobs: a video's frames overlap in the engine as in the streaming pipeline; a folder's bad files
are left out with a reason when the caller keeps going, and refused otherwise."""

import signal
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecolor.backends.base import Engine
from edgecolor.errors import InputError
from edgecolor.imageio import MAX_PIXELS, TooManyPixels, VideoReader
from edgecolor.jobs.files import JobsStopped, failed_line, failure, max_pixels_hint, plan, run_job, run_jobs
from edgecolor.signals import StopRequest

from helpers import write_clip


class Recording(Engine):
    """Adds ``colour_strength`` to every pixel; records when each frame is submitted and collected."""

    backend = "recording"

    def __init__(self):
        super().__init__()
        self.defaults = {"colour_strength": 0.0}
        self.events, self._lock = [], threading.Lock()

    def submit(self, frame, **extra):
        with self._lock:
            k = sum(1 for e in self.events if e[0] == "submit")
            self.events.append(("submit", k))
        pending = super().submit(frame, **extra)
        events = self.events

        class Collect:
            def __call__(self):
                out = pending()
                events.append(("collect", k))
                return out

        return Collect()

    def _infer_impl(self, batch, extra):
        return np.clip(batch.astype(int) + int(extra["colour_strength"]), 0, 255).astype(np.uint8)


def test_a_video_job_submits_the_next_frame_before_it_writes_this_one(tmp_path):
    src = write_clip(tmp_path / "in.avi", 5)
    (job,) = plan([src], tmp_path / "out.avi")
    engine, written = Recording(), []
    result = run_job(job, engine, {"colour_strength": 0.0}, on_frame=lambda: written.append(len(engine.events)))
    assert result.frames == 5 and len(written) == 5
    order = engine.events
    for k in range(4):  # frame k+1 is in the engine before frame k is collected and written
        assert order.index(("submit", k + 1)) < order.index(("collect", k))
    assert [k for e, k in order if e == "collect"] == list(range(5))
    reader = VideoReader(tmp_path / "out.avi")
    assert sum(1 for _ in reader) == 5
    reader.close()
    engine.close()


def gray_photos(folder, n):
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i}.png"), np.full((6, 8), 10 * i, np.uint8))
    return folder


def test_the_plan_leaves_bad_files_out_with_a_reason_when_asked_and_refuses_them_otherwise(tmp_path):
    src = gray_photos(tmp_path / "in", 2)
    (src / "bad.jpg").write_bytes(b"")
    cv2.imwrite(str(src / "wide.png"), np.zeros((10, 11), np.uint8))
    failed = []
    jobs = plan([src], tmp_path / "out", max_pixels=100, failed=failed)
    assert [j.src.name for j in jobs] == ["p0.png", "p1.png"]
    assert [(Path(f.input).name, f.reason) for f in failed] == [
        ("bad.jpg", "empty"), ("wide.png", "0.00011 MP > the 0.0001 MP limit: --max-pixels 10M")]
    with pytest.raises(InputError, match=r"bad\.jpg is empty"):
        plan([src], tmp_path / "out")
    (src / "bad.jpg").unlink()
    with pytest.raises(TooManyPixels, match=r"wide\.png is 11x10, larger than the 0\.0001 MP limit\. Pass "
                                            r"--max-pixels 10M, or"):
        plan([src], tmp_path / "out", max_pixels=100)
    assert len(plan([src], tmp_path / "out", max_pixels=110)) == 3  # the limit is inclusive


@pytest.mark.parametrize(("pixels", "hint"), [(115_200_000, "120M"), (120_000_000, "120M"), (120_000_001, "130M"),
                                              (1, "10M")])
def test_the_max_pixels_hint_is_the_next_ten_million_up(pixels, hint):
    assert max_pixels_hint(pixels) == hint


def test_a_115_mp_scan_is_named_as_people_say_it():
    exc = TooManyPixels("scan.png", 12000, 9600, MAX_PIXELS)
    assert failure("scan.png", exc).reason == "115 MP > the 67 MP limit: --max-pixels 120M"
    assert failure("/a/b.png", InputError("cannot read /a/b.png: Permission denied", "x")).reason == \
        "cannot read b.png: Permission denied"


def test_keep_going_skips_a_bad_file_and_an_interrupt_counts_it(tmp_path):
    src = gray_photos(tmp_path / "in", 3)
    (src / "p0b.png").write_bytes((src / "p0.png").read_bytes()[:40])  # header intact, pixels cut off
    jobs = plan([src], tmp_path / "out")
    assert [j.src.name for j in jobs] == ["p0.png", "p0b.png", "p1.png", "p2.png"]
    failed, engine = [], Recording()
    assert len(run_jobs(jobs, engine, {"colour_strength": 0.0}, failed=failed)) == 3
    assert [Path(f.input).name for f in failed] == ["p0b.png"] and not (tmp_path / "out" / "p0b.png").exists()
    with pytest.raises(InputError, match="p0b.png"):  # without a list: the first bad file ends the run
        run_jobs(jobs, engine, {"colour_strength": 0.0})

    stop, seen = StopRequest(), []

    def on_frame():  # the interrupt comes after the bad file
        seen.append(1)
        if len(seen) == 2:
            stop.set(signal.SIGINT)

    with pytest.raises(JobsStopped) as stopped:
        run_jobs(jobs, engine, {"colour_strength": 0.0}, on_frame=on_frame, stop=stop, failed=[])
    assert "1 of 4 outputs done and kept" in str(stopped.value)
    assert "; 1 failed (bad input); 2 not started." in str(stopped.value)
    engine.close()


def test_the_failed_line_names_ten_files_and_counts_the_rest():
    failed = [{"input": f"/in/b{i}.jpg", "reason": "empty"} for i in range(12)]
    line = failed_line("colorize", 3, failed)
    assert line.startswith("colorize: 3 written, 12 failed: b0.jpg (empty), b1.jpg (empty)")
    assert "b9.jpg (empty) and 2 more (--json lists them all)" in line and "b10" not in line
    assert failed_line("stylize", 0, failed[:1]) == "stylize: 0 written, 1 failed: b0.jpg (empty)"
