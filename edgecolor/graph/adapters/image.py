"""Wrap any image-to-image ONNX network into a frame model with the shared pre/post graph pieces.

An :class:`AdapterSpec` says how the network sees an image: layout (NCHW/NHWC), colour order (RGB/BGR),
value range (e.g. 0..1, -1..1, 0..255), a fixed size or dynamic size (optionally padded to a multiple of
k, then cropped back), and defaults for extra inputs. Scalar extras stay overridable frame-model inputs;
vector extras (e.g. a style-weight vector) are frozen into the graph as constants, one frame model per choice.

Spec text: ``layout=nchw,order=rgb,range=0:1,size=dynamic,multiple=4,extra.style_weights=19@26``
(``V@N``: one-hot of length N at index V) or a JSON file with the same keys.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgecolor import inputs, jsonio
from edgecolor.errors import InputError
from edgecolor.graph.adapters.common import FLOATS, MAX_MULTIPLE, MAX_SIDE, assemble_wrapped, crop_like, pad_to_multiple
from edgecolor.graph.contract import FRAME, FRAME_OUT, NET_SCOPE, POST_SCOPE, PRE_SCOPE, ExtraInput, FrameModelInfo
from edgecolor.graph.pieces import OPSET, FrameModelSpec, GraphBuilder


@dataclass(frozen=True)
class AdapterSpec:
    layout: str = "nchw"
    order: str = "rgb"
    range: tuple[float, float] = (0.0, 1.0)
    size: tuple[int, int] | None = None  # None = dynamic
    multiple: int = 1
    extras: dict[str, float | tuple[float, ...]] = field(default_factory=dict)
    task: str = "stylize"

    @staticmethod
    def parse(text: str) -> AdapterSpec:
        """Parse spec text or a ``.json`` spec file; any malformed spec is an :class:`InputError`."""
        try:
            spec = AdapterSpec._parse(text)
        except InputError:
            raise
        except (ValueError, TypeError, AttributeError, IndexError, OverflowError, OSError) as exc:
            raise InputError(f"cannot read adapter spec '{text}': {exc}", _SPEC_HELP) from exc
        if (
            spec.layout not in ("nchw", "nhwc")
            or spec.order not in ("rgb", "bgr")
            or not all(math.isfinite(v) for v in spec.range)
            or spec.range[0] >= spec.range[1]
        ):
            raise InputError(f"adapter spec '{text}' has a bad layout/order/range", _SPEC_HELP)
        if not 1 <= spec.multiple <= MAX_MULTIPLE or (
            spec.size is not None and (len(spec.size) != 2 or not all(1 <= v <= MAX_SIDE for v in spec.size))
        ):
            raise InputError(
                f"adapter spec '{text}' has a bad size/multiple (size 1..{MAX_SIDE}, multiple 1..{MAX_MULTIPLE})",
                _SPEC_HELP,
            )
        values = [v for e in spec.extras.values() for v in (e if isinstance(e, tuple) else (e,))]
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"adapter spec '{text}' has a non-finite extra value", _SPEC_HELP)
        return spec

    @staticmethod
    def _parse(text: str) -> AdapterSpec:
        path = Path(text)
        raw: dict = {}
        if path.suffix == ".json" and inputs.kind(path, "adapter spec file") == "file":
            raw = jsonio.load(path, f"adapter spec file {path}", InputError, _SPEC_HELP, max_bytes=1 << 20)
            if not isinstance(raw, dict):
                raise InputError(f"adapter spec file {path} must hold a JSON object", _SPEC_HELP)
        else:
            for part in filter(None, (p.strip() for p in text.split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise InputError(f"adapter spec part '{part}' is not key=value", _SPEC_HELP)
                raw[key.strip()] = value.strip()
        extras: dict[str, float | tuple[float, ...]] = {}
        for key, value in list(raw.items()):
            if key.startswith("extra."):
                extras[key[6:]] = _parse_extra(str(value))
                del raw[key]
        listed = raw.pop("extras", {})
        if not isinstance(listed, dict):
            raise InputError("adapter spec 'extras' must map input names to values", _SPEC_HELP)
        extras.update({str(k): (tuple(float(x) for x in v) if isinstance(v, list) else float(v))
                       for k, v in listed.items()})
        range_text = raw.get("range", "0:1")
        if isinstance(range_text, list):
            range_text = ":".join(map(str, range_text))
        lo, hi = (float(v) for v in str(range_text).replace(",", ":").strip("[]").split(":"))
        size_text = str(raw.get("size", "dynamic")).lower()
        size = None if size_text == "dynamic" else tuple(int(v) for v in size_text.split("x"))
        return AdapterSpec(
            layout=str(raw.get("layout", "nchw")).lower(),
            order=str(raw.get("order", "rgb")).lower(),
            range=(lo, hi),
            size=(size * 2 if size and len(size) == 1 else size),  # type: ignore[arg-type]
            multiple=int(raw.get("multiple", 1)),
            extras=extras,
            task=str(raw.get("task", "stylize")),
        )

    def describe(self) -> str:
        return json.dumps(
            {
                "layout": self.layout,
                "order": self.order,
                "range": list(self.range),
                "size": list(self.size) if self.size else "dynamic",
                "multiple": self.multiple,
                "extras": {k: list(v) if isinstance(v, tuple) else v for k, v in self.extras.items()},
            },
            sort_keys=True,
        )


_SPEC_HELP = ("e.g. --adapter layout=nchw,order=rgb,range=0:1,size=dynamic,multiple=4,extra.NAME=VALUE, or a "
              "colorizer preset: zhang, zhang-caffe, ddcolor, deoldify")


MAX_ONE_HOT = 65536


def _parse_extra(value: str) -> float | tuple[float, ...]:
    if "@" in value:  # one-hot: index@length
        idx, length = (int(v) for v in value.split("@"))
        if not 0 <= idx < length <= MAX_ONE_HOT:
            raise InputError(f"one-hot extra '{value}' needs 0 <= index < length <= {MAX_ONE_HOT}", _SPEC_HELP)
        vec = [0.0] * length
        vec[idx] = 1.0
        return tuple(vec)
    if ";" in value:
        return tuple(float(v) for v in value.split(";"))
    return float(value)


def _image_io(model: onnx.ModelProto, spec: AdapterSpec) -> tuple[onnx.ValueInfoProto, onnx.ValueInfoProto]:
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits and i.name not in spec.extras]
    c_axis = 1 if spec.layout == "nchw" else 3

    def is_image(vi: onnx.ValueInfoProto) -> bool:
        tt = vi.type.tensor_type
        dims = tt.shape.dim
        return tt.elem_type in FLOATS and len(dims) == 4 and dims[c_axis].dim_value == 3

    if len(inputs) != 1 or not is_image(inputs[0]):
        got = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in inputs]
        raise InputError(
            f"the ONNX is not an image-to-image network for layout {spec.layout}: image input must be "
            f"one float 4-D tensor with 3 channels, other inputs need extra.NAME defaults; got {got}",
            "fix --adapter layout or give extra.NAME=VALUE for the other inputs",
        )
    if len(model.graph.output) != 1 or not is_image(model.graph.output[0]):
        raise InputError(
            "the ONNX is not image-to-image: it needs one float 4-D output with 3 channels",
            "wrap only networks that return an image",
        )
    return inputs[0], model.graph.output[0]


def _channel_affine(b: GraphBuilder, x: str, spec: AdapterSpec, inverse: bool) -> str:
    """BGR 0..255 <-> the network's order and range as one 1x1 convolution (a 3x3 matrix plus bias)."""
    lo, hi = spec.range
    scale = (hi - lo) / 255.0
    perm = np.eye(3, dtype=np.float32)[::-1] if spec.order == "rgb" else np.eye(3, dtype=np.float32)
    if not inverse:
        w, bias = perm * scale, np.full(3, lo, np.float32)
    else:
        w, bias = perm.T / scale, np.full(3, -lo / scale, np.float32)
    return b.op("Conv", [x, b.const(w.reshape(3, 3, 1, 1), "affine_w"), b.const(bias, "affine_b")])


