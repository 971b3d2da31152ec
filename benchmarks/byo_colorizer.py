"""Bring-your-own colorizer at 720p (issue 14), in ONE run on ONE machine. Not a test; needs torch.

    PYTHONPATH=. .venv/bin/python benchmarks/byo_colorizer.py [--calib data/eval] [--iterations 5]

Rows (one 720p gray frame per call, colour math included, CPU):
  edgecolor colorizer           the shipped colorizer, default CPU path (OpenCV colour math) and graph path
  ECCV16 via edgecolor FP32     the ECCV16 stand-in (benchmarks/eccv16_standin.py: the paper's layers,
                                random weights, 41.8 GMAC) built with --adapter zhang --precision fp32
  ECCV16 via edgecolor INT8     the same, --precision int8 --target cpu (entropy calibration, gate on)
  ECCV16 as OpenCV's sample     what a user would otherwise write: cv2.dnn on the same ONNX, float Lab
                                conversion in Python (samples/dnn/colorization.py, without its L - 50 for
                                the Caffe model, since this network takes L 0..100)
Measured while other jobs share the machine: compare rows of one run only (ratios).
Writes benchmarks/results/byo-colorizer-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edgecolor.backends import open_engine
from edgecolor.bench.runner import test_frame, time_calls
from edgecolor.builder.pipeline import BuildConfig, build
from edgecolor.colour import to_gray_bgr
from edgecolor.registry import resolve_model
from edgecolor.system import describe_machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from colorizer_merge import cpu_flags  # noqa: E402
from eccv16_standin import export  # noqa: E402


def opencv_sample(onnx_path: Path):  # type: ignore[no-untyped-def]
    """OpenCV's colorization sample, per frame: float Lab, resize L to 256, cv2.dnn, resize ab, Lab -> BGR."""
    net = cv2.dnn.readNetFromONNX(str(onnx_path))

    def colorize(frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        lab = cv2.cvtColor((frame[:, :, ::-1] / 255.0).astype(np.float32), cv2.COLOR_RGB2Lab)
        lightness = lab[:, :, 0]
        net.setInput(cv2.dnn.blobFromImage(cv2.resize(lightness, (256, 256))))
        ab = cv2.resize(net.forward()[0].transpose(1, 2, 0), (w, h))
        bgr = cv2.cvtColor(np.concatenate([lightness[:, :, None], ab], axis=2), cv2.COLOR_Lab2BGR)
        return (np.clip(bgr, 0, 1) * 255).astype(np.uint8)

    return colorize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calib", type=Path, default=ROOT / "data" / "eval")
    ap.add_argument("--iterations", type=int, default=5)
    args = ap.parse_args()
    frame = to_gray_bgr(test_frame(720, 1280))
    rows, gates = [], {}
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        eccv = export(tmp / "eccv16-standin.onnx")
        engines = {}
        for prec in ("fp32", "fp16", "int8"):  # FP16 for its gate only: ONNX Runtime's x86 CPU has no FP16 convs
            cfg = BuildConfig(model=str(eccv), precision=prec, target="cpu", output=tmp / f"eccv16-{prec}.onnx",
                              calib=args.calib, calib_frames=16, adapter="zhang")
            gates[prec] = build(cfg).get("accuracy_vs_fp32")
            if prec != "fp16":
                engines[f"ECCV16 via edgecolor {prec.upper()}"] = open_engine(cfg.engine_path)
        calls = {
            "edgecolor colorizer (default CPU path)": open_engine(resolve_model("colorizer")),
            "edgecolor colorizer (graph)": open_engine(resolve_model("colorizer"), cpu_path="graph"),
            **engines,
            "ECCV16 as OpenCV's sample (cv2.dnn, float Lab)": opencv_sample(eccv),
        }
        for name, fn in calls.items():
            stats = time_calls(lambda f=fn: f(frame), 0.0, iterations=args.iterations)
            rows.append({"row": name, "p50_ms": round(stats.p50_ms, 1), "mean_ms": round(stats.mean_ms, 1),
                         "fps": round(stats.throughput_fps, 2)})
            print(rows[-1])
    base = rows[0]["p50_ms"]
    record = {"date": dt.date.today().isoformat(), "machine": {**describe_machine(), "lscpu_flags": cpu_flags()},
              "resolution": "1280x720", "rows": rows, "gates": gates,
              "note": "measured while other jobs share the CPU: ratios within this run only"}
    out = ROOT / "benchmarks" / "results" / f"byo-colorizer-{record['date']}"
    out.with_suffix(".json").write_text(json.dumps(record, indent=2))
    lines = [f"# Bring your own colorizer at 720p ({record['date']})", "",
             f"Machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, shared with other jobs "
             "(ratios within this run only). lscpu flags in the JSON. ECCV16 = the paper's architecture with "
             "random weights (speed and shapes, not colours).", "",
             "| row | p50 ms | mean ms | frames/s | p50 / edgecolor colorizer's |", "|---|---|---|---|---|"]
    lines += [f"| {r['row']} | {r['p50_ms']} | {r['mean_ms']} | {r['fps']} | {r['p50_ms'] / base:.1f} |"
              for r in rows]
    lines += ["", "Build gate of the ECCV16 stand-in (8 held-out photos, INT8: entropy, 16 calibration frames):", ""]
    for prec in ("fp16", "int8"):
        g = gates[prec] or {}
        lines.append(f"- {prec.upper()}: PSNR vs FP32 {g.get('psnr_vs_fp32_db')} dB, ΔE76 {g.get('delta_e_vs_fp32')}, "
                     f"loss vs truth {g.get('loss_db')} dB (limit {g.get('limit_db')}) -> "
                     f"{'pass' if g.get('passed') else 'FAIL'}")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
