"""``edgecolor colorize clip.mp4 -o out.mp4`` on clips made from the bundled photos (issue 28, item 2), judged by
decoding the output with PyAV: steadier than the frames colorized one by one (CDC and flicker <= 0.6x), no colour
carried over a cut, a colour shot copied within 4 LSB; ``eval video`` and ``--on ray`` pass the options on."""

from __future__ import annotations

import json
from pathlib import Path

import av
import colorizer_standins as cs
import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from edgecolor.backends import open_engine
from edgecolor.cli import app
from edgecolor.evaluation.colorizer import load_photos
from edgecolor.evaluation.video import cdc, flicker, flows, make_clips, shot_starts
from edgecolor.graph.adapters import adapt
from edgecolor.registry import resolve_model
from edgecolor.stream.temporal import TemporalConfig

GATE = Path(__file__).resolve().parents[2] / "edgecolor" / "assets" / "gate"
SIZE = (192, 108)
SHOT = 16
LSB = 4.0


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as f:
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(video=0)]


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def colorize(*args: str) -> None:
    res = CliRunner().invoke(app, ["colorize", *args, "--threads", "1"])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, tuple[Path, list[int], list[int]]]:
    where = tmp_path_factory.mktemp("clips")
    made = make_clips(load_photos(GATE), where, size=SIZE, shot_frames=SHOT)
    return {c.path.stem: (c.path, c.shots, c.colour_shots) for c in made}


@pytest.fixture(scope="module")
def engine():
    return open_engine(resolve_model("colorizer"), threads=1)


def test_cuts_and_the_colour_shot_of_the_made_clip(clips):
    path, starts, colour = clips["mixed"]
    frames = decode(path)
    assert len(frames) == 3 * SHOT and starts == [0, SHOT, 2 * SHOT] and colour == [1]
    assert shot_starts(frames) == starts  # the job's cut detector finds exactly the cuts made


def test_colour_passes_through_and_no_colour_crosses_a_cut(clips, engine, tmp_path):
    path, starts, _ = clips["mixed"]
    out = tmp_path / "out.mp4"
    colorize(str(path), "-o", str(out))
    inputs, written = decode(path), decode(out)
    assert len(written) == len(inputs)
    for k in range(SHOT, 2 * SHOT):  # the colour shot: its input, within 4 LSB after encoding
        assert mean_abs(written[k], inputs[k]) <= LSB, k
    for k in (starts[0], starts[2]):  # a shot's first frame is what the colorizer makes of it alone
        assert mean_abs(written[k], engine(inputs[k])) <= LSB, k

    again = tmp_path / "recoloured.mp4"
    colorize(str(path), "-o", str(again), "--recolour")
    recoloured = decode(again)
    assert mean_abs(recoloured[SHOT + 2], inputs[SHOT + 2]) > LSB  # --recolour: the colour shot is colorized


def test_the_video_job_is_steadier_than_frame_by_frame(clips, engine, tmp_path):
    path, _, _ = clips["pans"]
    colorize(str(path), "-o", str(tmp_path / "out.mp4"))
    colorize(str(path), "-o", str(tmp_path / "plain.mp4"), "--no-stabilize")  # one by one, encoded alike
    inputs, written, plain = decode(path), decode(tmp_path / "out.mp4"), decode(tmp_path / "plain.mp4")
    starts = shot_starts(inputs)
    motion = flows(inputs, starts)
    ratios = (cdc(written, starts) / cdc(plain, starts), flicker(written, motion) / flicker(plain, motion))
    assert max(ratios) <= 0.6, ratios
    one_by_one = [engine(f) for f in inputs]  # and against the frames colorized one by one, not encoded
    assert cdc(written, starts) <= 0.6 * cdc(one_by_one, starts)
    assert flicker(written, motion) <= 0.6 * flicker(one_by_one, motion)


def test_an_adapted_colorizer_gets_the_same_stage(clips, tmp_path):
    model = tmp_path / "zhang.onnx"
    onnx.save(adapt(cs.zhang(), "zhang"), model)
    path, _, _ = clips["mixed"]
    out = tmp_path / "out.mp4"
    colorize(str(path), "-o", str(out), "--model", str(model))
    inputs, written = decode(path), decode(out)
    assert mean_abs(written[SHOT + 4], inputs[SHOT + 4]) <= LSB  # its colour shot copied too
    assert mean_abs(written[4], inputs[4]) > LSB


