"""Fast vs exact merge of a predicted Lab ab with the full-resolution frame (issue 14). Not a test.

    PYTHONPATH=. .venv/bin/python benchmarks/colorizer_merge.py [--photos data/eval] [--count 8]

Quality: for each photo an *oracle* network with the ``zhang`` contract (L 256x256 -> ab 256x256) returns the
photo's own ab at 256x256 (OpenCV float Lab of the INTER_AREA-resized photo), so the only differences left
are the merge's: ΔE76 fast vs exact, and each vs the true photo (the chroma-resolution loss). The gray photo's
ΔE to the truth is shown for scale.
Speed: the ``zhang`` stand-in (one 1x1 convolution, so this is colour math alone) wrapped with each merge,
at 720p and 1080p, ONNX Runtime CPU, 2 threads; edgecolor's own colorizer (graph path) for scale.
Measured while other jobs share the machine: compare rows of one run only (ratios), not across runs.
Writes benchmarks/results/colorizer-merge-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.bench.runner import time_calls
from edgecolor.colour import to_gray_bgr
from edgecolor.graph.adapters import adapt
from edgecolor.quality import delta_e76
from edgecolor.registry import resolve_model
from edgecolor.system import describe_machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import colorizer_standins  # noqa: E402


def oracle(photo: np.ndarray, size: int = 256) -> onnx.ModelProto:
    """A zhang-contract network that ignores its L and returns ``photo``'s ab at ``size``."""
    small = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
    ab = cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)[..., 1:].transpose(2, 0, 1)[None]
    nodes = [helper.make_node("Mul", ["data_l", "zero"], ["z"]), helper.make_node("Add", ["z", "ab_truth"], ["ab"])]
    graph = helper.make_graph(
        nodes, "oracle", [helper.make_tensor_value_info("data_l", TensorProto.FLOAT, [1, 1, size, size])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, [1, 2, size, size])],
        [numpy_helper.from_array(np.zeros(1, np.float32), "zero"), numpy_helper.from_array(ab, "ab_truth")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def engine(model: onnx.ModelProto, tmp: Path, name: str) -> OrtEngine:
    onnx.save(model, tmp / f"{name}.onnx")
    return OrtEngine(tmp / f"{name}.onnx", threads=2)


def cpu_flags() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Flags")), "?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=Path, default=ROOT / "data" / "eval")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[: args.count]
    rows, timing = [], []
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        for path in photos:
            photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
            gray = to_gray_bgr(photo)
            fast_engine = engine(adapt(oracle(photo), "zhang,merge=fast"), tmp, "fast")
            exact_engine = engine(adapt(oracle(photo), "zhang,merge=exact"), tmp, "exact")
            fast, exact = fast_engine(gray), exact_engine(gray)
            rows.append({"photo": path.name, "size": f"{photo.shape[1]}x{photo.shape[0]}",
                         "fast_vs_exact": delta_e76(fast, exact), "fast_vs_truth": delta_e76(fast, photo),
                         "exact_vs_truth": delta_e76(exact, photo), "gray_vs_truth": delta_e76(gray, photo),
                         "colour_in_fast_vs_truth": delta_e76(fast_engine(photo), photo),
                         "colour_in_exact_vs_truth": delta_e76(exact_engine(photo), photo)})
            print(rows[-1])
        models = {f"zhang stand-in, {m} merge": adapt(colorizer_standins.zhang(), f"zhang,merge={m}")
                  for m in ("fast", "exact")}
        models["edgecolor colorizer (graph)"] = onnx.load(str(resolve_model("colorizer")))
        for res, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items():
            frame = to_gray_bgr(cv2.resize(cv2.imread(str(photos[0])), (w, h)))
            for name, model in models.items():
                eng = engine(model, tmp, "speed")
                stats = time_calls(lambda e=eng, f=frame: e(f), 1.0, iterations=args.iterations)
                timing.append({"model": name, "resolution": res, "p50_ms": round(stats.p50_ms, 1),
                               "mean_ms": round(stats.mean_ms, 1)})
                print(timing[-1])
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k not in ("photo", "size")}
    record = {"date": dt.date.today().isoformat(), "machine": {**describe_machine(), "lscpu_flags": cpu_flags()},
              "photos": rows, "mean_delta_e76": mean, "speed": timing,
              "note": "measured while other jobs share the CPU: ratios within this run only"}
    out = ROOT / "benchmarks" / "results" / f"colorizer-merge-{record['date']}"
    out.with_suffix(".json").write_text(json.dumps(record, indent=2))
    lines = [f"# Colorizer adapters: fast vs exact merge ({record['date']})", "",
             f"Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, shared with other jobs "
             "(ratios within this run only). lscpu flags in the JSON.", "",
             "Gray input = the photo's BT.601 gray (what a user colorizes); colour input = the colour photo "
             "(what the build gate feeds).", "",
             "| photo | size | gray in: ΔE76 fast vs exact | fast vs truth | exact vs truth | gray vs truth "
             "| colour in: fast vs truth | exact vs truth |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['photo']} | {r['size']} | {r['fast_vs_exact']:.2f} | {r['fast_vs_truth']:.2f} | "
              f"{r['exact_vs_truth']:.2f} | {r['gray_vs_truth']:.2f} | {r['colour_in_fast_vs_truth']:.2f} | "
              f"{r['colour_in_exact_vs_truth']:.2f} |" for r in rows]
    lines += [f"| **mean** | | **{mean['fast_vs_exact']:.2f}** | {mean['fast_vs_truth']:.2f} | "
              f"{mean['exact_vs_truth']:.2f} | {mean['gray_vs_truth']:.2f} | {mean['colour_in_fast_vs_truth']:.2f} | "
              f"{mean['colour_in_exact_vs_truth']:.2f} |", "",
              "| model (ONNX Runtime CPU, 2 threads, whole frame graph) | resolution | p50 ms | mean ms |",
              "|---|---|---|---|"]
    lines += [f"| {t['model']} | {t['resolution']} | {t['p50_ms']} | {t['mean_ms']} |" for t in timing]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
