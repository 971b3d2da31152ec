"""Video parts (edgecolor.jobs.parts): cut at the input's keyframes, joined without re-encoding, and a part encoded
on its own (as a Ray actor does) warmed up so the stabiliser carries across its boundary as in one continuous run."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from edgecolor.backends import open_engine
from edgecolor.jobs.parts import (
    Parts,
    Resume,
    encode_part,
    join,
    probe,
    run_key,
    warmup,
    warmup_frames,
    write_video,
)
from edgecolor.signals import StopRequest
from edgecolor.stream.temporal import TemporalConfig

from helpers import drifting_clip, tiny_colorizer


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as f:
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(video=0)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    where = tmp_path_factory.mktemp("parts")
    model = tiny_colorizer(where / "tiny.onnx", strength=4.0)
    return drifting_clip(where / "clip.mp4"), open_engine(model, cpu_path="auto", threads=1)


def test_parts_start_at_keyframes_at_least_part_seconds_apart(setup):
    clip, _ = setup
    plan, source = probe(clip, part_seconds=1.5)
    assert plan.frames == 120 and len(source.pts) == 120
    assert plan.starts == (0, 48, 96)  # keyframes every 24 frames (1 s); parts of at least 1.5 s
    assert plan.bounds() == [(0, 48), (48, 96), (96, 120)]


def test_warmup_covers_the_stabilisers_memory_and_the_colour_tests_lookahead():
    assert warmup_frames(0.1) == 60 and (1 - 0.1) ** 60 * 255 < 0.5 <= (1 - 0.1) ** 59 * 255
    assert warmup_frames(1.0) == 0
    assert warmup(TemporalConfig(passthrough=True)) == 60
    assert warmup(TemporalConfig(stabilize=False, passthrough=True)) == 24  # the shot's colour test
    assert warmup(TemporalConfig(stabilize=False, passthrough=False)) == 0


def _parts_on_their_own(clip: Path, engine, out: Path, encoding=None, warm=None) -> Path:
    """What --on ray does: the driver plans, each part is encoded on its own (here in reverse order), the driver
    joins."""
    plan, source = probe(clip, part_seconds=1.5)
    parts = Parts(out, plan)
    parts.prepare(run_key(clip, Resume("s"), None, TemporalConfig(), plan))
    for start, end in reversed(parts.todo()):
        encode_part(clip, out, start, end, engine, part_seconds=1.5, encoding=encoding, warm=warm)
    assert join(parts, out, clip, source) == 120
    parts.remove()
    return out


def test_a_part_encoded_on_its_own_is_the_local_jobs_part(tmp_path, setup):
    """The video stage as colorize runs it by default (stabiliser on, colour passthrough on)."""
    clip, engine = setup
    from edgecolor.choices import VideoCodec
    from edgecolor.video_encode import Encoding

    ffv1 = Encoding(VideoCodec.FFV1)
    whole = tmp_path / "whole.mkv"
    write_video(clip, whole, engine, part_seconds=1.5, encoding=ffv1)
    warm = _parts_on_their_own(clip, engine, tmp_path / "warm.mkv", ffv1)
    cold = _parts_on_their_own(clip, engine, tmp_path / "cold.mkv", ffv1, warm=0)
    a, b, c = frames_of(whole), frames_of(warm), frames_of(cold)
    assert len(a) == len(b) == len(c) == 120
    worst = max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b, strict=True))
    assert worst == 0  # the local job's shadow stage took the very frames a part on its own warms up on
    # Without the warm-up the first frames of parts 2 and 3 start the average afresh: other colours
    cold_worst = max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, c, strict=True))
    assert cold_worst > max(worst, 1), (worst, cold_worst)


@pytest.mark.parametrize("name", ["out.mp4", "out.mkv", "out.webm"])
def test_parts_join_into_a_file_with_every_frame_at_its_time(tmp_path, setup, name):
    """The default codecs (H.264 with B-frames in MP4 and Matroska, VP9 in WebM), parts encoded on their own and
    joined: every frame decodes, at the input's time (Matroska: to the millisecond)."""
    clip, engine = setup
    out = _parts_on_their_own(clip, engine, tmp_path / name)
    _, source = probe(clip)
    with av.open(str(out)) as f:
        times = [float(frame.pts * frame.time_base) for frame in f.decode(video=0)]
    assert np.allclose(times, [float(p * source.time_base) for p in source.pts], atol=0.001)


