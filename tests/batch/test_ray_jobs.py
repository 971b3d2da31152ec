"""--on ray: the same outputs as on one machine, resume by record, a bad file does not stop the job, a killed
worker loses and duplicates nothing. One local Ray for the module (2 CPUs)."""

import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")

from edgecolor.backends import open_engine  # noqa: E402
from edgecolor.batch.ray_jobs import RECORD, FrameModelWorker, RayOptions, load_record, run_on_ray  # noqa: E402
from edgecolor.choices import Overwrite  # noqa: E402
from edgecolor.cli import app  # noqa: E402
from edgecolor.errors import MissingDependency, OutputError, install_command  # noqa: E402
from edgecolor.jobs.files import plan, run_job  # noqa: E402
from edgecolor.registry import resolve_model  # noqa: E402

from helpers import drifting_clip, gray_h264_aac_clip, random_bgr, tiny_colorizer  # noqa: E402

MODEL = Path(resolve_model("colorizer"))


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def photos(folder, n=12):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        gray = cv2.cvtColor(cv2.resize(random_bgr(6, 8, seed=i), (96, 72)), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(folder / f"p{i:02d}.png"), gray)
    return folder


def test_same_files_as_one_machine_and_a_rerun_writes_nothing(local_ray, tmp_path):
    src = photos(tmp_path / "in")
    result = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / "out"), "--on", "ray",
                                      "--workers", "2", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["written"], summary["skipped"], summary["failed"], summary["workers"]) == (12, 0, [], 2)
    engine = open_engine(MODEL, cpu_path="auto", threads=1)
    for job in plan([src], tmp_path / "local"):
        run_job(job, engine)
        ours = cv2.imread(str(tmp_path / "out" / job.dst.name))
        assert np.abs(ours.astype(int) - cv2.imread(str(job.dst)).astype(int)).max() <= 2
    again = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / "out"), "--on", "ray", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["written"] == 0
    assert json.loads(again.stdout)["skipped"] == 12
    (src / "p03.png").touch()  # a changed input is redone; the others stay skipped
    os.utime(src / "p03.png", ns=(time.time_ns(), time.time_ns() + 10**9))
    third = run_on_ray(plan([src], tmp_path / "out"), MODEL, {}, "auto", RayOptions(workers=1))
    assert (third["written"], third["skipped"]) == (1, 11)


@pytest.mark.parametrize(("policy", "written", "skipped", "mine_kept"), [
    (Overwrite.SKIP, 0, 4, None),  # the local run's record says its 3 are complete; mine.png is refused
    (Overwrite.YES, 4, 0, False),
    (Overwrite.NO, 0, 4, True),
])
def test_a_local_run_is_resumed_on_ray_by_the_same_policy(local_ray, tmp_path, policy, written, skipped, mine_kept):
    src = photos(tmp_path / "in", 3)
    res = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / "out"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    cv2.imwrite(str(src / "mine.png"), cv2.imread(str(src / "p00.png")))
    (tmp_path / "out" / "mine.png").write_bytes(b"the user's own file")
    jobs = plan([src], tmp_path / "out")
    if mine_kept is None:
        with pytest.raises(OutputError, match="mine.png already exists"):
            run_on_ray(jobs, MODEL, {}, "auto", RayOptions(workers=1), policy=policy)
        return
    summary = run_on_ray(jobs, MODEL, {}, "auto", RayOptions(workers=1), policy=policy)
    assert (summary["written"], summary["skipped"]) == (written, skipped)
    assert ((tmp_path / "out" / "mine.png").read_bytes() == b"the user's own file") == mine_kept


def test_a_killed_worker_loses_and_duplicates_nothing(local_ray, tmp_path):
    src = photos(tmp_path / "in")
    pids = tmp_path / "pids"
    pids.mkdir()

    class SlowWorker(FrameModelWorker):  # slow enough to be killed mid-job; says its PID
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            (pids / str(os.getpid())).touch()

        def __call__(self, batch):
            time.sleep(0.4)
            return super().__call__(batch)

    done = {}
    runner = threading.Thread(target=lambda: done.update(run_on_ray(
        plan([src], tmp_path / "out"), MODEL, {}, "auto", RayOptions(workers=2), worker=SlowWorker)))
    runner.start()
    deadline = time.time() + 60
    while len(list(pids.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.1)
    while not list((tmp_path / "out").glob("*.png")) and time.time() < deadline:
        time.sleep(0.05)
    victim = int(sorted(pids.iterdir())[0].name)
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive() and done["written"] == 12 and done["failed"] == []
    expected = sorted([f"p{i:02d}.png" for i in range(12)] + [RECORD])  # no partial or duplicate files
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == expected
    assert any(o["pid"] != victim for o in done["outputs"])


def test_missing_ray_names_the_extra(tmp_path, monkeypatch):
    src = photos(tmp_path / "in", n=1)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependency, match=re.escape(install_command("ray"))):
        run_on_ray(plan([src], tmp_path / "out"), MODEL, {}, "auto", RayOptions())


