"""Soak `edgecolor run` as a kiosk runs it: a live MJPEG camera that drops out, the browser view with a client
connected, the shipped colorizer; the process's RSS sampled from outside.

- camera: an MJPEG stream on loopback (edgecolor's own HttpView, the same server `tests/reliability` uses as a
  camera) publishing the bundled clip looped at its frame rate; every ``--drop-every`` seconds it goes away for
  ``--down`` seconds (the port closed) and comes back;
- the process under test: ``edgecolor run --source http://127.0.0.1:CAM/stream.mjpg --serve 127.0.0.1:VIEW
  --sink null --json`` (a separate process, as a kiosk runs it);
- a client reading the view's ``/stream.mjpg`` all the time (reconnecting when the view drops it) and polling
  ``/healthz``;
- RSS (``/proc/PID/status`` VmRSS) every ``--sample`` seconds. Growth after warm-up is reported as a least-squares
  slope in MB/hour and as (mean of the last 10 % of samples) - (the sample at the end of warm-up).

Written to ``--json`` after every sample, so a run cut short keeps its record:

    .venv/bin/python benchmarks/soak_live.py --minutes 120 --warmup-minutes 10 --json out/soak-live.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from edgecolor.registry import SAMPLE_CLIP
from edgecolor.stream.http_view import BOUNDARY, HttpView
from edgecolor.system import describe_machine

MARK = f"--{BOUNDARY}".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DroppingCamera:
    """The bundled clip, looped at its frame rate, as an MJPEG camera that is unplugged now and then."""

    def __init__(self, port: int, clip: Path, drop_every_s: float, down_s: float) -> None:
        cap = cv2.VideoCapture(str(clip))
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        self.frames = []
        ok, frame = cap.read()
        while ok:
            self.frames.append(frame)
            ok, frame = cap.read()
        cap.release()
        self.port, self.drop_every_s, self.down_s = port, drop_every_s, down_s
        self.drops: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        view: HttpView | None = HttpView(port=self.port)
        t0 = next_drop = time.monotonic()
        next_drop += self.drop_every_s
        k = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if view is not None and now >= next_drop:
                view.stop()
                view = None
                self.drops.append({"at_s": round(now - t0, 1), "down_s": self.down_s})
            if view is None and now >= next_drop + self.down_s:
                view = HttpView(port=self.port)
                next_drop = now + self.drop_every_s
            if view is not None:
                view.publish(self.frames[k % len(self.frames)])
                k += 1
            time.sleep(1.0 / self.fps)
        if view is not None:
            view.stop()


class Client:
    """A browser-like viewer of the view's MJPEG stream, reconnecting when the stream ends."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.parts = 0
        self.reconnects = 0
        self.health: dict[int, int] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, daemon=True),
                         threading.Thread(target=self._poll, daemon=True)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}/stream.mjpg", timeout=10) as stream:
                    tail = b""
                    while not self._stop.is_set():
                        chunk = stream.read(65536)
                        if not chunk:
                            break
                        seen = tail + chunk  # a boundary split across two reads is counted once
                        self.parts += seen.count(MARK) - tail.count(MARK)
                        tail = seen[-len(MARK):]
            except OSError:
                pass
            self.reconnects += 1
            time.sleep(0.5)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as r:
                    code = r.status
            except urllib.error.HTTPError as err:
                code = err.code
            except OSError:
                code = 0
            self.health[code] = self.health.get(code, 0) + 1
            time.sleep(5)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def growth(samples: list[tuple[float, float]], warmup_s: float) -> dict[str, float | None]:
    after = [(t, r) for t, r in samples if t >= warmup_s]
    if len(after) < 3:
        return {"slope_mb_per_hour": None, "growth_mb": None, "rss_at_warmup_mb": None, "rss_end_mb": None}
    t, r = np.array(after).T
    slope = float(np.polyfit(t / 3600.0, r, 1)[0])
    tail = r[-max(1, len(r) // 10):]
    return {"slope_mb_per_hour": round(slope, 3), "growth_mb": round(float(tail.mean() - r[0]), 3),
            "rss_at_warmup_mb": round(float(r[0]), 2), "rss_end_mb": round(float(tail.mean()), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--warmup-minutes", type=float, default=10.0)
    ap.add_argument("--drop-every", type=float, default=600.0, help="seconds between camera drop-outs")
    ap.add_argument("--down", type=float, default=10.0, help="seconds the camera stays away")
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--model", default="colorizer")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()

    cam_port, view_port = free_port(), free_port()
    camera = DroppingCamera(cam_port, SAMPLE_CLIP, args.drop_every, args.down)
    camera.start()
    time.sleep(1.0)
    edgecolor = Path(sys.executable).with_name("edgecolor")
    cmd = [str(edgecolor), "run", "--model", args.model, "--source", f"http://127.0.0.1:{cam_port}/stream.mjpg",
           "--serve", f"127.0.0.1:{view_port}", "--sink", "null", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = Client(view_port)
    time.sleep(5.0)
    client.start()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    samples: list[tuple[float, float]] = []
    record: dict = {"started": started, "command": cmd, "settings": vars(args) | {"json": str(args.json)},
                    "machine": describe_machine()}

    def write(final: dict | None = None) -> None:
        record.update({"elapsed_s": round(time.monotonic() - t0, 1), "samples": samples,
                       "camera_drops": camera.drops, "client_parts": client.parts,
                       "client_reconnects": client.reconnects, "healthz": client.health,
                       **growth(samples, args.warmup_minutes * 60), **(final or {})})
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, args.json)

    try:
        while time.monotonic() - t0 < args.minutes * 60 and proc.poll() is None:
            rss = rss_mb(proc.pid)
            if rss is not None:
                samples.append((round(time.monotonic() - t0, 1), round(rss, 2)))
            write()
            time.sleep(args.sample)
    finally:
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        client.stop()
        camera.stop()
        try:
            summary = json.loads(out) if out.strip() else None
        except json.JSONDecodeError:
            summary = None
        write({"ended": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "exit_code": proc.returncode, "ran_to_the_end": alive, "run_json": summary,
               "stderr_tail": err[-3000:]})
    print(json.dumps({k: record[k] for k in ("elapsed_s", "slope_mb_per_hour", "growth_mb", "rss_at_warmup_mb",
                                             "rss_end_mb", "client_parts", "client_reconnects", "healthz",
                                             "exit_code")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