def test_a_killed_runs_leftovers_are_cleared_and_its_finished_parts_kept(tmp_path, setup):
    clip, _ = setup
    plan, _ = probe(clip, part_seconds=1.5)
    parts = Parts(tmp_path / "out.mp4", plan)
    key = run_key(clip, Resume("s"), None, TemporalConfig(), plan)
    parts.prepare(key)
    (parts.folder / "000000000-000000048.mp4").write_bytes(b"a finished part")
    (parts.folder / ".000000048-000000096.writing.0123abcd.partial.mp4").write_bytes(b"cut by SIGKILL")
    (parts.folder / "notes.txt").write_text("not ours")
    parts.prepare(key)  # the rerun's
    assert sorted(p.name for p in parts.folder.iterdir()) == ["000000000-000000048.mp4", "notes.txt", "plan.json"]
    assert parts.todo() == [(48, 96), (96, 120)] and parts.frames_done() == 48
    parts.prepare(run_key(clip, Resume("other settings"), None, TemporalConfig(), plan))
    assert parts.todo() == plan.bounds()
    parts.remove()  # what is not ours stays, and so does the folder holding it
    assert sorted(p.name for p in parts.folder.iterdir()) == ["notes.txt"]


class _StopAt(StopRequest):
    """An interrupt that arrives as frame ``index`` is read (the encoder asks once a frame)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index, self.asked = index, 0

    def __bool__(self) -> bool:
        self.asked += 1
        if self.asked > self.index and self.name is None:
            self.name, self.signum = "SIGINT", 2
        return self.name is not None


def _clip_with_a_cut(path: Path, cut: int, frames: int) -> Path:
    """Gray 64x48 H.264: a dark texture, then from frame ``cut`` a bright one (a hard cut the stage sees)."""
    import cv2

    rng = np.random.default_rng(5)
    dark = cv2.resize(rng.uniform(20, 90, (6, 8)).astype(np.float32), (64, 48), interpolation=cv2.INTER_CUBIC)
    bright = 255 - dark[::-1]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24, options={"g": "12", "crf": "10"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for k in range(frames):
            gray = (dark if k < cut else bright).astype(np.uint8)
            picture = av.VideoFrame.from_ndarray(np.repeat(gray[..., None], 3, axis=2), format="bgr24")
            picture.pts = k
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
    return path


def test_an_interrupt_while_the_colour_test_holds_frames_names_only_the_frames_written(tmp_path, setup):
    """Frames the stage holds back at an interrupt (the first frames of a new shot, for the colour test) are not in
    the finished part, so its name must end before them: a rerun starts there and loses no frame."""
    from edgecolor.choices import VideoCodec
    from edgecolor.jobs.parts import Stopped, encode
    from edgecolor.video_encode import Encoding

    _, engine = setup
    clip = _clip_with_a_cut(tmp_path / "cut.mp4", cut=26, frames=48)
    plan, source = probe(clip)
    parts = Parts(tmp_path / "out.mkv", plan)
    parts.prepare(None)
    with pytest.raises(Stopped):  # frames 0-29 read: 0-25 written, 26-29 held by the colour test
        encode(clip, parts, parts.todo(), engine, source=source, encoding=Encoding(VideoCodec.FFV1),
               stop=_StopAt(30))
    (start, end, path), = parts.done()
    assert (start, end) == (0, 26) and len(frames_of(path)) == 26
    assert parts.todo()[0][0] == 26
