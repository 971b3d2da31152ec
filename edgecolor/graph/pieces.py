"""The graph pieces frame models are built from, and :func:`assemble`, which joins them into one checked model.

All colour math lives in the graph (:mod:`edgecolor.graph.contract` says what a frame model is), so TensorRT runs
it on the GPU as one engine and the CPU path runs the very same graph. The colorizer's frame model is built in
:mod:`edgecolor.graph.colorizer`, the style's in :mod:`edgecolor.graph.style`, adapters' in
:mod:`edgecolor.graph.adapters`.

Resizes use ``Resize`` (linear, half-pixel) without the opset-18 ``antialias`` attribute, which not every
TensorRT ONNX parser accepts; downscaling to the network size goes through a pyramid whose last two steps
are exact 2x box filters, which approximates OpenCV's INTER_AREA used in training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.colour import BGR_FROM_CHROMA, LUMA_BGR
from edgecolor.errors import ModelError
from edgecolor.graph.contract import (
    FRAME,
    FRAME_OUT,
    ExtraInput,
    FrameModelInfo,
    frame_value_info,
)

OPSET = 18
IR_VERSION = 9  # ONNX Runtime >= 1.16 and TensorRT 10.x read IR 9


class GraphBuilder:
    """Accumulates nodes and constants with unique names; ``op`` returns the output tensor name."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{self.prefix}{hint}_{self._n}"

    def const(self, value: np.ndarray | list | float, hint: str = "c", dtype: type = np.float32) -> str:
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self._name(op_type), **attrs))
        return out

    def dims(self, x: str, start: int, end: int) -> str:
        """int64 tensor of ``x``'s dimensions ``start:end`` (dynamic shapes)."""
        i64 = np.int64
        return self.op("Slice", [self.op("Shape", [x]), self.const([start], dtype=i64), self.const([end], dtype=i64)])

    # --- frame pieces -------------------------------------------------------------------------------
    def frame_to_nchw(self, frame: str = FRAME) -> str:
        """uint8 [N,H,W,3] BGR -> float32 [N,3,H,W] BGR in 0..255."""
        return self.op("Transpose", [self.op("Cast", [frame], to=TensorProto.FLOAT)], perm=[0, 3, 1, 2])

    def luma(self, nchw_bgr: str) -> str:
        """float [N,3,H,W] BGR -> float [N,1,H,W] BT.601 luma (1x1 convolution)."""
        return self.op("Conv", [nchw_bgr, self.const(LUMA_BGR.reshape(1, 3, 1, 1), "luma_w")])

    def frame_luma(self, frame: str = FRAME) -> str:
        """uint8 [N,H,W,3] BGR -> float [N,1,H,W] luma, computed in NHWC with a [3,1] MatMul.

        Measured on the CI-class CPU at 720p (ONNX Runtime, 2 threads): 13 ms, against 52 ms for
        Transpose + 1x1 Conv (the NCHWc reorders dominate). Moving the size-1 channel axis is a Reshape,
        which ONNX Runtime does without copying (a Transpose cost ~6 ms here)."""
        nhwc = self.op("MatMul", [self.op("Cast", [frame], to=TensorProto.FLOAT), self.const(LUMA_BGR.reshape(3, 1))])
        one = self.const([1], dtype=np.int64)
        nchw = self.op("Concat", [self.dims(frame, 0, 1), one, self.dims(frame, 1, 3)], axis=0)
        return self.op("Reshape", [nhwc, nchw])

    def resize_to(self, x: str, size: tuple[int, int], out: str | None = None) -> str:
        """Resize NCHW ``x`` to a fixed spatial size (dynamic N and C kept)."""
        sizes = self.op("Concat", [self.dims(x, 0, 2), self.const(list(size), "hw", dtype=np.int64)], axis=0)
        return self.op("Resize", [x, "", "", sizes], out, mode="linear", coordinate_transformation_mode="half_pixel")

    def resize_down_area(self, x: str, size: int, out: str | None = None) -> str:
        """Downscale to ``size`` x ``size`` via ``2 size`` then an exact 2x box step (bilinear at half-pixel
        centres averages 2x2 blocks): a cheap stand-in for OpenCV's INTER_AREA used in training."""
        x = self.resize_to(x, (size * 2, size * 2))
        return self.resize_to(x, (size, size), out)

    def resize_like(self, x: str, ref_nchw: str) -> str:
        """Resize NCHW ``x`` to the spatial size of ``ref_nchw`` (channels of ``x`` kept)."""
        sizes = self.op("Concat", [self.dims(x, 0, 2), self.dims(ref_nchw, 2, 4)], axis=0)
        return self.op("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel")

    def nchw_to_frame(self, nchw_bgr: str, out: str = FRAME, rounded: bool = False) -> str:
        """float [N,3,H,W] BGR -> uint8 [N,H,W,3]: clamp to 0..255, cast, transpose last (on uint8: 4x less
        memory traffic than on float).

        The float->uint8 Cast truncates, so callers either pass ``rounded=True`` values or have already
        added 0.5 (cheaply, e.g. into a bias at low resolution); otherwise a Round node is inserted."""
        if not rounded:
            nchw_bgr = self.op("Round", [nchw_bgr])
        clipped = self.op("Clip", [nchw_bgr, self.const(0.0, "lo"), self.const(255.0, "hi")])
        return self.op("Transpose", [self.op("Cast", [clipped], to=TensorProto.UINT8)], out, perm=[0, 2, 3, 1])


    def merge_chroma(self, chroma: str, luma: str, out: str = FRAME_OUT) -> str:
        """The fast merge: centred YCbCr chroma ``[N,2,h,w]`` (any size) -> BGR offsets (1x1 conv at ``h x w``)
        -> bilinear upsample to ``luma`` ``[N,1,H,W]`` -> + luma -> rounded, clamped uint8 frame ``out``."""
        # +0.5 in the bias turns the final truncating Cast into rounding, at the chroma's size, not per pixel.
        offsets = self.op("Conv", [chroma, self.const(BGR_FROM_CHROMA.reshape(3, 2, 1, 1), "bgr_from_chroma"),
                                   self.const(np.full(3, 0.5), "half")])
        bgr = self.op("Add", [self.resize_like(offsets, luma), luma])
        return self.nchw_to_frame(bgr, out, rounded=True)


