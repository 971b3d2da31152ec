"""The frame-model contract and the graph pieces that build it.

A *frame model* is an ONNX graph with input ``frame`` and output ``frame_out``: ``uint8 [N, H, W, 3]`` BGR,
N/H/W dynamic. All colour math lives in the graph so TensorRT runs it on the GPU as one engine and the
CPU path runs the very same graph. Extra inputs (e.g. ``colour_strength``) are graph inputs that also
have an initializer: the initializer is the default (ONNX IR >= 4), recorded in ``metadata_props`` too.

Resizes use ``Resize`` (linear, half-pixel) without the opset-18 ``antialias`` attribute, which not every
TensorRT ONNX parser accepts; downscaling to the network size goes through a pyramid whose last two steps
are exact 2x box filters, which approximates OpenCV's INTER_AREA used in training.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor.colour import BGR_FROM_CHROMA, LUMA_BGR
from edgecolor.errors import ModelError

OPSET = 18
IR_VERSION = 9  # ONNX Runtime >= 1.16 and TensorRT 10.x read IR 9
FRAME = "frame"
FRAME_OUT = "frame_out"  # ONNX names are single-assignment: the output cannot reuse the input's name
# A colorizer frame model's network boundary: luma [N, 1, S, S] in, chroma [N, 2, S/2, S/2] out. The CPU fast
# path and OpenVINO cut the network out between these two tensors.
NET_LUMA, NET_CHROMA = "net/luma", "net/chroma"


MAX_NET_SIZE = 8192
ADAPTER_REMEDY = "wrap the network with an adapter spec: edgecolor build MODEL --adapter SPEC"
DEFAULTS_REMEDY = "give each extra input an initializer (its default) in the frame model"


@dataclass(frozen=True)
class TensorSig:
    """One graph or engine input/output as the contract sees it: numpy dtype name and shape (an int, or a
    symbol / None for a dynamic dimension; ``shape=None``: rank unknown)."""

    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


def _is_frame(sig: TensorSig) -> bool:
    shape = sig.shape or ()
    return sig.dtype == "uint8" and len(shape) == 4 and (shape[3] == 3 or not isinstance(shape[3], int))


def _shown(sig: TensorSig) -> str:
    dims = "?" if sig.shape is None else ", ".join("?" if d is None else str(d) for d in sig.shape)
    return f"{sig.dtype} [{dims}]"


def check_frame_model(inputs: Sequence[TensorSig], outputs: Sequence[TensorSig], name: str,
                      defaults: Collection[str] = (), remedy: str | None = None) -> None:
    """The frame-model contract, checked once for every loader (ONNX graph, ONNX Runtime session, TensorRT
    engine): input :data:`FRAME` ``uint8 [N, H, W, 3]``, one output ``uint8 [N, H, W, 3]``, and any other
    input either has a default (listed in ``defaults``; initializer-backed ONNX inputs are not passed at all)
    and is a float32 scalar. ``name`` (a file name or "the model") starts each one-line ModelError."""
    by_name = {s.name: s for s in inputs}
    frame = by_name.get(FRAME)
    if frame is None:
        raise ModelError(f"{name} is not a frame model: it has no uint8 input '{FRAME}' "
                         f"(inputs: {', '.join(by_name)[:80] or 'none'})", remedy or ADAPTER_REMEDY)
    if not _is_frame(frame):
        raise ModelError(f"{name} is not a frame model: '{FRAME}' is {_shown(frame)}, must be uint8 NHWC BGR "
                         "[N, H, W, 3]", remedy or ADAPTER_REMEDY)
    if len(outputs) != 1:
        raise ModelError(f"{name} is not a frame model: {len(outputs)} outputs, must be one uint8 frame "
                         "[N, H, W, 3]", remedy or ADAPTER_REMEDY)
    if not _is_frame(outputs[0]):
        raise ModelError(f"{name} is not a frame model: its output {outputs[0].name[:40]} is {_shown(outputs[0])}, "
                         "must be uint8 [N, H, W, 3]", remedy or ADAPTER_REMEDY)
    extras = [s for s in inputs if s.name != FRAME]
    undocumented = [s.name for s in extras if s.name not in defaults]
    if undocumented:
        raise ModelError(f"{name} needs input(s) {', '.join(undocumented)[:80]} besides '{FRAME}', without a "
                         "default", remedy or DEFAULTS_REMEDY)
    bad = [s.name for s in extras if s.dtype != "float32" or (s.shape is not None and len(s.shape) != 0)]
    if bad:
        raise ModelError(f"{name}'s extra input(s) {', '.join(bad)[:80]} are not float32 scalars",
                         remedy or DEFAULTS_REMEDY)


def onnx_signature(model: onnx.ModelProto) -> tuple[list[TensorSig], list[TensorSig]]:
    """The inputs a caller must feed (graph inputs without an initializer) and the outputs of ``model``."""
    inits = {t.name for t in model.graph.initializer}

    def sig(vi: onnx.ValueInfoProto) -> TensorSig:
        tt = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name if tt.elem_type else "undefined"
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim) \
            if tt.HasField("shape") else None
        return TensorSig(vi.name, dtype, shape)

    return [sig(i) for i in model.graph.input if i.name not in inits], [sig(o) for o in model.graph.output]


def net_size(metadata: Mapping[str, str], name: str) -> int:
    """The ``edgecolor.net_size`` a frame model records (the network's square input side), checked."""
    text = metadata.get("edgecolor.net_size")
    if text is None or not re.fullmatch(r"[0-9]{1,5}", text) or not 2 <= int(text) <= MAX_NET_SIZE:
        shown = "missing" if text is None else repr(text[:20])
        raise ModelError(f"{name}'s edgecolor.net_size metadata is {shown}, not a size in 2..{MAX_NET_SIZE}",
                         "re-export the frame model (edgecolor train ... writes it)")
    return int(text)


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


@dataclass(frozen=True)
class ExtraInput:
    """A scalar float input with a default (its initializer)."""

    name: str
    default: float
    doc: str


@dataclass
class FrameModelSpec:
    task: str  # "colorize" | "stylize"
    net_size: int | str | None  # the network's side, "HxW", "dynamic"; None: not recorded (image-to-image adapters)
    colour_space: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    extra_inputs: list[ExtraInput] = field(default_factory=list)


def frame_value_info(name: str) -> onnx.ValueInfoProto:
    """``uint8 [N, H, W, 3]``: the type of :data:`FRAME` and :data:`FRAME_OUT`."""
    return helper.make_tensor_value_info(name, TensorProto.UINT8, ["N", "H", "W", 3])


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
    meta = {"edgecolor.task": spec.task}
    if spec.net_size is not None:
        meta["edgecolor.net_size"] = str(spec.net_size)
    if spec.colour_space is not None:
        meta["edgecolor.colour_space"] = spec.colour_space
    meta["edgecolor.extra_inputs"] = json.dumps(
        {e.name: {"default": e.default, "doc": e.doc} for e in spec.extra_inputs})
    helper.set_model_props(model, meta | spec.metadata)
    onnx.checker.check_model(model, full_check=full_check)
    return model


def colorizer_frame_model(core: onnx.ModelProto, net_size: int, metadata: dict[str, str],
                          colour_strength: float = 1.0, chroma_gamma: float = 0.0) -> onnx.ModelProto:
    """Wrap a core colorizer (``luma [N,1,S,S]`` -> ``chroma [N,2,s,s]``) into a frame model.

    frame -> luma (full res) -> area-downscale to S -> core [-> chroma curve] -> chroma * colour_strength
          -> chroma-to-BGR offsets (1x1 conv) -> bilinear upsample to the frame -> + luma -> round/clamp -> frame
    Rounding is half-up (truncation of x + 0.5), so it can differ from OpenCV's half-to-even by 1 LSB.
    ``chroma_gamma`` > 0 adds :func:`with_chroma_curve`.
    """
    core = onnx.compose.add_prefix(core, "net/")
    (core_in,), (core_out,) = [i.name for i in core.graph.input], [o.name for o in core.graph.output]
    pre, post = GraphBuilder("pre/"), GraphBuilder("post/")
    luma = pre.frame_luma(FRAME)
    # The last resize writes the core's input name directly (an Identity would be optimised away, and
    # the CPU fast path finds the network by its boundary tensors net/luma -> net/chroma).
    pre.resize_down_area(luma, net_size, core_in)
    post.merge_chroma(post.op("Mul", [core_out, "colour_strength"]), luma, FRAME_OUT)
    spec = FrameModelSpec(
        task="colorize", net_size=net_size, colour_space="YCbCr BT.601 full range",
        metadata=metadata,
        extra_inputs=[ExtraInput("colour_strength", colour_strength,
                                 "chroma scale: 0 = gray, 1 = as trained (after the chroma curve, if any)")],
    )
    model = assemble(spec, [pre, core, post], "edgecolor_colorizer")
    # a fresh model has no curve to replace: without one, skip with_chroma_curve's copy and second check
    return with_chroma_curve(model, chroma_gamma) if chroma_gamma else model


# The chroma curve: c * min((|c| / CURVE_REF) ** gamma, CURVE_CAP) per pixel, |c| the length of (Cb, Cr).
CURVE_REF, CURVE_CAP = 10.0, 4.0
CURVE_PREFIX = "net/curve/"
RAW_CHROMA = "net/raw_chroma"
CURVE_KEY = "edgecolor.chroma_curve"


def with_chroma_curve(model: onnx.ModelProto, gamma: float) -> onnx.ModelProto:
    """A copy of colorizer frame model ``model`` whose network ends in the chroma curve of exponent ``gamma``
    (0: none), replacing the curve it had.

    Why: where the network is unsure (a white wall, a neutral room) it predicts faint chroma, the mean of the
    colours it hesitates between; strong chroma (sky, foliage) is what it is sure of. The curve shrinks faint
    chroma toward neutral and lets strong chroma grow, up to ``CURVE_CAP`` times. It runs on the network's
    output (112 x 112 for the shipped model), inside ``net/luma -> net/chroma``, so every engine and
    precision runs it: FP16 builds keep its Pow and ReduceL2 in FP32 (:data:`~edgecolor.graph.precision.FP32_OPS`),
    INT8 builds put no Q/DQ on the chroma it reads (:data:`~edgecolor.graph.precision.FLOAT_READERS`).
    The exponent is recorded in :data:`CURVE_KEY` metadata."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    nodes = [n for n in graph.node if not n.name.startswith(CURVE_PREFIX)]
    inits = [t for t in graph.initializer if not t.name.startswith(CURVE_PREFIX)]
    producer = next((n for n in nodes for o in n.output if o in (RAW_CHROMA, "net/chroma")), None)
    if producer is None:
        raise ModelError("this frame model has no net/chroma network output to put a chroma curve on",
                         "export it with edgecolor train colorizer")
    raw = RAW_CHROMA if gamma else "net/chroma"
    producer.output[:] = [raw if o in (RAW_CHROMA, "net/chroma") else o for o in producer.output]
    at = nodes.index(producer) + 1
    if gamma:
        b = GraphBuilder(CURVE_PREFIX)
        length = b.op("ReduceL2", [raw, b.const([1], "axis", dtype=np.int64)], keepdims=1)
        gain = b.op("Pow", [b.op("Mul", [length, b.const(1.0 / CURVE_REF, "inv_ref")]), b.const(gamma, "gamma")])
        b.op("Mul", [raw, b.op("Min", [gain, b.const(CURVE_CAP, "cap")])], "net/chroma")
        nodes[at:at] = b.nodes
        inits += b.initializers
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(inits)
    meta = {p.key: p.value for p in out.metadata_props if p.key != CURVE_KEY}
    if gamma:
        meta[CURVE_KEY] = json.dumps({"gamma": gamma, "reference": CURVE_REF, "cap": CURVE_CAP,
                                      "formula": "chroma * min((|chroma| / reference) ** gamma, cap)"})
    del out.metadata_props[:]
    helper.set_model_props(out, meta)
    onnx.checker.check_model(out)
    return out


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



# What a frame model records about itself (``metadata_props``), beside the contract keys above: what it is called,
# where it came from, what it learnt from, how its default colour strength was chosen, and how it was tuned.
VERSION_KEY = "edgecolor.version"
NAME_KEY = "edgecolor.name"
SOURCE_KEY = "edgecolor.source"
TRAINING_DATA_KEY = "edgecolor.training_data"
STRENGTH_RECORD_KEY = "edgecolor.colour_strength_validation"
TUNING_KEY = "edgecolor.tuning"
EXTRA_INPUTS_KEY = "edgecolor.extra_inputs"


def model_metadata(model: onnx.ModelProto) -> dict[str, str]:
    """``model``'s ``metadata_props`` as a dict."""
    return {p.key: p.value for p in model.metadata_props}


def with_metadata(model: onnx.ModelProto, updates: Mapping[str, str]) -> onnx.ModelProto:
    """A copy of ``model`` whose metadata holds ``updates`` (keys already there are replaced, the rest kept)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    meta = model_metadata(model) | dict(updates)
    del out.metadata_props[:]
    helper.set_model_props(out, meta)
    return out


def with_extra_default(model: onnx.ModelProto, name: str, value: float) -> onnx.ModelProto:
    """A copy of frame model ``model`` whose extra input ``name`` (e.g. ``colour_strength``) defaults to ``value``:
    its initializer and its ``edgecolor.extra_inputs`` record both change, so every engine reads the new default."""
    record = json.loads(model_metadata(model).get(EXTRA_INPUTS_KEY, "{}"))
    init = next((t for t in model.graph.initializer if t.name == name), None)
    if name not in record or init is None:
        raise ModelError(f"the model has no extra input '{name}' with a default", "export it with edgecolor")
    record[name]["default"] = float(value)
    out = with_metadata(model, {EXTRA_INPUTS_KEY: json.dumps(record)})
    target = next(t for t in out.graph.initializer if t.name == name)
    target.CopyFrom(numpy_helper.from_array(np.asarray(value, np.float32), name))
    return out
