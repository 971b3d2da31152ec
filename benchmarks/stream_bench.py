"""Streaming measurements recorded in benchmarks/stream_results.md (not a test; run by hand).

1. Flicker: mean |delta chroma| between consecutive outputs on a static-camera clip (opencv-doc's
   vtest.avi, fed as grayscale like a colorizer sees it), with and without temporal stabilisation.
2. Still-image cost: PSNR against the colour original of the output with and without stabilisation when
   a still photo is streamed as N identical frames.
3. (separately) ``edgecolor run --realtime --sink null --json`` for frames/s, drops and latency percentiles.

Usage:
  python benchmarks/stream_bench.py --clip data/eval/.../vtest.avi --stills data/eval/.../examples/data \
      [--model colorizer | --model path.onnx] [--frames 200]
Without ``--model`` (or before the trained colorizer ships) a stand-in frame model is generated: a small
random-weight convolutional core (seeded) in the real frame-model wrapper, whose chroma reacts to luma
texture and noise the way a per-frame network does. Its numbers say what the stabiliser does to flicker,
not how much the shipped colorizer flickers.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.colour import to_gray_bgr
from edgecolor.graph.colorizer import colorizer_frame_model
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import IR_VERSION, OPSET
from edgecolor.quality import psnr
from edgecolor.registry import resolve_model
from edgecolor.stream.sources import open_source
from edgecolor.stream.stabilize import Stabilizer, chroma_flicker

STILLS = ("baboon.jpg", "fruits.jpg", "building.jpg", "home.jpg", "lena.jpg", "apple.jpg")


def stand_in_model(path: Path, net: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 1.0 / 64, (8, 1, 3, 3)).astype(np.float32)  # luma 0..255 -> ~unit activations
    b1 = (-w1.sum(axis=(1, 2, 3)) * 128).astype(np.float32)
    w2 = rng.normal(0, 12.0, (2, 8, 1, 1)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["luma", "w1", "b1"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["h"], ["t"]),
        helper.make_node("Conv", ["t", "w2"], ["chroma"]),
    ]
    graph = helper.make_graph(
        nodes,
        "stand_in_core",
        [helper.make_tensor_value_info("luma", TensorProto.FLOAT, ["N", 1, net, net])],
        [helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["N", 2, net, net])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"))],
    )
    core = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    core.ir_version = IR_VERSION
    onnx.save(colorizer_frame_model(core, net, FrameModelInfo(name="stand-in")), path)
    return path


def flicker(engine: OrtEngine, clip: Path, frames: int) -> dict[str, float]:
    outs = []
    for f in open_source(str(clip)).frames():
        outs.append(engine(to_gray_bgr(f.image)))
        if len(outs) >= frames:
            break
    stab = Stabilizer()
    smoothed = [stab(o) for o in outs]
    t0 = time.perf_counter()
    stab2 = Stabilizer()
    for o in outs:
        stab2(o)
    ms = (time.perf_counter() - t0) / len(outs) * 1000
    off, on = chroma_flicker(outs), chroma_flicker(smoothed)
    return {
        "frames": len(outs),
        "size": f"{outs[0].shape[1]}x{outs[0].shape[0]}",
        "flicker_off": round(off, 4),
        "flicker_on": round(on, 4),
        "reduction_pct": round(100 * (1 - on / off), 1),
        "scene_resets": stab.state.resets,
        "stabilizer_ms_per_frame": round(ms, 2),
    }


def still_cost(engine: OrtEngine, folder: Path, repeats: int = 10) -> dict[str, object]:
    rows = []
    for name in STILLS:
        img = cv2.imread(str(folder / name))
        if img is None:
            continue
        gray = to_gray_bgr(img)
        out = engine(gray)
        stab = Stabilizer()
        stabilised = [stab(out) for _ in range(repeats)]
        plain_db = psnr(out, img)
        worst = min(psnr(s, img) for s in stabilised)
        rows.append(
            {
                "image": name,
                "psnr_off_db": round(plain_db, 3),
                "psnr_on_worst_db": round(worst, 3),
                "cost_db": round(plain_db - worst, 4),
            }
        )
    return {"images": rows, "max_cost_db": max(r["cost_db"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--stills", type=Path, required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    path = resolve_model(args.model) if args.model else stand_in_model(Path("/tmp/edgecolor_stand_in.onnx"))
    engine = OrtEngine(path, threads=args.threads)
    result = {
        "model": str(args.model or "generated stand-in (see docstring)"),
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, python {platform.python_version()}",
        "flicker": flicker(engine, args.clip, args.frames),
        "still": still_cost(engine, args.stills),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
