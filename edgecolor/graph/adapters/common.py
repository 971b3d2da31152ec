"""What both adapters share: the limits of a spec, the pieces that pad a frame to a multiple and crop it back, and
:func:`assemble_wrapped`, which joins a foreign network with edgecolor's pre/post pieces."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from edgecolor.graph.pieces import IR_VERSION, OPSET, FrameModelSpec, GraphBuilder, assemble

FLOATS = {TensorProto.FLOAT, TensorProto.FLOAT16}  # the tensor types an adapted network may take and return
MAX_SIDE = 8192  # fixed network sizes beyond this are typos, and would allocate a lot
MAX_MULTIPLE = 1024


def dims(vi: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in vi.type.tensor_type.shape.dim]


def pad_to_multiple(b: GraphBuilder, x: str, k: int) -> str:
    """Edge-pad NCHW ``x`` at the bottom/right so H and W are multiples of ``k``."""
    hw = b.dims(x, 2, 4)
    kk = b.const([k, k], dtype=np.int64)
    pad_hw = b.op("Mod", [b.op("Sub", [kk, b.op("Mod", [hw, kk])]), kk])
    pads = b.op("Concat", [b.const([0, 0, 0, 0, 0, 0], dtype=np.int64), pad_hw], axis=0)
    return b.op("Pad", [x, pads], mode="edge")


def crop_like(b: GraphBuilder, x: str, ref: str) -> str:
    hw = b.dims(ref, 2, 4)
    return b.op("Slice", [x, b.const([0, 0], dtype=np.int64), hw, b.const([2, 3], dtype=np.int64)])


def assemble_wrapped(net: onnx.ModelProto, pieces: list[GraphBuilder], spec: FrameModelSpec, name: str,
                     constants: list[onnx.TensorProto] | None = None) -> onnx.ModelProto:
    """:func:`edgecolor.graph.pieces.assemble` for a foreign ``net/``-prefixed network between the ``pre/`` and
    ``post/`` pieces: the network's opsets and IR version are kept (the pieces are valid from opset 13 on)."""
    opsets = {o.domain: o.version for o in net.opset_import}
    opsets[""] = opsets.get("", OPSET)
    pre, post = pieces
    return assemble(spec, [pre, net, post], name, constants=constants, opsets=opsets,
                    ir_version=max(IR_VERSION, net.ir_version), producer="edgecolor-adapter", full_check=False)
