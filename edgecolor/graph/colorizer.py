"""The colorizer's frame model: edgecolor's core colorizer network (luma in, chroma out) inside the colour math, and
the chroma curve on the network's output."""

from __future__ import annotations

import json

import numpy as np
import onnx

from edgecolor.errors import ModelError
from edgecolor.graph.contract import (
    CURVE_SCOPE,
    FRAME,
    FRAME_OUT,
    NET_CHROMA,
    NET_SCOPE,
    POST_SCOPE,
    PRE_SCOPE,
    RAW_CHROMA,
    ExtraInput,
    FrameModelInfo,
)
from edgecolor.graph.pieces import FrameModelSpec, GraphBuilder, assemble


def colorizer_frame_model(core: onnx.ModelProto, net_size: int, info: FrameModelInfo,
                          colour_strength: float = 1.0, chroma_gamma: float = 0.0) -> onnx.ModelProto:
    """Wrap a core colorizer (``luma [N,1,S,S]`` -> ``chroma [N,2,s,s]``) into a frame model.

    frame -> luma (full res) -> area-downscale to S -> core [-> chroma curve] -> chroma * colour_strength
          -> chroma-to-BGR offsets (1x1 conv) -> bilinear upsample to the frame -> + luma -> round/clamp -> frame
    Rounding is half-up (truncation of x + 0.5), so it can differ from OpenCV's half-to-even by 1 LSB.
    ``chroma_gamma`` > 0 adds :func:`with_chroma_curve`.
    """
    core = onnx.compose.add_prefix(core, NET_SCOPE)
    (core_in,), (core_out,) = [i.name for i in core.graph.input], [o.name for o in core.graph.output]
    pre, post = GraphBuilder(PRE_SCOPE), GraphBuilder(POST_SCOPE)
    luma = pre.frame_luma(FRAME)
    # The last resize writes the core's input name directly (an Identity would be optimised away, and
    # the CPU fast path finds the network by its boundary tensors net/luma -> net/chroma).
    pre.resize_down_area(luma, net_size, core_in)
    post.merge_chroma(post.op("Mul", [core_out, "colour_strength"]), luma, FRAME_OUT)
    spec = FrameModelSpec(
        task="colorize", net_size=net_size, colour_space="YCbCr BT.601 full range",
        info=info,
        extra_inputs=[ExtraInput("colour_strength", colour_strength,
                                 "chroma scale: 0 = gray, 1 = as trained (after the chroma curve, if any)")],
    )
    model = assemble(spec, [pre, core, post], "edgecolor_colorizer")
    # a fresh model has no curve to replace: without one, skip with_chroma_curve's copy and second check
    return with_chroma_curve(model, chroma_gamma) if chroma_gamma else model


# The chroma curve: c * min((|c| / CURVE_REF) ** gamma, CURVE_CAP) per pixel, |c| the length of (Cb, Cr).
CURVE_REF, CURVE_CAP = 10.0, 4.0


def with_chroma_curve(model: onnx.ModelProto, gamma: float) -> onnx.ModelProto:
    """A copy of colorizer frame model ``model`` whose network ends in the chroma curve of exponent ``gamma``
    (0: none), replacing the curve it had.

    Why: where the network is unsure (a white wall, a neutral room) it predicts faint chroma, the mean of the
    colours it hesitates between; strong chroma (sky, foliage) is what it is sure of. The curve shrinks faint
    chroma toward neutral and lets strong chroma grow, up to ``CURVE_CAP`` times. It runs on the network's
    output (112 x 112 for the shipped model), inside ``net/luma -> net/chroma``, so every engine and
    precision runs it: FP16 builds keep its Pow and ReduceL2 in FP32 (:data:`~edgecolor.graph.precision.FP32_OPS`),
    INT8 builds put no Q/DQ on the chroma it reads (:data:`~edgecolor.graph.precision.FLOAT_READERS`).
    The exponent is recorded in :attr:`FrameModelInfo.chroma_curve`."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    nodes = [n for n in graph.node if not n.name.startswith(CURVE_SCOPE)]
    inits = [t for t in graph.initializer if not t.name.startswith(CURVE_SCOPE)]
    producer = next((n for n in nodes for o in n.output if o in (RAW_CHROMA, NET_CHROMA)), None)
    if producer is None:
        raise ModelError(f"this frame model has no {NET_CHROMA} network output to put a chroma curve on",
                         "export it with edgecolor train colorizer")
    raw = RAW_CHROMA if gamma else NET_CHROMA
    producer.output[:] = [raw if o in (RAW_CHROMA, NET_CHROMA) else o for o in producer.output]
    at = nodes.index(producer) + 1
    if gamma:
        b = GraphBuilder(CURVE_SCOPE)
        length = b.op("ReduceL2", [raw, b.const([1], "axis", dtype=np.int64)], keepdims=1)
        gain = b.op("Pow", [b.op("Mul", [length, b.const(1.0 / CURVE_REF, "inv_ref")]), b.const(gamma, "gamma")])
        b.op("Mul", [raw, b.op("Min", [gain, b.const(CURVE_CAP, "cap")])], NET_CHROMA)
        nodes[at:at] = b.nodes
        inits += b.initializers
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(inits)
    curve = json.dumps({"gamma": gamma, "reference": CURVE_REF, "cap": CURVE_CAP,
                        "formula": "chroma * min((|chroma| / reference) ** gamma, cap)"}) if gamma else None
    FrameModelInfo.read(out).replace(chroma_curve=curve).write(out)
    onnx.checker.check_model(out)
    return out
