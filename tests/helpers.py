"""Tiny models generated in code (no checked-in blobs) shared by the tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.graph.colorizer import colorizer_frame_model
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import IR_VERSION, OPSET


def tiny_core(net_size: int = 16, cb: float = 20.0, cr: float = -10.0, gain: float = 0.0) -> onnx.ModelProto:
    """A stand-in colorizer core: chroma = (cb, cr) + gain * (avgpool2(luma) - 128), at half resolution."""
    w = np.array([[[[gain]]], [[[gain]]]], np.float32)  # [2,1,1,1]
    b = np.array([cb - 128 * gain, cr - 128 * gain], np.float32)
    nodes = [
        helper.make_node("AveragePool", ["luma"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pooled", "w", "b"], ["chroma"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_core",
        [helper.make_tensor_value_info("luma", TensorProto.FLOAT, ["N", 1, net_size, net_size])],
        [helper.make_tensor_value_info("chroma", TensorProto.FLOAT, ["N", 2, net_size // 2, net_size // 2])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def tiny_colorizer(path: Path, net_size: int = 16, strength: float = 1.0, **kw: float) -> Path:
    model = colorizer_frame_model(tiny_core(net_size, **kw), net_size, FrameModelInfo(name="tiny"), strength)
    onnx.save(model, path)
    return path


def random_bgr(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_clip(path: Path, frames: int, size: tuple[int, int] = (32, 24), fourcc: str = "MJPG",
               fps: float = 10) -> Path:
    """A small video of ``frames`` random frames (frame k from seed k), ``size`` = (width, height)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    for k in range(frames):
        writer.write(random_bgr(size[1], size[0], k))
    writer.release()
    return path


# Frame models that break the output contract, each in one or two uint8 ops, for the tests of the check where
# frames come out: kind -> (nodes, constants, declared output type and shape). "odd-only" is right on even frame
# sizes and one pixel too big on odd ones; "even-only" cannot run an odd size at all.
def _bad_output_graph(kind: str) -> tuple[list[onnx.NodeProto], dict[str, np.ndarray], int, list]:
    i64 = np.int64
    half = {"s": np.array([0, 0], i64), "e": np.array([1 << 30, 1 << 30], i64), "a": np.array([1, 2], i64),
            "st": np.array([2, 2], i64)}
    node = helper.make_node
    same, u8 = ["N", "H", "W", 3], TensorProto.UINT8
    return {
        "half": ([node("Slice", ["frame", "s", "e", "a", "st"], ["frame_out"])], half, u8, ["N", "h", "w", 3]),
        "one-px-less": ([node("Slice", ["frame", "s", "e", "a"], ["frame_out"])],
                        {"s": np.array([0], i64), "e": np.array([-1], i64), "a": np.array([2], i64)}, u8,
                        ["N", "H", "w", 3]),
        "transposed": ([node("Transpose", ["frame"], ["frame_out"], perm=[0, 2, 1, 3])], {}, u8, ["N", "W", "H", 3]),
        "padded": ([node("Pad", ["frame", "p"], ["frame_out"])], {"p": np.array([0, 1, 1, 0, 0, 1, 1, 0], i64)}, u8,
                   ["N", "h", "w", 3]),
        "float32": ([node("Cast", ["frame"], ["frame_out"], to=TensorProto.FLOAT)], {}, TensorProto.FLOAT, same),
        "nchw": ([node("Transpose", ["frame"], ["frame_out"], perm=[0, 3, 1, 2])], {}, u8, ["N", 3, "H", "W"]),
        "odd-only": ([node("Slice", ["frame", "s", "e", "a", "st"], ["h"]),
                      node("Resize", ["h", "", "sc"], ["frame_out"], mode="nearest")],
                     {**half, "sc": np.array([1, 2, 2, 1], np.float32)}, u8, ["N", "h", "w", 3]),
        "even-only": ([node("Reshape", ["frame", "pairs"], ["rows"]), node("Shape", ["frame"], ["shape"]),
                       node("Reshape", ["rows", "shape"], ["frame_out"])],
                      {"pairs": np.array([0, -1, 2, 0, 3], i64)}, u8, same),
    }[kind]


