"""Every closed set of choices edgecolor offers, as ``str`` Enums (one list each, defined here only).

A member *is* its string (``Precision.INT8 == "int8"``), so manifests, JSON and cache keys keep the plain
values; typer lists the members in ``--help`` and refuses any other value with exit code 2. Library code
converts a string once, at its boundary, with :meth:`Choice.parse` (one-line :class:`InputError`).
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from edgecolor.errors import InputError

C = TypeVar("C", bound="Choice")


class Choice(str, Enum):
    """A ``str`` Enum printed as its value (``f"{Precision.FP16}"`` is ``fp16``, on every Python)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(str(m.value) for m in cls)

    @classmethod
    def parse(cls: type[C], value: str | C, what: str) -> C:
        """``value`` as a member, or :class:`InputError` ``unknown WHAT 'x'`` listing the choices."""
        try:
            return cls(value)
        except ValueError:
            raise InputError(f"unknown {what} '{str(value)[:40]}'", f"use one of: {', '.join(cls.values())}") from None


class Precision(Choice):
    """What the ONNX graph carries (see :mod:`edgecolor.builder.precisions` for what each one means)."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"
    BF16 = "bf16"  # CPU only, on OpenVINO: the FP32 graph with OpenVINO's bfloat16 inference hint
    AUTO = "auto"  # build --target cpu only: resolved by BuildConfig (edgecolor.builder.auto) before any use


class Target(Choice):
    """What ``edgecolor build`` writes: a TensorRT plan, or a CPU engine (ONNX Runtime-optimised, or for OpenVINO)."""

    TRT = "trt"
    CPU = "cpu"


class Runtime(Choice):
    """An inference runtime: what a built engine's manifest records and what every other choice below resolves to.
    The short names users know are accepted as aliases (``Runtime("trt")`` is TENSORRT): trt (trtexec), ort, ov."""

    TENSORRT = "tensorrt"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"

    @classmethod
    def _missing_(cls, value: object) -> Runtime | None:
        return {"trt": cls.TENSORRT, "ort": cls.ONNXRUNTIME, "ov": cls.OPENVINO}.get(str(value).lower())

    @property
    def label(self) -> str:
        return {"tensorrt": "TensorRT", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}[self.value]

    @property
    def flag(self) -> str:
        """The ``--backend`` value that runs this kind of engine (OpenVINO engines: the manifest decides)."""
        return {"tensorrt": "--backend trt", "onnxruntime": "--backend ort", "openvino": "--backend auto"}[self.value]


class _RuntimeOption(Choice):
    """An option whose choices are ``auto`` or runtimes: :attr:`runtime` is the :class:`Runtime` asked for."""

    @property
    def runtime(self) -> Runtime | None:
        return None if self.value == "auto" else Runtime(self.value)


class Backend(_RuntimeOption):
    """``run --backend``: which runtime may run the file (``auto``: as the file says, a built engine by its manifest;
    the others in their short names, :class:`Runtime` aliases)."""

    AUTO = "auto"
    TRT = "trt"
    ORT = "ort"


class CpuBackend(_RuntimeOption):
    """``build --cpu-backend``: the runtime a ``--target cpu`` engine is built for (``auto``: the precision's own,
    see :mod:`edgecolor.builder.precisions`)."""

    AUTO = "auto"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"


class CpuPath(Choice):
    """How a frame model runs on the CPU (:func:`edgecolor.backends.open_engine`)."""

    AUTO = "auto"
    GRAPH = "graph"
    SPLIT = "split"
    OPENVINO = "openvino"
    OPENVINO_BF16 = "openvino-bf16"


class CalibMethod(Choice):
    """How INT8 calibration turns activation histograms into ranges."""

    ENTROPY = "entropy"
    PERCENTILE = "percentile"
    MAX = "max"


class OpenVinoPrecision(Choice):
    """OpenVINO's ``INFERENCE_PRECISION_HINT`` for the colorizer's network."""

    F32 = "f32"
    BF16 = "bf16"


class On(Choice):
    """Where ``colorize`` / ``stylize`` run: this process or Ray Data actors."""

    LOCAL = "local"
    RAY = "ray"


class Task(Choice):
    """A frame model's ``edgecolor.task`` metadata."""

    COLORIZE = "colorize"
    STYLIZE = "stylize"


class ValFold(Choice):
    """``train colorizer --val-fold``: which validation fold of :mod:`edgecolor.data.split` holds its sources out,
    or ``all`` (train on every source: the refit after cross-validation). One member per fold (``FOLDS``)."""

    FOLD_0 = "0"
    FOLD_1 = "1"
    FOLD_2 = "2"
    FOLD_3 = "3"
    ALL = "all"


class ColourLoss(Choice):
    """``train colorizer --loss``: how the colorizer's pixel errors add up over a batch
    (:func:`edgecolor.models.train_colorizer.colour_loss`)."""

    PIXEL = "pixel"  # the mean over every pixel of the batch: vivid crops' large errors dominate
    LOG_CROP = "log-crop"  # the mean over crops of log(crop MSE + eps): the mean of per-crop PSNR


class Decoder(Choice):
    """``train colorizer --decoder``: the U-Net decoder's width (:data:`edgecolor.models.train_colorizer.DECODERS`)."""

    BASE = "base"  # the shipped model's: 0.86 GMAC in all at 224 x 224
    WIDE = "wide"  # 1.48 GMAC


class Head(Choice):
    """``train colorizer --head``: how the decoder's last feature becomes chroma (:mod:`edgecolor.models.colorizer`)."""

    REGRESSION = "regression"  # chroma directly: the shipped model's
    CLASSES = "classes"  # a distribution over quantised chroma cells, output as its annealed mean


class Encoder(Choice):
    """``train colorizer --encoder``: the ImageNet EfficientNet-Lite whose features the decoder reads."""

    LITE0 = "lite0"  # the shipped model's: ImageNet top-1 75.1 %
    LITE2 = "lite2"  # 77.6 %, about twice the encoder's multiply-adds


class CameraCodec(Choice):
    """``run --input-codec``: the format a V4L2 camera sends (jetson-utils' option; ``yuyv``: uncompressed 4:2:2).
    The FOURCC each one asks of the driver is :data:`edgecolor.stream.camera_mode.FOURCC`."""

    MJPEG = "mjpeg"
    YUYV = "yuyv"
    H264 = "h264"


class VideoCodec(Choice):
    """What a video output is encoded with (``--codec``; :data:`edgecolor.video_encode.CODECS` says how)."""

    H264 = "h264"
    HEVC = "hevc"
    VP9 = "vp9"
    AV1 = "av1"
    FFV1 = "ffv1"  # lossless, in .mkv: the archival choice
    MJPEG = "mjpeg"


class Overwrite(Choice):
    """What a command does with an output file that exists (ffmpeg's policy; :mod:`edgecolor.overwrite`)."""

    SKIP = "skip"  # default: a complete output of an earlier run is kept (a rerun resumes); any other file refused
    YES = "yes"  # -y/--overwrite: redo it
    NO = "no"  # -n/--no-overwrite: never touch an existing file
