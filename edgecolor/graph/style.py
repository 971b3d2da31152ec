"""Wrap a style network into a frame model (``style-NAME.onnx``).

frame -> float BGR -> resize so the long side is at most ``max_side`` (multiple of 4, at least 16 per side)
      -> core TransformerNet (BGR 0..255 in and out, dynamic H/W) -> bilinear resize back to the frame
      -> ``preserve_colour``: mix in the original chroma -> ``strength``: blend with the original
      -> round/clamp -> frame_out

Keeping the original chroma uses the full-range BT.601 YCbCr of :mod:`edgecolor.colour`. Because YCbCr is
linear and ``B = G = R = Y`` has zero chroma, an image with luma ``Y_s`` and the chroma of ``X`` is exactly
``X + (Y_s - Y_x)`` in BGR: one luma convolution per image, no 3x3 colour transform.
"""

from __future__ import annotations

import onnx

from edgecolor.choices import Task
from edgecolor.graph.contract import FRAME, FRAME_OUT, NET_SCOPE, POST_SCOPE, PRE_SCOPE, ExtraInput, FrameModelInfo
from edgecolor.graph.pieces import FrameModelSpec, GraphBuilder, assemble

MIN_SIDE = 16  # TransformerNet's 9x9 reflection pad needs > 4 pixels; both networks divide by 4
MULTIPLE = 4  # both networks go down to H/4 and back up (stride 2 / pixel-unshuffle, upsample / shuffle)


def _internal_size(g: GraphBuilder, x: str, max_side: str) -> str:
    """int64 sizes [N, 3, h, w]: the frame scaled down (never up) so max(h, w) <= ``max_side`` (a scalar
    graph input), with h and w rounded to a multiple of 4 and at least MIN_SIDE."""
    hw = g.op("Cast", [g.dims(x, 2, 4)], to=onnx.TensorProto.FLOAT)
    scale = g.op("Min", [g.op("Div", [max_side, g.op("ReduceMax", [hw], keepdims=1)]), g.const(1.0)])
    quarter = g.op("Round", [g.op("Div", [g.op("Mul", [hw, scale]), g.const(float(MULTIPLE))])])
    hw_net = g.op("Max", [g.op("Mul", [quarter, g.const(float(MULTIPLE))]), g.const(float(MIN_SIDE))])
    return g.op("Concat", [g.dims(x, 0, 2), g.op("Cast", [hw_net], to=onnx.TensorProto.INT64)], axis=0)


def stylize_frame_model(core: onnx.ModelProto, net_size: int, info: FrameModelInfo,
                        strength: float = 1.0, preserve_colour: float = 0.0) -> onnx.ModelProto:
    """Wrap a core style network (``bgr [N,3,h,w]`` -> ``styled [N,3,h,w]``, both 0..255, dynamic h/w)
    into a frame model with extra inputs ``strength`` and ``preserve_colour`` (scalars, 0..1) and
    ``max_side`` (default ``net_size``)."""
    core = onnx.compose.add_prefix(core, NET_SCOPE)
    (core_in,), (core_out,) = [i.name for i in core.graph.input], [o.name for o in core.graph.output]
    pre, post = GraphBuilder(PRE_SCOPE), GraphBuilder(POST_SCOPE)
    x = pre.frame_to_nchw(FRAME)
    pre.op("Resize", [x, "", "", _internal_size(pre, x, "max_side")], core_in, mode="linear",
           coordinate_transformation_mode="half_pixel")
    styled = post.resize_like(core_out, x)
    luma_shift = post.op("Sub", [post.luma(styled), post.luma(x)])
    kept_colour = post.op("Add", [x, luma_shift])  # styled luma, original chroma
    styled = post.op("Add", [styled, post.op("Mul", [post.op("Sub", [kept_colour, styled]), "preserve_colour"])])
    blended = post.op("Add", [x, post.op("Mul", [post.op("Sub", [styled, x]), "strength"])])
    post.nchw_to_frame(blended, FRAME_OUT)
    spec = FrameModelSpec(
        task=Task.STYLIZE, net_size=net_size, colour_space="BGR (network), YCbCr BT.601 full range (preserve_colour)",
        info=info,
        extra_inputs=[
            ExtraInput("strength", strength, "blend with the original: 0 = input unchanged, 1 = fully stylised"),
            ExtraInput("preserve_colour", preserve_colour, "0 = the painting's colours, 1 = keep the original chroma"),
            ExtraInput("max_side", float(net_size), "longest side the network runs at (larger frames are scaled "
                       "down for the network and the result scaled up); lower = faster, coarser brush strokes"),
        ],
    )
    return assemble(spec, [pre, core, post], "edgecolor_stylizer")
