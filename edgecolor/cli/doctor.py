"""``edgecolor doctor``: Python, OpenCV video back-ends, ONNX Runtime, OpenVINO, the CPU's INT8/BF16 flags and
what ``--precision auto`` would choose, GPU/driver/CUDA, TensorRT, cameras, and the libraries' telemetry switches."""

from __future__ import annotations

import typer

from edgecolor.cli._common import JsonOpt, console, emit_json


def doctor(as_json: JsonOpt = False) -> None:
    """Check what this machine offers edgecolor; print each problem with its fix (exit 1 on errors).

    \b
    Example: edgecolor doctor --json
    """
    from edgecolor.doctor import report

    found = report()
    if as_json:
        emit_json(found)
    else:
        cv, ort, gpu, cpu = found["opencv"], found["onnxruntime"], found["gpu"], found["cpu"]
        auto = found["precision_auto"]
        gpus = ", ".join(f"{g['name']} (sm {g['compute_capability']})" for g in gpu["gpus"]) or "none"
        rows = [
            ("edgecolor", found["edgecolor"]),
            ("python", f"{found['python']['version']} ({found['python']['executable']})"),
            ("opencv", f"{cv['version']}: FFmpeg {cv['ffmpeg']}, GStreamer {cv['gstreamer']}, V4L2 {cv['v4l2']}"),
            ("onnxruntime", f"{ort['version'] or 'missing'}: {', '.join(ort['providers']) or '-'}"),
            ("openvino", found["openvino"] or "not installed"),
            ("cpu", f"{cpu['model']}, {cpu['cores']} cores"),
            ("cpu flags", "; ".join(f"{name} {', '.join(cpu[key]) or 'none'}" for name, key in
                                    (("dot product", "dot_product"), ("bf16", "bf16"), ("amx", "amx")))),
            ("precision auto", f"{auto['precision']} on {auto['cpu_backend']}: {auto['reason']}"),
            ("gpu", f"{gpus}; driver {gpu['driver'] or '-'}; CUDA {gpu['cuda'] or '-'}"
                    + (f"; Jetson {gpu['jetson']}" if gpu["jetson"] else "")),
            ("tensorrt", found["tensorrt"] or "not installed"),
            ("cuda bindings", f"cuda-python {found['cuda_python'] or '-'}, pycuda {found['pycuda'] or '-'}"),
            ("cameras", ", ".join(f"{c['device']} ({c['name']})" for c in found["cameras"]) or "none"),
            ("display", "yes" if found["display"] else "no (use --serve or a file sink)"),
            ("disk free", f"{found['disk_free_gb']} GB"),
            ("telemetry", ", ".join(f"{name}={t['value']} ({'off' if t['off'] else 'as you set it'})"
                                    for name, t in found["telemetry"].items())),
        ]
        for key, value in rows:
            console.print(f"{key:>14}  {value}", highlight=False, markup=False)
        for p in found["problems"]:
            console.print(f"{p['severity']:>14}  {p['problem']}. Fix: {p['fix']}", highlight=False, markup=False)
        if not found["problems"]:
            console.print("no problems found")
    if not found["ok"]:
        raise typer.Exit(1)
