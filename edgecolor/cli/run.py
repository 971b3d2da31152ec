"""``edgecolor run``: stream a camera, RTSP stream, video or images through frame models into sinks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.choices import Backend, CameraCodec, CpuPath
from edgecolor.cli._common import JsonOpt, NoOverwriteOpt, OverwriteOpt, console, emit_json
from edgecolor.cli._numbers import THREADS, CpuPathOpt, StreamsOpt, bounded
from edgecolor.cli._oneshot import BitrateOpt, CodecOpt, CrfOpt, encoding_options
from edgecolor.errors import InputError

DEFAULT_FILE = Path("out/run.mp4")


def _refuse_sinks_onto_the_source(sinks: list[str], source: str) -> None:
    """A file sink may not be the source file, nor a folder sink the folder the source is read from."""
    from edgecolor.overwrite import Inputs
    from edgecolor.stream.sinks import sink_target
    from edgecolor.stream.sources import parse_source

    spec = parse_source(source)
    if spec.kind != "path":
        return
    path = Path(str(spec.target))
    files = [p for p in path.iterdir() if p.is_file()] if path.is_dir() else [path]
    inputs = Inputs(files)
    for target in map(sink_target, sinks):
        if target.kind == "video":
            inputs.check_file(target.path, "sink")
        elif target.kind == "folder":
            inputs.check_folder(target.path, "sink folder")


def _replays(loop: bool, input_loop: int | None) -> int | None:
    """How many times a file source is played again after its first pass: 0 (no loop), N, or None (for ever)."""
    if loop and input_loop not in (None, -1):
        raise InputError(f"--loop replays for ever but --input-loop {input_loop} asks for {input_loop} replays",
                         "pass one of them")
    if loop or input_loop == -1:
        return None
    return input_loop or 0


def _print_view_urls(urls: list[str], host: str) -> None:
    """The browser view's URLs: one, or bound on every address, each of this machine's (other devices open the
    first one that is on their network), loopback last."""
    from edgecolor.stream.http_guard import is_unspecified

    console.print(f"browser view: {urls[0]}")
    for url in urls[1:]:
        console.print(f"  also: {url}")
    if is_unspecified(host) and len(urls) == 1:
        console.print("  (no network address found: only this machine can open the view)")


def run(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", help="Shipped model name or frame-model .onnx; repeat to load several styles."
        ),
    ] = None,
    engine: Annotated[
        Path | None, typer.Option(help="Built TensorRT engine (.engine/.plan with its .json).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="camera:N, /dev/videoN, csi:N, rtsp://..., a video, an image folder or an image "
            "(default: the bundled sample clip)."
        ),
    ] = None,
    sink: Annotated[
        list[str] | None,
        typer.Option(
            help="window, null, OUT.mp4 or a folder; repeat for several (default: window if a display)."
        ),
    ] = None,
    backend: Annotated[Backend, typer.Option(help="auto: as the file says (a built engine by its manifest).")] = \
        Backend.AUTO,
    stabilize: Annotated[
        bool, typer.Option("--stabilize/--no-stabilize", help="Smooth chroma over time.")
    ] = True,
    split: Annotated[bool, typer.Option(help="Show input | output halves side by side.")] = False,
    fullscreen: Annotated[bool, typer.Option(help="Fullscreen window.")] = False,
    serve: Annotated[
        str | None,
        typer.Option(help="Serve the browser view (MJPEG + controls): PORT (this machine only, 127.0.0.1), :PORT "
                          "(every address, for other devices: its URLs are printed, controls need the token) or "
                          "HOST:PORT, e.g. 8080, :8080, 192.168.1.20:8080, [::1]:8080."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Token the browser view's controls require (default: generated and printed when "
                          "--serve is not a loopback address; none on 127.0.0.1)."),
    ] = None,
    codec: CodecOpt = None,
    crf: CrfOpt = None,
    bitrate: BitrateOpt = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="A host name the browser view also answers to and accepts control requests from "
                          "(a reverse proxy's or the kiosk's DNS name); repeat for several."),
    ] = None,
    realtime: Annotated[
        bool, typer.Option(help="Pace a file at its frame rate, like a camera (drops frames).")
    ] = False,
    loop: Annotated[
        bool, typer.Option(help="Replay a file source from the start when it ends, for ever (a kiosk demo clip).")
    ] = False,
    input_loop: Annotated[
        int | None, typer.Option(help="Replay a file source N more times (jetson-utils' --input-loop and ffmpeg's "
                                      "-stream_loop: 2 plays it 3 times; 0 once; -1 for ever, as --loop).",
                                 callback=bounded(-1, 10**9))
    ] = None,
    input_width: Annotated[
        int | None, typer.Option(help="Camera frame width to ask for (with --input-height; V4L2 and CSI cameras; "
                                      "default: the camera's own mode, CSI 1280x720).", callback=bounded(1, 16384))
    ] = None,
    input_height: Annotated[
        int | None, typer.Option(help="Camera frame height to ask for (with --input-width).",
                                 callback=bounded(1, 16384))
    ] = None,
    input_rate: Annotated[
        float | None, typer.Option(help="Camera frames/s to ask for (V4L2 and CSI; CSI default 30).",
                                   callback=bounded(0, 1000, above=True))
    ] = None,
    input_codec: Annotated[
        CameraCodec | None, typer.Option(help="The format a V4L2 camera sends: mjpeg (most USB cameras' fast "
                                               "mode), yuyv (uncompressed) or h264.")
    ] = None,
    max_frames: Annotated[int | None, typer.Option(help="Stop after this many frames.",
                                                   callback=bounded(1, 10**12))] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads (0 = all cores; at most 256).",
                                         callback=THREADS)] = 0,
    cpu_path: CpuPathOpt = CpuPath.AUTO,
    streams: StreamsOpt = 1,
    overwrite: OverwriteOpt = False,
    no_overwrite: NoOverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Stream frames through a frame model: camera/file/RTSP in, window/file/browser out.

    The browser view: --serve 8080 serves this machine only; --serve :8080 serves every address and prints
    the URLs other devices open (with the token its controls need).

    \b
    Example: edgecolor run --source camera:0 --serve 8080 --sink null
    Example: edgecolor run --source /dev/video0 --input-width 1280 --input-height 720 --input-rate 30
             --input-codec mjpeg --serve :8080 --sink null
    Example: edgecolor run --source csi://0 --input-width 1920 --input-height 1080 --input-rate 30

    \b
    Kiosk demo: edgecolor run --source file://demo.mp4 --loop --realtime --sink display://0 --fullscreen
    Play a clip three times: edgecolor run --source clip.mp4 --input-loop 2 --sink out.mp4
    Record over an earlier recording: edgecolor run --source clip.mp4 --sink out.mp4 -y
    Record losslessly: edgecolor run --source camera:0 --sink archive.mkv --codec ffv1

    jetson-utils' URIs and options work too: v4l2:///dev/video0, csi://0, file://PATH, display://0 and the
    --input-* options below.

    Keys (window) and POST /control/ACTION (browser view): next, prev, split, stabilize, quit.
    """
    from edgecolor.overwrite import overwrite_policy, refuse_existing
    from edgecolor.registry import SAMPLE_CLIP
    from edgecolor.stream.camera_mode import CameraMode
    from edgecolor.stream.http_view import parse_address
    from edgecolor.stream.session import RunConfig, streaming
    from edgecolor.stream.sinks import display_available, sink_target
    from edgecolor.stream.sources import check_options
    from edgecolor.video_encode import check_encoding

    if engine is not None and model:
        raise InputError("--model and --engine both given", "pass one of them")
    replays = _replays(loop, input_loop)
    camera = CameraMode(input_width, input_height, input_rate, input_codec)
    check_options(source or str(SAMPLE_CLIP), replays != 0, camera)  # before minutes of model loading
    sinks_spec = list(sink or [])
    if not sinks_spec and not serve:
        sinks_spec = ["window"] if display_available() else [str(DEFAULT_FILE)]
    source = source or str(SAMPLE_CLIP)
    _refuse_sinks_onto_the_source(sinks_spec, source)  # also checks every sink spec before a model loads
    encoding = encoding_options(codec, crf, bitrate)
    cfg = RunConfig(
        source=source, sinks=tuple(sinks_spec), models=tuple(model or ["colorizer"]),
        engine=None if engine is None else str(engine), backend=Backend(backend), threads=threads, streams=streams,
        cpu_path=cpu_path, realtime=realtime, replays=replays, camera=camera, split=split, fullscreen=fullscreen,
        stabilize=stabilize, encoding=encoding,
        serve=parse_address(serve) if serve else None, token=token, allowed_hosts=tuple(allow_host or ()),
        max_frames=max_frames,
    )
    policy = overwrite_policy(overwrite, no_overwrite)
    for target in map(sink_target, sinks_spec):
        if target.kind == "video":
            check_encoding(target.path, encoding)
            refuse_existing(target.path, policy, "sink")  # a recording is never "complete": -y or refused
    with streaming(cfg) as session:
        if session.view is not None and cfg.serve is not None:
            _print_view_urls(session.view.control_urls, cfg.serve[0])
        if not as_json:
            console.print(f"{session.source.name} -> {', '.join(s.name for s in session.sinks)} "
                          f"on {session.backend} (Ctrl+C stops)")
        stats = session.run()
    sinks = session.sinks
    summary = stats.summary() | {
        "source": session.source.name,
        "sinks": [s.name for s in sinks],
        "backend": session.backend,
    }
    if as_json:
        emit_json(summary)
        return
    lat = summary["latency_ms"]
    console.print(
        f"{stats.frames} frame(s) in {stats.seconds:.1f} s ({summary['frames_per_s']} frames/s), "
        f"dropped {stats.dropped}, skipped {stats.skipped} unreadable; latency ms p50 {lat['p50']} "
        f"p90 {lat['p90']} p99 {lat['p99']}; stopped by {stats.stopped_by}"
    )
    written = [s.name for s in sinks if s.name not in ("null", "window", "browser view")]
    if written:
        console.print(f"wrote {', '.join(written)}")
