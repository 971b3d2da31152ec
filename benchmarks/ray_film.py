"""One long film over Ray actors: ``colorize --on ray`` with 1 and 2 local workers against the local job, in one run.

    python benchmarks/ray_film.py [--seconds 120] [--rounds 2] [--out benchmarks/results/ray-film-DATE.json]

The film: ``--seconds`` of 1280x720 gray H.264 (CRF 18, a keyframe every 2 s, 24 frames/s) with an AAC tone,
made from the public evaluation photos (data/eval, else the bundled sample's frames): a slow pan and zoom over
each photo for 12 s, cut to the next. Every row runs the same job through the library with colorize's default
video stage (stabiliser on, colour shots copied), so the Ray parts warm it up across their boundaries; the local job
runs the parts in order with one engine of 1 thread, each actor has one engine of 1 thread. Ray is started once
before timing (reported separately); each Ray row times the whole job (plan, actors loading the engine, parts,
the join), 1 and 2 workers round-robin for ``--rounds`` rounds, the order swapped each round (so a load that
drifts falls on both alike). The outputs are decoded and compared frame by frame with the local job's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from edgecolor.backends import open_engine
from edgecolor.batch.ray_jobs import RayOptions, run_on_ray
from edgecolor.jobs.files import plan, run_jobs
from edgecolor.jobs.parts import PART_SECONDS, Resume, probe, warmup
from edgecolor.jobs.record import settings_key
from edgecolor.registry import resolve_model
from edgecolor.stream.temporal import TemporalConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import mux_tone  # noqa: E402 - the tests' clip writers

FPS, W, H, SHOT = 24, 1280, 720, 12


def photos() -> list[np.ndarray]:
    found = sorted(Path("data/eval").glob("*.png")) + sorted(Path("data/eval").glob("*.jpg"))
    images = [cv2.imread(str(p)) for p in found]
    images = [i for i in images if i is not None]
    if not images:  # the bundled sample's frames, one every 2 s
        cap = cv2.VideoCapture(str(Path(resolve_model("colorizer")).parent / "sample.mp4"))
        k = 0
        while cap.grab() and len(images) < 12:
            if k % 48 == 0:
                images.append(cap.retrieve()[1])
            k += 1
    return images


def make_film(path: Path, seconds: int) -> None:
    shots = photos()
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast", "g": "48",
                                                             "keyint_min": "48", "sc_threshold": "0"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        frames, rate = seconds * FPS, 48000
        total, done = seconds * rate, 0
        for k in range(frames):
            shot, t = divmod(k, SHOT * FPS)
            image = shots[shot % len(shots)]
            scale = max(W / image.shape[1], H / image.shape[0]) * (1.25 + 0.15 * t / (SHOT * FPS))
            big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            x = int((big.shape[1] - W) * t / (SHOT * FPS))
            y = (big.shape[0] - H) // 2
            gray = cv2.cvtColor(cv2.cvtColor(big[y:y + H, x:x + W], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(gray), format="bgr24")
            picture.pts = k
            out.mux(video.encode(picture))
            done = mux_tone(out, audio, done, min(total, (k + 1) * rate // FPS), rate, 330.0, 0.2)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as f:
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(video=0)]


def compare(a: Path, b: Path) -> dict:
    x, y = decoded(a), decoded(b)
    worst, over, mean = 0, 0, 0.0
    for p, q in zip(x, y, strict=False):
        d = np.abs(p.astype(np.int16) - q.astype(np.int16))
        worst, over, mean = max(worst, int(d.max())), over + int((d > 2).sum()), mean + float(d.mean())
    return {"frames": [len(x), len(y)], "max_abs_diff": worst, "pixels_over_2": over,
            "mean_abs_diff": round(mean / max(1, len(x)), 4), "identical_files": a.read_bytes() == b.read_bytes()}


def machine() -> dict:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    flags = next((line.split(":", 1)[1].split() for line in lscpu.splitlines() if line.startswith("Flags")), [])
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "")
    simd = [f for f in flags if f.startswith(("avx", "sse4", "fma", "f16c", "amx"))]
    return {"cpu": model, "cores": os.cpu_count(), "simd_flags": simd, "python": platform.python_version(),
            "load_1min": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(f"benchmarks/results/ray-film-{time.strftime('%Y-%m-%d')}.json"))
    args = ap.parse_args()
    import ray

    model = Path(resolve_model("colorizer"))
    record: dict = {"command": f"python benchmarks/ray_film.py --seconds {args.seconds} --rounds {args.rounds}",
                    "machine_before": machine(),
                    "film": f"{args.seconds} s, {W}x{H}, {FPS} frames/s, gray H.264 + AAC", "rows": []}
    temporal = TemporalConfig()  # colorize's default: stabiliser on, colour shots copied
    with tempfile.TemporaryDirectory(dir=os.environ.get("FILM_TMP")) as tmp:
        film = Path(tmp) / "film.mp4"
        t0 = time.perf_counter()
        make_film(film, args.seconds)
        parts = probe(film)[0]
        record["film_made_s"] = round(time.perf_counter() - t0, 1)
        record["parts"] = {"part_seconds": PART_SECONDS, "frames": parts.frames, "starts": list(parts.starts),
                           "warmup_frames": warmup(temporal.for_task("colorize"))}
        print(json.dumps(record), flush=True)
        outs = {}
        t0 = time.perf_counter()
        engine = open_engine(model, cpu_path="auto", threads=1)
        out = Path(tmp) / "local" / "film.mp4"
        run_jobs(plan([film], out), engine, temporal=temporal,
                 resume=Resume(settings_key(model, {}, "auto", temporal.key())))
        local = time.perf_counter() - t0
        outs["local"] = out
        record["rows"].append({"run": "local job (parts in order), 1 thread", "seconds": round(local, 1),
                               "frames_per_s": round(parts.frames / local, 2)})
        print(json.dumps(record["rows"][-1]), flush=True)
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        record["rows"].append({"run": "ray.init (local, once)", "seconds": round(time.perf_counter() - t0, 1)})
        took: dict[int, list[float]] = {1: [], 2: []}
        for r in range(args.rounds):
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                out = Path(tmp) / f"ray{workers}-{r}" / "film.mp4"
                t0 = time.perf_counter()
                summary = run_on_ray(plan([film], out), model, {}, "auto", RayOptions(workers=workers, threads=1),
                                     temporal=temporal)
                took[workers].append(time.perf_counter() - t0)
                assert summary["written"] == 1, summary
                outs[f"ray{workers}-round{r}"] = out
                record["rows"].append({"run": f"--on ray --workers {workers} (1 thread each), round {r}",
                                       "seconds": round(took[workers][-1], 1),
                                       "frames_per_s": round(parts.frames / took[workers][-1], 2),
                                       "parts": summary["parts"], "load_1min": os.getloadavg()[0]})
                print(json.dumps(record["rows"][-1]), flush=True)
        ray.shutdown()
        record["speedup_2_vs_1_workers"] = [round(a / b, 3) for a, b in zip(took[1], took[2], strict=True)]
        record["against_local"] = {name: compare(outs["local"], path) for name, path in outs.items() if name != "local"}
        with av.open(str(outs["ray2-round0"])) as f:
            a = f.streams.audio[0]
            packets = [p for p in f.demux(a) if p.size]
            record["ray2_audio_s"] = round(float((packets[-1].pts + packets[-1].duration - packets[0].pts)
                                                 * packets[0].time_base), 3)
    record["machine_after"] = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