def wrap(net: onnx.ModelProto, spec: AdapterSpec, name: str = "adapted") -> onnx.ModelProto:
    """A frame model (``frame`` uint8 [N,H,W,3] BGR -> ``frame_out``) around ``net``."""
    if next((o.version for o in net.opset_import if o.domain in ("", "ai.onnx")), OPSET) < 13:
        net = onnx.version_converter.convert_version(net, 13)
    image_in, image_out = _image_io(net, spec)
    in_type, out_type = image_in.type.tensor_type.elem_type, image_out.type.tensor_type.elem_type
    net = onnx.compose.add_prefix(net, NET_SCOPE)
    from edgecolor.graph.precision import name_nodes

    name_nodes(net)
    pre, post = GraphBuilder(PRE_SCOPE), GraphBuilder(POST_SCOPE)
    bgr = pre.frame_to_nchw(FRAME)
    x = _channel_affine(pre, bgr, spec, inverse=False)
    if spec.size is not None:
        x = pre.resize_to(x, spec.size)
    elif spec.multiple > 1:
        x = pad_to_multiple(pre, x, spec.multiple)
    if spec.layout == "nhwc":
        x = pre.op("Transpose", [x], perm=[0, 2, 3, 1])
    if in_type != TensorProto.FLOAT:
        x = pre.op("Cast", [x], to=in_type)
    pre.op("Identity", [x], NET_SCOPE + image_in.name)
    y = NET_SCOPE + image_out.name
    if out_type != TensorProto.FLOAT:
        y = post.op("Cast", [y], to=TensorProto.FLOAT)
    if spec.layout == "nhwc":
        y = post.op("Transpose", [y], perm=[0, 3, 1, 2])
    y = _channel_affine(post, y, spec, inverse=True)
    y = post.resize_like(y, bgr) if spec.size is not None else crop_like(post, y, bgr)
    post.nchw_to_frame(y, FRAME_OUT)

    frozen: list[onnx.TensorProto] = []
    scalars: list[ExtraInput] = []
    net_inputs = {i.name.removeprefix(NET_SCOPE): i for i in net.graph.input}
    for key, value in spec.extras.items():
        if key not in net_inputs:
            raise InputError(
                f"adapter extra '{key}' is not an input of the network", f"inputs: {', '.join(net_inputs)}"
            )
        dims = [d.dim_value for d in net_inputs[key].type.tensor_type.shape.dim]
        arr = np.asarray(value, np.float32).reshape(
            dims if np.prod(dims or [1]) == np.size(value) else np.shape(value)
        )
        if isinstance(value, tuple):  # vector extras are frozen constants
            frozen.append(numpy_helper.from_array(arr, NET_SCOPE + key))
            continue
        pre.nodes.append(
            helper.make_node(
                "Reshape",
                [key, pre.const(list(arr.shape), "shape", dtype=np.int64)],
                [NET_SCOPE + key],
                name=f"{PRE_SCOPE}extra_{key}",
            )
        )
        scalars.append(ExtraInput(key, float(value), "network input (adapter default)"))
    info = FrameModelInfo(adapter=spec.describe(), name=name, source="wrapped by edgecolor's adapter")
    return assemble_wrapped(net, [pre, post], FrameModelSpec(spec.task, None, None, info, scalars), name, frozen)
