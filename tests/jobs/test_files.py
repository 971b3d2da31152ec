"""One-shot file jobs: a video's frames overlap in the engine as in the streaming pipeline."""

import threading

import numpy as np

from edgecolor.backends.base import Engine
from edgecolor.imageio import VideoReader
from edgecolor.jobs.files import plan, run_job

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