BAD_OUTPUTS = ("half", "one-px-less", "transposed", "padded", "float32", "nchw")


def bad_output_model(path: Path, kind: str, task: str = "colorize") -> Path:
    """A frame model (``frame`` uint8 [N, H, W, 3] in, metadata of ``task``) whose output breaks the contract as
    ``kind`` says (see :data:`BAD_OUTPUTS`, "odd-only", "even-only")."""
    nodes, consts, out_type, out_shape = _bad_output_graph(kind)
    graph = helper.make_graph(
        nodes, kind, [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["N", "H", "W", 3])],
        [helper.make_tensor_value_info("frame_out", out_type, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"edgecolor.task": task, "edgecolor.net_size": "16", "edgecolor.extra_inputs": "{}"})
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return path


def gray_h264_aac_clip(path: Path, frames: int = 48, size: tuple[int, int] = (160, 120), fps: int = 24,
                       tone: float = 440.0, sample_rate: int = 44100, grain: float = 0.0) -> Path:
    """A gray H.264 (yuv420p) + AAC (a ``tone`` Hz sine, mono) clip written with PyAV, streams interleaved as a
    camera's are; frame k is half ``5k`` gray, half its inverse, plus gaussian film grain of ``grain`` levels
    (frames that do not compress to nothing)."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = out.add_stream("aac", rate=sample_rate)
        audio.layout = "mono"
        total, done, k = frames * sample_rate // fps, 0, 0
        while k < frames or done < total:
            if k < frames and k / fps <= done / sample_rate:
                gray = np.full((size[1], size[0], 3), (k * 5) % 256, np.uint8)
                gray[: size[1] // 2] = 255 - gray[: size[1] // 2]
                if grain:
                    noise = np.random.default_rng(k).normal(0, grain, gray.shape[:2])[..., None]
                    gray = np.clip(gray + noise, 0, 255).astype(np.uint8)
                picture = av.VideoFrame.from_ndarray(gray, format="bgr24")
                picture.pts = k
                out.mux(video.encode(picture))
                k += 1
            else:
                done = mux_tone(out, audio, done, min(total, done + 1024), sample_rate, tone, 0.3)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return path


def mux_tone(out, audio, done: int, upto: int, rate: int, tone: float, level: float) -> int:
    """Encode and mux a mono ``tone`` Hz sine of amplitude ``level`` from sample ``done`` up to ``upto``, in frames of
    at most 1,024 samples; returns ``upto``."""
    import av

    while done < upto:
        n = min(1024, upto - done)
        t = np.arange(done, done + n, dtype=np.float64) / rate
        sound = av.AudioFrame.from_ndarray((level * np.sin(2 * np.pi * tone * t)).astype(np.float32)[None],
                                           format="fltp", layout="mono")
        sound.sample_rate, sound.pts = rate, done
        out.mux(audio.encode(sound))
        done += n
    return done


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A real tmpfs mounted at ``where`` with mount ``options`` (e.g. ``size=256k``, ``size=1m,ro``); the test
    is skipped where mounting is not permitted (not root)."""
    import pytest

    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def drifting_clip(path: Path, frames: int = 120, gop: int = 24) -> Path:
    """Gray 64x48 H.264, a keyframe every ``gop`` frames: a smooth texture whose brightness drifts slowly (the
    colorizer's chroma drifts with it, so a cold stabiliser differs from a warm one)."""
    import av
    import cv2

    rng = np.random.default_rng(3)
    base = cv2.resize(rng.uniform(40, 200, (6, 8)).astype(np.float32), (64, 48), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24, options={"g": str(gop), "keyint_min": str(gop),
                                                             "sc_threshold": "0", "crf": "10"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for k in range(frames):
            gray = np.clip(base + 50 * np.sin(k / 9), 0, 255).astype(np.uint8)
            picture = av.VideoFrame.from_ndarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), format="bgr24")
            picture.pts = k
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
    return path
