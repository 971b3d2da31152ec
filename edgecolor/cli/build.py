"""``edgecolor build``: a trained network -> FP32 / FP16 / INT8 engine for TensorRT or ONNX Runtime CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from edgecolor.choices import CalibMethod, CpuBackend, Precision, Target, Task
from edgecolor.cli._common import JsonOpt, NoOverwriteOpt, OverwriteOpt, console, emit_json, progress
from edgecolor.cli._numbers import THREADS, bounded


def build(
    model: Annotated[
        str,
        typer.Argument(
            help="Shipped model name, frame-model .onnx, or a colorizer / image-to-image .onnx with --adapter."
        ),
    ],
    precision: Annotated[
        Precision, typer.Option(help="Precision put into the ONNX graph (bf16: OpenVINO's bfloat16 hint, CPU only; "
                                     "auto: the fastest this CPU offers, from its flags, --target cpu only).")
    ] = Precision.FP16,
    target: Annotated[
        Target, typer.Option(help="trt: a TensorRT engine; cpu: an ONNX Runtime-optimised model (or an OpenVINO one).")
    ] = Target.CPU,
    cpu_backend: Annotated[
        CpuBackend, typer.Option(help="--target cpu: the runtime the engine is built and gated for (auto: OpenVINO "
                                      "for bf16, ONNX Runtime otherwise; openvino: fp32, bf16 or int8).")
    ] = CpuBackend.AUTO,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Engine path (default engines/MODEL-PREC-TARGET).")
    ] = None,
    calib: Annotated[
        Path | None,
        typer.Option(
            help="Calibration/held-out frames: image folder or video "
            "(default data/corpus/images, else the bundled sample clip)."
        ),
    ] = None,
    calib_method: Annotated[CalibMethod, typer.Option(help="INT8 calibration (percentile: 99.99).")] = \
        CalibMethod.ENTROPY,
    calib_frames: Annotated[
        int, typer.Option(help="Calibration frames, sampled evenly (8 minimum, 32+ advised, at most 4096).",
                          callback=bounded(1, 4096))
    ] = 64,
    shapes: Annotated[
        str, typer.Option(help="TensorRT profile for 'frame': min,opt,max as NxHxW.")
    ] = "1x240x320,1x720x1280,1x1080x1920",
    adapter: Annotated[
        str | None,
        typer.Option(
            help="Colorizer preset zhang | zhang-caffe | ddcolor | deoldify, keys after it (zhang,merge=exact); "
            "merge=fast (default: ΔE76 1.3 from exact on photos, ~6x faster at 720p on CPU) or exact Lab. "
            "Or wrap an image-to-image ONNX: layout=nchw,order=rgb,range=0:1,size=dynamic,"
            "multiple=4,extra.NAME=VALUE (or a .json file)."
        ),
    ] = None,
    keep_fp32: Annotated[
        list[str] | None, typer.Option("--keep-fp32", help="Network node kept in higher precision (repeat).")
    ] = None,
    auto_sensitivity: Annotated[
        bool, typer.Option(help="If INT8 fails the gate, keep the worst layers FP32 until it passes.")
    ] = False,
    workspace_mib: Annotated[int, typer.Option(help="TensorRT workspace memory-pool limit (MiB).",
                                               callback=bounded(1, 1 << 20))] = 2048,
    opt_level: Annotated[
        int, typer.Option(help="TensorRT builder optimisation level 0..5.", callback=bounded(0, 5))
    ] = 3,
    rebuild_if_stale: Annotated[
        bool, typer.Option(help="Skip when the engine exists and its manifest matches; rebuild otherwise.")
    ] = False,
    threads: Annotated[
        int, typer.Option(help="ONNX Runtime threads for calibration and the gate (0 = all; at most 256).",
                          callback=THREADS)
    ] = 0,
    gate_data: Annotated[
        Path | None,
        typer.Option(
            help="Colour photos the gate compares on: image folder, corpus or video (colorizer default: "
            "data/corpus validation split, else data/eval; style default: the calibration hold-out)."
        ),
    ] = None,
    gate_frames: Annotated[int, typer.Option(help="Frames the accuracy gate compares on (1..10000).",
                                             callback=bounded(1, 10_000))] = 16,
    max_loss_db: Annotated[
        float | None,
        typer.Option(help="Colorizer gate: most dB of PSNR vs the colour truth the variant may lose "
                     "(default 0.1 FP16, 0.3 INT8; 0..100).", callback=bounded(0, 100)),
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate/--no-gate", help="Check the variant against FP32 (--no-gate: skip, explicitly).")
    ] = True,
    overwrite: OverwriteOpt = False,
    no_overwrite: NoOverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Build an engine and check it against FP32 on held-out frames. The last line it prints, next:, is the
    command that uses the engine (a style's: edgecolor stylize photo.jpg -o out.jpg --style ENGINE).

    \b
    Example: edgecolor build colorizer --precision int8 --target cpu
    Example: edgecolor build starry-night --precision int8 --target cpu
    Example: edgecolor build colorizer --precision fp16 --target cpu -o engines/c.onnx -y
    """
    from edgecolor.backends import manifest as mf
    from edgecolor.builder.pipeline import BuildConfig, up_to_date
    from edgecolor.builder.pipeline import build as run_build
    from edgecolor.choices import Overwrite
    from edgecolor.overwrite import overwrite_policy

    policy = overwrite_policy(overwrite, no_overwrite)

    cfg = BuildConfig(
        model=model, precision=precision, target=target, output=output, calib=calib, calib_method=calib_method,
        calib_frames=calib_frames, shapes=shapes, adapter=adapter, keep_fp32=tuple(keep_fp32 or ()),
        auto_sensitivity=auto_sensitivity, workspace_mib=workspace_mib, opt_level=opt_level, threads=threads,
        holdout_frames=gate_frames, gate=gate, gate_data=gate_data, max_loss_db=max_loss_db, cpu_backend=cpu_backend,
    )
    if cfg.auto and not as_json:
        console.print(f"auto: {cfg.precision} on {cfg.auto['cpu_backend']}: {cfg.auto['reason']}")
    if cfg.target is Target.TRT:
        from edgecolor.errors import require

        require("tensorrt", "trt")
    engine = cfg.engine_path
    if rebuild_if_stale:
        try:
            current = up_to_date(cfg)
        except mf.StaleEngine as err:
            console.print(f"rebuilding: {err.problem}")
            current = None
            if policy is Overwrite.SKIP:  # --rebuild-if-stale asks for the stale engine to be replaced
                policy = Overwrite.YES
        if current is not None:
            if as_json:
                emit_json({**current.to_json(), "status": "up to date"})
            else:
                console.print(f"{engine} is up to date (manifest matches); nothing to do")
            return
    with progress(not as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        manifest = run_build(cfg, on_step=None if as_json else (lambda msg: console.print(f"- {msg}")),
                             on_progress=on_progress, overwrite=policy)
    if as_json:
        emit_json(manifest)
        return
    _print_gate(manifest.get("gate"))  # this build's own record
    if isinstance(manifest.get("openvino"), dict):
        console.print(manifest["openvino"]["note"])
    if manifest.get("kept_fp32"):
        console.print(f"kept in higher precision: {', '.join(manifest['kept_fp32'])}")
    engine = engine.parent / str(manifest["engine"])  # --precision auto may have fallen back to another name
    console.print(f"wrote {engine} and {mf.manifest_path(engine).name} in {manifest['build_seconds']} s")
    if cfg.target is Target.CPU:
        console.print(f"next: {next_command(manifest.get('task'), engine)}")


def next_command(task: str | None, engine: Path) -> str:
    """The command that uses a CPU engine just built, by the task its manifest records: a style engine paints
    (``stylize --style``), anything else colorizes."""
    if task == Task.STYLIZE:
        return f"edgecolor stylize photo.jpg -o out.jpg --style {engine}"
    return f"edgecolor colorize photo.jpg -o out.jpg --model {engine}"


def _print_gate(gate: dict | None) -> None:
    if not gate:
        return
    if gate.get("verdict") == "skipped":
        console.print("accuracy gate skipped (--no-gate): this engine was not checked against FP32")
        return
    console.print(f"gate: {gate['summary']} -> {gate['verdict']}")
    console.print(f"  {gate['frames']} frames from {gate['frames_source']} (mean colourfulness "
                  f"{gate['frames_colourfulness']}); vs FP32: PSNR {gate['psnr_vs_fp32_db']} dB, "
                  f"ΔE {gate['delta_e_vs_fp32']}")