@dataclass
class FrameModelSpec:
    """What :func:`assemble` records beside the graph: the structural fields, then ``info``'s descriptive ones
    (name, source, training...)."""

    task: str  # "colorize" | "stylize"
    net_size: int | str | None  # the network's side, "HxW", "dynamic"; None: not recorded (image-to-image adapters)
    colour_space: str | None
    info: FrameModelInfo = field(default_factory=FrameModelInfo)
    extra_inputs: list[ExtraInput] = field(default_factory=list)


def assemble(spec: FrameModelSpec, parts: list[GraphBuilder | onnx.ModelProto], name: str, *,
             constants: list[onnx.TensorProto] | None = None, opsets: Mapping[str, int] | None = None,
             ir_version: int = IR_VERSION, producer: str = "edgecolor", full_check: bool = True) -> onnx.ModelProto:
    """Concatenate graph pieces (builders and prefixed core networks, in execution order) into one
    checked frame model with input ``frame``, the spec's scalar extra inputs (each with its default as
    initializer) and output ``frame_out``. ``constants``: more initializers (frozen vector extras);
    ``opsets``: the opset imports (default: the standard domain at :data:`OPSET`); ``full_check=False``
    skips ONNX shape inference in the checker (foreign networks it cannot follow)."""
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    value_info: list[onnx.ValueInfoProto] = []
    for part in parts:
        if isinstance(part, GraphBuilder):
            nodes += part.nodes
            inits += part.initializers
        else:
            nodes += part.graph.node
            inits += part.graph.initializer
            value_info += part.graph.value_info
    inits += constants or []
    inputs = [frame_value_info(FRAME)]
    for extra in spec.extra_inputs:
        inputs.append(helper.make_tensor_value_info(extra.name, TensorProto.FLOAT, []))
        inits.append(numpy_helper.from_array(np.asarray(extra.default, np.float32), extra.name))
    graph = helper.make_graph(nodes, name, inputs, [frame_value_info(FRAME_OUT)], inits, value_info=value_info)
    imports = [helper.make_opsetid(d, v) for d, v in (opsets or {"": OPSET}).items()]
    model = helper.make_model(graph, opset_imports=imports, producer_name=producer)
    model.ir_version = ir_version
    spec.info.replace(
        task=spec.task, net_size=None if spec.net_size is None else str(spec.net_size), colour_space=spec.colour_space,
        extra_inputs=json.dumps({e.name: {"default": e.default, "doc": e.doc} for e in spec.extra_inputs}),
    ).write(model)
    onnx.checker.check_model(model, full_check=full_check)
    return model


def extras_as_plain_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose extra inputs carry no initializer, so they stay run-time inputs.

    TensorRT's ONNX parser turns a graph input that has an initializer into a constant; without this the
    default ``colour_strength`` would be baked into the engine. The runtime feeds the defaults, which stay
    recorded in ``edgecolor.extra_inputs``."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    inputs = {i.name for i in out.graph.input}
    kept = [t for t in out.graph.initializer if t.name not in inputs]
    del out.graph.initializer[:]
    out.graph.initializer.extend(kept)
    return out



def with_extra_default(model: onnx.ModelProto, name: str, value: float) -> onnx.ModelProto:
    """A copy of frame model ``model`` whose extra input ``name`` (e.g. ``colour_strength``) defaults to ``value``:
    its initializer and its :attr:`~edgecolor.graph.contract.FrameModelInfo.extra_inputs` record both change, so
    every engine reads the new default."""
    info = FrameModelInfo.read(model)
    record = json.loads(info.extra_inputs or "{}")
    if name not in record or not any(t.name == name for t in model.graph.initializer):
        raise ModelError(f"the model has no extra input '{name}' with a default", "export it with edgecolor")
    record[name]["default"] = float(value)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    info.replace(extra_inputs=json.dumps(record)).write(out)
    target = next(t for t in out.graph.initializer if t.name == name)
    target.CopyFrom(numpy_helper.from_array(np.asarray(value, np.float32), name))
    return out