def test_eval_video_scores_the_clips_it_made(tmp_path):
    made = tmp_path / "clips"
    res = CliRunner().invoke(app, ["eval", "video", "--make-clips", str(made), "--data", str(GATE), "--json"])
    assert res.exit_code == 0, res.output
    assert sorted(Path(c["path"]).name for c in json.loads(res.stdout)["clips"]) == ["mixed.mp4", "pans.mp4"]
    again = CliRunner().invoke(app, ["eval", "video", "--make-clips", str(made), "--data", str(GATE)])
    assert again.exit_code == 2 and "already holds" in again.output
    small = tmp_path / "small"
    make_clips(load_photos(GATE), small, size=SIZE, shot_frames=SHOT)
    res = CliRunner().invoke(app, ["eval", "video", str(small / "mixed.mp4"), "--json"])
    assert res.exit_code == 0, res.output
    clip = json.loads(res.stdout)["clips"][0]
    assert clip["shots"] == 3 and clip["video_job"]["cdc_ratio"] <= 0.6 and clip["video_job"]["flicker_ratio"] <= 0.6


def test_ray_gets_the_video_options(tmp_path, monkeypatch):
    import edgecolor.batch.ray_jobs as ray_jobs

    seen = {}

    def fake_run_on_ray(jobs, model, extra, cpu_path, opts, **kw):
        seen.update(kw)
        return {"written": 0, "skipped": 0, "failed": [], "frames": 0, "seconds": 0.0, "frames_per_s": None,
                "workers": 1, "outputs": []}

    monkeypatch.setattr(ray_jobs, "run_on_ray", fake_run_on_ray)
    clip = make_clips(load_photos(GATE), tmp_path, size=(64, 36), shot_frames=2)[0].path
    res = CliRunner().invoke(app, ["colorize", str(clip), "-o", str(tmp_path / "o.mp4"), "--on", "ray",
                                   "--no-stabilize", "--recolour"])
    assert res.exit_code == 0, res.output
    assert seen["temporal"] == TemporalConfig(stabilize=False, passthrough=False)


def test_a_ray_worker_runs_the_stage(clips, tmp_path):
    from edgecolor.batch.ray_jobs import FrameModelWorker

    path, _, _ = clips["mixed"]
    outs = {}
    for name, config in (("default", None), ("plain", TemporalConfig(stabilize=False, passthrough=False))):
        worker = FrameModelWorker(str(resolve_model("colorizer")), {}, "auto", 1, temporal=config)
        dst = tmp_path / f"{name}.mp4"
        rows = worker({"src": np.array([str(path)]), "dst": np.array([str(dst)]), "kind": np.array(["video"])})
        assert rows["status"][0] == "written"
        outs[name] = decode(dst)
    inputs = decode(path)
    assert mean_abs(outs["default"][SHOT + 1], inputs[SHOT + 1]) <= LSB < mean_abs(outs["plain"][SHOT + 1],
                                                                                      inputs[SHOT + 1])


def test_stylize_stabilises_a_video_and_never_copies_colour(clips, tmp_path):
    path, _, _ = clips["mixed"]
    outs = {}
    for name, extra in (("default", []), ("plain", ["--no-stabilize"])):
        res = CliRunner().invoke(app, ["stylize", str(path), "--style", "starry-night", "--max-side", "64",
                                       "-o", str(tmp_path / f"{name}.mp4"), "--threads", "1", *extra])
        assert res.exit_code == 0, res.output
        outs[name] = decode(tmp_path / f"{name}.mp4")
    inputs = decode(path)
    assert len(outs["default"]) == len(inputs)
    assert mean_abs(outs["default"][SHOT + 4], inputs[SHOT + 4]) > 3 * LSB  # the colour shot is stylised
    assert max(mean_abs(a, b) for a, b in zip(outs["default"], outs["plain"], strict=True)) > 0.5  # smoothed
    assert mean_abs(outs["default"][SHOT], outs["plain"][SHOT]) <= LSB  # a shot's first frame: as without it