def test_bad_files_are_named_with_the_reasons_the_local_command_gives(local_ray, tmp_path):
    """Each bad file is named with the local command's reason, in one line, and the job goes on."""
    src = photos(tmp_path / "in", n=8)
    (src / "bad1.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all" * 4)
    cv2.imwrite(str(src / "huge.png"), np.zeros((100, 120), np.uint8))  # 12,000 pixels
    cut = photos(tmp_path / "cut", n=1) / "p00.png"
    (src / "cut.png").write_bytes(cut.read_bytes()[:40])  # header intact (plan accepts it), pixels cut off
    failed = {}
    for on in ("local", "ray"):
        result = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / on), "--on", on, "--threads",
                                          "1", "--max-pixels", "10000", "--json"])
        assert result.exit_code == 1, result.output
        summary = json.loads(result.stdout)
        assert summary["written"] == 8 and sorted(p.name for p in (tmp_path / on).glob("*.png")) == \
            [f"p{i:02d}.png" for i in range(8)]
        assert all("\n" not in f["error"] for f in summary["failed"])
        failed[on] = [(Path(f["input"]).name, f["reason"]) for f in summary["failed"]]
    assert sorted(load_record(tmp_path / "ray")) == [f"p{i:02d}.png" for i in range(8)]
    assert failed["ray"] == failed["local"]
    assert [(name, reason) for name, reason in failed["ray"] if name != "cut.png"] == [
        ("bad1.jpg", "not a readable image"), ("huge.png", "0.012 MP > the 0.01 MP limit: --max-pixels 10M")]
    assert "cut.png" in [name for name, _ in failed["ray"]]
    result = CliRunner().invoke(app, ["colorize", str(src), "-o", str(tmp_path / "ray"), "--on", "ray"])
    assert result.exit_code == 1  # huge.png now written; bad1.jpg and cut.png still named in the summary line
    assert "colorize on ray: 1 written, 2 failed: bad1.jpg (not a readable image)" in " ".join(result.output.split())
    assert (tmp_path / "ray" / "huge.png").is_file()


def test_a_worker_reads_up_to_its_max_pixels(tmp_path):
    src = photos(tmp_path / "in", n=1)  # 96x72 = 6,912 pixels
    worker = FrameModelWorker(str(MODEL), {}, "auto", 1, max_pixels=6911)
    batch = {"src": np.array([str(src / "p00.png")]), "dst": np.array([str(tmp_path / "o.png")]),
             "kind": np.array(["image"])}
    row = worker(batch)
    assert (str(row["status"][0]), str(row["reason"][0])) == ("failed", "0.0069 MP > the 0.0069 MP limit: "
                                                                        "--max-pixels 10M")
    assert not (tmp_path / "o.png").exists()
    worker.max_pixels = 6912
    assert str(worker(batch)["status"][0]) == "written" and (tmp_path / "o.png").is_file()


def _decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as f:
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(video=0)]


@pytest.mark.xfail(strict=False, reason="known defect: under parallel test load on a 2-core AMX Xeon the Ray film "
                   "and the local job's differed by up to 42 levels on 1-11 of 1,440 frames (mean up to 2.1); the "
                   "cause is not found (see issue 32's note); passes alone")
def test_one_film_is_dealt_to_workers_in_parts_and_joined_as_the_local_job_writes_it(local_ray, tmp_path):
    import av

    clip = gray_h264_aac_clip(tmp_path / "film.mp4", frames=1440, size=(64, 48), grain=12.0)  # 60 s: 2 parts
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    args = ["colorize", str(clip), "--model", str(model), "--threads", "1"]
    local = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "local.mp4")])
    assert local.exit_code == 0, local.output
    res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "ray" / "film.mp4"), "--on", "ray", "--workers", "2",
                                   "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["written"], summary["parts"], summary["frames"]) == (1, 2, 1440)
    a, b = _decoded(tmp_path / "local.mp4"), _decoded(tmp_path / "ray" / "film.mp4")
    assert len(a) == len(b) == 1440
    assert max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b, strict=True)) <= 2
    with av.open(str(tmp_path / "ray" / "film.mp4")) as f:
        assert [s.type for s in f.streams] == ["video", "audio"]
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == [RECORD, "film.mp4"]  # the parts are gone
    again = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "ray" / "film.mp4"), "--on", "ray", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["skipped"] == 1


def test_parts_on_workers_warm_the_stabiliser_up_as_the_local_job_does(local_ray, tmp_path):
    from edgecolor.jobs.parts import write_video

    clip = drifting_clip(tmp_path / "clip.mp4")  # keyframes every second; parts of 1.5 s: 3 parts
    model = tiny_colorizer(tmp_path / "tiny.onnx", strength=4.0)
    write_video(clip, tmp_path / "local.mkv", open_engine(model, cpu_path="auto", threads=1), part_seconds=1.5)
    summary = run_on_ray(plan([clip], tmp_path / "ray.mkv"), model, {}, "auto", RayOptions(workers=2),
                         part_seconds=1.5)
    assert (summary["written"], summary["parts"]) == (1, 3)
    a, b = _decoded(tmp_path / "local.mkv"), _decoded(tmp_path / "ray.mkv")
    assert len(a) == len(b) == 120
    assert max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b, strict=True)) <= 2
