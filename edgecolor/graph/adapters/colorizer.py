"""Bring-your-own colorizers: wrap a network that predicts chroma (Lab ab, or RGB whose chroma is kept)
into an ordinary colorizer frame model (``frame`` uint8 BGR -> ``frame_out``, dynamic size,
``colour_strength`` extra input), so build / FP16 / INT8 / TensorRT / colorize / run / bench work on it.

Presets (the projects' own inference code and common ONNX exports):

========== ============================================ ======================= ===========================
preset     network input                                output                  merge
========== ============================================ ======================= ===========================
zhang      ``data_l`` 1x1x256x256 CIE L 0..100          ab 1x2x256x256          with the frame's lightness
zhang-caffe 1x1x224x224, L - 50                         ab 1x2x56x56            with the frame's lightness
ddcolor    ``input`` 1x3x512x512 RGB 0..1 of Lab (L,0,0) ab 1x2xHxW             with the frame's lightness
deoldify   ``input`` 1x3xHxW RGB 0..255 of the gray     RGB 0..255              frame's luma + output chroma
========== ============================================ ======================= ===========================

Other inputs (SIGGRAPH17's ``user_ab``, ``user_map``) are filled with ``extra.NAME=VALUE`` (zhang: 0).

Two merges of a predicted ab with the full-resolution frame:

- ``fast`` (default): Lab -> BGR at the network's size (cheap there), its YCbCr chroma upsampled and
  added to the frame's full-resolution BT.601 luma (:meth:`GraphBuilder.merge_chroma`, the same merge as
  edgecolor's own colorizer). Keeps the frame's Y exactly.
- ``exact``: L of the full-resolution frame, ab upsampled to it, Lab -> BGR per pixel (Zhang's and
  DDColor's own post-processing). Keeps the frame's L exactly; costs sRGB/cube-root math per pixel.

Spec text: a preset, optionally followed by keys (``zhang,merge=exact``), or the keys alone:
``input=l|gray-rgb|rgb, l_offset, l_scale, range=LO:HI, size=model|dynamic|HxW, multiple, output=ab|rgb,
ab_scale, merge=fast|exact, strength, extra.NAME=VALUE``, or a ``.json`` file with the same keys
(``{"preset": "zhang", "merge": "exact", "extras": {"user_ab": 0}}``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from edgecolor.colour import CHROMA_FROM_BGR, LUMA_BGR
from edgecolor.errors import InputError
from edgecolor.graph import lab
from edgecolor.graph.adapters.common import (
    FLOATS,
    MAX_MULTIPLE,
    MAX_SIDE,
    assemble_wrapped,
    crop_like,
    dims,
    pad_to_multiple,
)
from edgecolor.graph.contract import FRAME, FRAME_OUT, NET_SCOPE, POST_SCOPE, PRE_SCOPE, ExtraInput, FrameModelInfo
from edgecolor.graph.pieces import FrameModelSpec, GraphBuilder

INPUTS = ("l", "gray-rgb", "rgb")
OUTPUTS = ("ab", "rgb")
MERGES = ("fast", "exact")
MIN_OPSET = 17


@dataclass(frozen=True)
class ColorizerSpec:
    preset: str = ""
    input: str = "l"  # l: CIE L; gray-rgb: RGB of Lab (L, 0, 0); rgb: BT.601 gray as R = G = B
    l_offset: float = 0.0  # network L = (L - l_offset) * l_scale
    l_scale: float = 1.0
    range: tuple[float, float] = (0.0, 1.0)  # value range of RGB inputs and outputs
    size: str | tuple[int, int] = "model"  # "model": the network's fixed H x W; "dynamic": the frame's
    fallback: tuple[int, int] | None = None  # size for a network with dynamic H x W when size is "model"
    multiple: int = 1  # dynamic size: pad H and W to a multiple of this
    output: str = "ab"  # ab: Lab ab; rgb: an RGB image whose chroma is kept (the frame's luma is kept)
    ab_scale: float = 1.0
    merge: str = "fast"
    strength: float = 1.0  # default colour_strength
    input_name: str = ""  # preferred image input when the network has several
    extras: dict[str, float] = field(default_factory=dict)  # fill values of the other inputs
    optional_extras: tuple[str, ...] = ()  # preset extras a network may lack

    @staticmethod
    def parse(text: str) -> ColorizerSpec:
        try:
            spec = ColorizerSpec._parse(text)
        except InputError:
            raise
        except (ValueError, TypeError) as exc:
            raise InputError(f"cannot read colorizer adapter spec '{text}': {exc}", _HELP) from exc
        bad = (spec.input not in INPUTS or spec.output not in OUTPUTS or spec.merge not in MERGES
               or not all(math.isfinite(v) for v in (*spec.range, spec.l_offset, spec.l_scale, spec.ab_scale,
                                                      spec.strength, *spec.extras.values()))
               or spec.range[0] >= spec.range[1] or not 1 <= spec.multiple <= MAX_MULTIPLE
               or (isinstance(spec.size, tuple) and not all(1 <= v <= MAX_SIDE for v in spec.size)))
        if bad:
            raise InputError(f"colorizer adapter spec '{text}' has a bad value", _HELP)
        return spec

    @staticmethod
    def _parse(text: str) -> ColorizerSpec:
        text = json_spec_text(text) or text
        parts = [p.strip() for p in text.split(",") if p.strip()]
        spec = ColorizerSpec()
        if parts and "=" not in parts[0]:
            spec = preset(parts.pop(0))
        given: dict[str, object] = {}
        extras = dict(spec.extras)
        for part in parts:
            key, sep, value = (s.strip() for s in part.partition("="))
            key = key.lower()
            if not sep:
                raise InputError(f"colorizer adapter part '{part}' is not key=value", _HELP)
            if key == "preset":
                spec = preset(value)
                extras = dict(spec.extras)
            elif key.startswith("extra."):
                extras[key[6:]] = float(value)
            elif key in ("input", "output", "merge", "input_name"):
                given[key] = value.lower() if key != "input_name" else value
            elif key in ("l_offset", "l_scale", "ab_scale", "strength"):
                given[key] = float(value)
            elif key == "multiple":
                given[key] = int(value)
            elif key == "range":
                lo, hi = (float(v) for v in value.split(":"))
                given[key] = (lo, hi)
            elif key == "size":
                low = value.lower()
                dims = None if low in ("model", "dynamic") else tuple(int(v) for v in low.split("x"))
                given[key] = low if dims is None else (dims * 2 if len(dims) == 1 else dims)
                if dims is not None and len(given[key]) != 2:  # type: ignore[arg-type]
                    raise InputError(f"size '{value}' must be H, HxW, model or dynamic", _HELP)
            else:
                raise InputError(f"unknown colorizer adapter key '{key}'", _HELP)
        return replace(spec, **given, extras=extras)  # type: ignore[arg-type]

    def describe(self) -> str:
        return json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()},
                          sort_keys=True)


PRESETS: dict[str, ColorizerSpec] = {
    "zhang": ColorizerSpec(preset="zhang", input="l", input_name="data_l",
                           extras={"user_ab": 0.0, "user_map": 0.0}, optional_extras=("user_ab", "user_map")),
    "zhang-caffe": ColorizerSpec(preset="zhang-caffe", input="l", l_offset=50.0),
    "ddcolor": ColorizerSpec(preset="ddcolor", input="gray-rgb", range=(0.0, 1.0), input_name="input"),
    # render size 16 x render_factor (35 for images -> 560; 21 for video -> 336); size=dynamic pads to /32
    "deoldify": ColorizerSpec(preset="deoldify", input="rgb", range=(0.0, 255.0), output="rgb",
                              fallback=(560, 560), multiple=32, input_name="input"),
}
_HELP = (f"use a preset ({', '.join(PRESETS)}), optionally with keys: zhang,merge=exact; keys: input=l|gray-rgb|"
         "rgb,l_offset=,l_scale=,range=LO:HI,size=model|dynamic|HxW,multiple=,output=ab|rgb,ab_scale=,"
         "merge=fast|exact,strength=,extra.NAME=VALUE")


def json_spec_text(text: str) -> str | None:
    """The spec text of a colorizer ``.json`` spec file (``{"preset": "zhang", "merge": "exact", "extras":
    {"user_ab": 0}}``), or None when ``text`` is not a JSON file holding one."""
    from edgecolor import inputs, jsonio

    path = Path(text)
    if path.suffix != ".json" or inputs.kind(path, "adapter spec file") != "file":
        return None
    raw = jsonio.load(path, f"adapter spec file {path}", InputError, _HELP, max_bytes=1 << 20)
    if not isinstance(raw, dict) or not {"preset", "input", "output"} & set(raw):
        return None  # an image-to-image spec file
    extras = raw.pop("extras", {})
    if not isinstance(extras, dict):
        raise InputError(f"'extras' in {path} must map input names to values", _HELP)
    parts = [str(raw.pop("preset"))] if "preset" in raw else []
    for key, value in raw.items():
        parts.append(f"{key}={':'.join(map(str, value)) if isinstance(value, list) else value}")
    parts += [f"extra.{k}={v}" for k, v in extras.items()]
    return ",".join(parts)


def preset(name: str) -> ColorizerSpec:
    if name.lower() not in PRESETS:
        raise InputError(f"unknown colorizer preset '{name}'", f"use one of: {', '.join(PRESETS)}")
    return PRESETS[name.lower()]


def _io(net: onnx.ModelProto, spec: ColorizerSpec) -> tuple[onnx.ValueInfoProto, onnx.ValueInfoProto, list]:
    what = spec.preset or "the colorizer adapter"
    inits = {t.name for t in net.graph.initializer}
    inputs = [i for i in net.graph.input if i.name not in inits]
    names = [i.name for i in inputs]
    unknown = [k for k in spec.extras if k not in names and k not in spec.optional_extras]
    if unknown:
        raise InputError(f"adapter extra '{unknown[0]}' is not an input of the network", f"inputs: {', '.join(names)}")
    images = [i for i in inputs if i.name not in spec.extras]
    if len(images) > 1 and spec.input_name in names:
        images = [i for i in images if i.name == spec.input_name]
    if len(images) != 1:
        raise InputError(f"{what} needs one image input, the network has {[(i.name, dims(i)) for i in images]}",
                         "give the other inputs a value with extra.NAME=VALUE or name the image with input_name=")
    image = images[0]
    channels = 1 if spec.input == "l" else 3
    idims = dims(image)
    if image.type.tensor_type.elem_type not in FLOATS or len(idims) != 4 or idims[1] != channels:
        raise InputError(f"{what} expects a float [N, {channels}, H, W] input ({spec.input}), "
                         f"got '{image.name}' {idims}", "pick the preset that matches the network")
    outs = list(net.graph.output)
    out_ch = 2 if spec.output == "ab" else 3
    odims = dims(outs[0]) if len(outs) == 1 else []
    if len(outs) != 1 or outs[0].type.tensor_type.elem_type not in FLOATS or len(odims) != 4 or odims[1] != out_ch:
        got = [(o.name, dims(o)) for o in outs]
        raise InputError(f"{what} expects one float [N, {out_ch}, h, w] output ({spec.output}), got {got}",
                         "pick the preset that matches the network")
    hw, ohw = idims[2:], odims[2:]
    if all(isinstance(v, int) for v in (*hw, *ohw)) and hw[0] * ohw[1] != hw[1] * ohw[0]:  # type: ignore[operator]
        raise InputError(f"{what}: the output {odims} does not cover the input {idims} (different aspect)",
                         "the network must predict chroma for the whole input image")
    extras = [i for i in inputs if i.name in spec.extras]
    return image, outs[0], extras


def _net_size(spec: ColorizerSpec, image: onnx.ValueInfoProto) -> tuple[int, int] | None:
    """The H x W the network runs at (None: the frame's size, padded to ``multiple``)."""
    hw = dims(image)[2:]
    fixed = tuple(hw) if all(isinstance(v, int) and v > 0 for v in hw) else None
    if spec.size == "dynamic":
        if fixed:
            raise InputError(f"the network's input is fixed at {fixed[0]}x{fixed[1]}, not dynamic",
                             "drop size=dynamic")
        return None
    if isinstance(spec.size, tuple):
        if fixed and fixed != spec.size:
            raise InputError(f"size={spec.size[0]}x{spec.size[1]} but the network's input is fixed at "
                             f"{fixed[0]}x{fixed[1]}", "drop size= or give the network's own size")
        return spec.size
    if fixed:
        return fixed  # type: ignore[return-value]
    if spec.fallback:
        return spec.fallback
    raise InputError(f"the network's input '{image.name}' has dynamic height/width {hw}; this adapter needs a "
                     "fixed size", "give the size it was trained at, e.g. size=256, or size=dynamic,multiple=K")


def _pre(pre: GraphBuilder, spec: ColorizerSpec, size: tuple[int, int] | None) -> tuple[str, str, str, str | None]:
    """(frame as float NCHW BGR, the network-size BGR, the network's image input before its name, the
    network-size CIE L when it was computed)."""
    bgr = pre.op("Cast", [pre.op("Transpose", [FRAME], perm=[0, 3, 1, 2])], to=TensorProto.FLOAT)
    if size is not None:  # bilinear to 2x then an exact 2x box step: INTER_AREA-like downscaling
        small = pre.resize_to(pre.resize_to(bgr, (2 * size[0], 2 * size[1])), size)
    elif spec.multiple > 1:
        small = pad_to_multiple(pre, bgr, spec.multiple)
    else:
        small = bgr
    lo, hi = spec.range
    if spec.input == "l":
        lightness = lab.lightness(pre, small)
        net_l = pre.op("Sub", [lightness, pre.const(spec.l_offset)])
        return bgr, small, pre.op("Mul", [net_l, pre.const(spec.l_scale)]), lightness
    small_l: str | None = None
    if spec.input == "gray-rgb":
        y_small = lab.luminance(pre, small)
        small_l = lab.lightness_of_luminance(pre, y_small)
        gray = lab.gray_bgr_of_luminance(pre, y_small)
    else:  # the BT.601 gray as three channels (DeOldify grays its input with PIL's convert('L'))
        y = pre.op("Conv", [small, pre.const(LUMA_BGR.reshape(1, 3, 1, 1), "luma_w")])
        gray = pre.op("Concat", [y, y, y], axis=1)
    return bgr, small, pre.op("Add", [pre.op("Mul", [gray, pre.const((hi - lo) / 255)]), pre.const(lo)]), small_l


def wrap_colorizer(net: onnx.ModelProto, spec: ColorizerSpec, name: str = "adapted") -> onnx.ModelProto:
    """A colorizer frame model (``frame`` uint8 [N,H,W,3] BGR -> ``frame_out``) around ``net``."""
    # At opsets 13..16 ONNX shape inference on the INT8 calibration graph rejects the dynamic Resize sizes
    # (seen with the Caffe model's opset-11 export); from 17 on it accepts them.
    if next((o.version for o in net.opset_import if o.domain in ("", "ai.onnx")), MIN_OPSET) < MIN_OPSET:
        net = onnx.version_converter.convert_version(net, MIN_OPSET)
    image, out, extra_vis = _io(net, spec)
    size = _net_size(spec, image)
    net = onnx.compose.add_prefix(net, NET_SCOPE)
    from edgecolor.graph.precision import name_nodes

    name_nodes(net)
    pre, post = GraphBuilder(PRE_SCOPE), GraphBuilder(POST_SCOPE)
    bgr, small, x, small_l = _pre(pre, spec, size)
    in_type = image.type.tensor_type.elem_type
    if in_type != TensorProto.FLOAT:
        x = pre.op("Cast", [x], to=in_type)
    pre.op("Identity", [x], NET_SCOPE + image.name)
    for vi in extra_vis:  # constant-filled inputs, batch size taken from the frame
        rest = dims(vi)[1:]
        if not all(isinstance(v, int) and v > 0 for v in rest):
            raise InputError(f"extra input '{vi.name}' {dims(vi)} needs fixed dimensions after the batch",
                             "export the network with a fixed size")
        shape = pre.op("Concat", [pre.dims(FRAME, 0, 1), pre.const(rest, "extra_shape", dtype=np.int64)], axis=0)
        value = numpy_helper.from_array(np.asarray([spec.extras[vi.name]], np.float32))
        filled = pre.op("ConstantOfShape", [shape], value=value)
        if vi.type.tensor_type.elem_type != TensorProto.FLOAT:
            filled = pre.op("Cast", [filled], to=vi.type.tensor_type.elem_type)
        pre.op("Identity", [filled], NET_SCOPE + vi.name)

    y = NET_SCOPE + out.name
    if out.type.tensor_type.elem_type != TensorProto.FLOAT:
        y = post.op("Cast", [y], to=TensorProto.FLOAT)

    def to_frame_size(t: str) -> str:  # padded (dynamic) outputs are cropped back to the frame
        if size is not None:
            return t
        return crop_like(post, post.resize_like(t, small), bgr)

    if spec.output == "rgb":  # chroma of the output image, in one 1x1 conv from its RGB range
        lo, hi = spec.range
        w = CHROMA_FROM_BGR[:, ::-1] * (255 / (hi - lo))  # RGB channel order in
        chroma = post.op("Conv", [y, post.const(w.reshape(2, 3, 1, 1), "chroma_w"),
                                  post.const(-w.sum(axis=1) * lo, "chroma_b")])
        chroma = to_frame_size(post.op("Mul", [chroma, "colour_strength"]))
        post.merge_chroma(chroma, post.frame_luma(FRAME), FRAME_OUT)
    else:
        ab = post.op("Mul", [y, post.op("Mul", ["colour_strength", post.const(spec.ab_scale)])])
        if spec.merge == "exact":
            ab = post.resize_like(to_frame_size(ab), bgr)
            post.nchw_to_frame(lab.lab_to_bgr(post, lab.lightness(post, bgr), ab), FRAME_OUT)
        else:
            small_l = small_l or lab.lightness(post, small)
            bgr_small = lab.lab_to_bgr(post, small_l, post.resize_like(ab, small))
            chroma = post.op("Conv", [bgr_small, post.const(CHROMA_FROM_BGR.reshape(2, 3, 1, 1), "chroma_w")])
            post.merge_chroma(to_frame_size(chroma), post.frame_luma(FRAME), FRAME_OUT)

    space = "CIE Lab (network), " + ("Lab merge" if spec.merge == "exact" and spec.output == "ab"
                                     else "YCbCr BT.601 merge")
    strength = ExtraInput("colour_strength", spec.strength, "chroma scale: 0 = gray, 1 = as predicted")
    info = FrameModelInfo(adapter=spec.describe(), name=name,
                          source=f"wrapped by edgecolor's colorizer adapter ({spec.preset or 'custom spec'})")
    frame_spec = FrameModelSpec("colorize", "dynamic" if size is None else f"{size[0]}x{size[1]}", space, info,
                                [strength])
    return assemble_wrapped(net, [pre, post], frame_spec, name)
