"""The colorizer frame model cut where ``edgecolor tune`` needs it: encoder, decoder, colour math.

``tune`` adapts the decoder of edgecolor's colorizer (:mod:`edgecolor.models.colorizer`: a U-Net whose blocks are
resize -> concat with an encoder feature -> 3x3 conv -> ReLU, then a 3x3 head and a constant scale) and keeps the
rest of the model as it is. Here, without PyTorch:

- :func:`find_decoder` walks the graph back from the network's chroma output and names the encoder features the
  decoder reads and the decoder's weights (PyTorch's export folds each batch norm into its convolution, so a block
  is a convolution with a bias);
- :func:`encoder_model` and :func:`colour_model` are the graph before and after the decoder, run by ONNX Runtime:
  the frozen encoder's features come from the model itself (whatever its encoder's weights), and the output frame
  from its own colour math (chroma curve, colour strength, upsampling), so nothing is re-implemented;
- :func:`with_decoder` writes new decoder weights into a copy of the model, everything else unchanged;
- :func:`with_site_prior` adds (or replaces) the site prior: a luma lookup of a site's mean chroma, added to the
  decoder's output, so the decoder learns only what the lookup gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgecolor.errors import ModelError
from edgecolor.graph.contract import (
    FRAME,
    FRAME_OUT,
    NET_CHROMA,
    NET_LUMA,
    PRIOR_CHROMA,
    PRIOR_SCOPE,
    PRIOR_TABLE,
    RAW_CHROMA,
    FrameModelInfo,
)
from edgecolor.graph.pieces import GraphBuilder

NOT_OURS = ("tune adapts edgecolor's own colorizer: pass --model colorizer or a model from edgecolor train or tune "
            "colorizer")


@dataclass(frozen=True)
class Block:
    """One decoder convolution: its weight and bias initializers and whether a ReLU follows."""

    weight: str
    bias: str
    relu: bool


@dataclass(frozen=True)
class DecoderGraph:
    """``taps``: the encoder features the decoder reads, finest (stride 2) first, the deepest last; ``blocks``: the
    decoder's convolutions in execution order (one per skip feature, then the head); ``scale``: the constant the
    head's output is multiplied by (1 for the quantised-chroma head); ``chroma``: the network's chroma before any
    chroma curve (the decoder's output, plus the site prior when there is one); ``residual``: the decoder's own
    output; ``prior``: whether a site prior (:func:`with_site_prior`) is added to it; ``centres``: for the
    quantised-chroma head (``edgecolor train colorizer --head classes``) the initializer of its chroma cells'
    centres, ``[cells, 2]``, and ``temperature`` the annealed mean's: its head is logits over the cells and the
    chroma their mean under ``softmax(logits / temperature)``; empty for the regression head."""

    taps: tuple[str, ...]
    blocks: tuple[Block, ...]
    scale: float
    chroma: str
    residual: str
    prior: bool = False
    centres: str = ""
    temperature: float = 1.0


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in model.graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t) if n.attribute and n.attribute[0].name == "value" else None
    return None


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def network_chroma(model: onnx.ModelProto) -> tuple[str, bool]:
    """The tensor of a colorizer's network chroma before any chroma curve (what a site prior is added to, whichever
    head made it), and whether a site prior (:func:`with_site_prior`) is added to it already."""
    producer = {o: n for n in model.graph.node for o in n.output}
    chroma = RAW_CHROMA if RAW_CHROMA in producer else NET_CHROMA
    add = producer.get(chroma)
    return chroma, add is not None and add.op_type == "Add" and PRIOR_CHROMA in add.input


def find_decoder(model: onnx.ModelProto, name: str = "the model") -> DecoderGraph:
    """The decoder of colorizer frame model ``model``; a :class:`ModelError` (one line, naming ``name``) when the
    graph is not edgecolor's colorizer (an adapter-wrapped or style model)."""
    if not FrameModelInfo.read(model).own_colorizer:
        raise ModelError(f"{name} is not one of edgecolor's colorizers", NOT_OURS)
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name for t in model.graph.initializer}
    chroma, prior = network_chroma(model)

    def node(tensor: str, op: str) -> onnx.NodeProto:
        found = producer.get(tensor)
        if found is None or found.op_type != op:
            raise ModelError(f"{name}'s network does not end in edgecolor's U-Net decoder (expected {op} before "
                             f"{tensor[:60]})", NOT_OURS)
        return found

    def conv(found: onnx.NodeProto, relu: bool) -> Block:
        a = _attrs(found)
        k = list(a.get("kernel_shape", [0, 0]))
        plain = (len(found.input) == 3 and found.input[1] in inits and found.input[2] in inits
                 and k in ([3, 3], [1, 1]) and a.get("group", 1) == 1 and list(a.get("strides", [1, 1])) == [1, 1]
                 and list(a.get("dilations", [1, 1])) == [1, 1]
                 and list(a.get("pads", [0, 0, 0, 0])) == [k[0] // 2] * 4)
        if not plain:
            raise ModelError(f"{name}'s decoder convolution {found.name[:40]} is not a padded 3x3 (or a 1x1) with "
                             "bias", NOT_OURS)
        return Block(found.input[1], found.input[2], relu)

    residual = chroma
    if prior:
        residual = next(i for i in producer[chroma].input if i != PRIOR_CHROMA)
    centres, temperature = "", 1.0
    if producer.get(residual) is not None and producer[residual].op_type == "Transpose":
        # the quantised-chroma head (edgecolor.models.colorizer.ClassHead): Conv -> Transpose to NHWC -> Div by the
        # temperature -> Softmax over the cells -> MatMul by their centres -> Transpose back
        mean = node(node(residual, "Transpose").input[0], "MatMul")
        softmax = node(mean.input[0], "Softmax")
        div = node(softmax.input[0], "Div")
        t = _constant(model, div.input[1])
        cells = _constant(model, mean.input[1])
        if (t is None or t.size != 1 or cells is None or cells.ndim != 2 or cells.shape[1] != 2
                or _attrs(softmax).get("axis") not in (-1, 3)):
            raise ModelError(f"{name}'s quantised-chroma head is not the annealed mean of its cells", NOT_OURS)
        centres, temperature, scale = mean.input[1], float(t.ravel()[0]), np.ones(1, np.float32)
        head = node(node(div.input[0], "Transpose").input[0], "Conv")
    else:
        mul = node(residual, "Mul")
        found_scale = _constant(model, mul.input[1])
        if found_scale is None or found_scale.size != 1:
            raise ModelError(f"{name}'s chroma output is not scaled by a constant", NOT_OURS)
        scale = found_scale
        head = node(mul.input[0], "Conv")
    blocks, skips = [conv(head, relu=False)], []
    x = head.input[0]
    while True:
        relu = node(x, "Relu")
        block = node(relu.input[0], "Conv")
        concat = node(block.input[0], "Concat")
        if len(concat.input) != 2 or _attrs(concat).get("axis") != 1:
            raise ModelError(f"{name}'s decoder joins its features in another way", NOT_OURS)
        resize = node(concat.input[0], "Resize")
        blocks.append(conv(block, relu=True))
        skips.append(concat.input[1])
        x = resize.input[0]
        if producer.get(x) is None or producer[x].op_type != "Relu":
            break  # the deepest encoder feature
    return DecoderGraph(taps=(*skips, x), blocks=tuple(reversed(blocks)), scale=float(scale.ravel()[0]),
                        chroma=chroma, residual=residual, prior=prior, centres=centres, temperature=temperature)


def head_centres(model: onnx.ModelProto, decoder: DecoderGraph) -> np.ndarray | None:
    """The quantised-chroma head's cell centres (``float32 [cells, 2]``), or None for the regression head."""
    if not decoder.centres:
        return None
    found = _constant(model, decoder.centres)
    return None if found is None else found.astype(np.float32)


def decoder_weights(model: onnx.ModelProto, decoder: DecoderGraph) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each decoder block's (weight, bias) as float32 arrays, in :attr:`DecoderGraph.blocks` order."""
    arrays = {t.name: t for t in model.graph.initializer}
    return [(numpy_helper.to_array(arrays[b.weight]).astype(np.float32),
             numpy_helper.to_array(arrays[b.bias]).astype(np.float32)) for b in decoder.blocks]


def with_decoder(model: onnx.ModelProto, decoder: DecoderGraph,
                 weights: list[tuple[np.ndarray, np.ndarray]]) -> onnx.ModelProto:
    """A copy of ``model`` whose decoder holds ``weights`` (same shapes as :func:`decoder_weights`)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    by_name = {t.name: t for t in out.graph.initializer}
    for block, (w, b) in zip(decoder.blocks, weights, strict=True):
        for tensor, value in ((block.weight, w), (block.bias, b)):
            old = by_name[tensor]
            if tuple(old.dims) != value.shape:
                raise ValueError(f"{tensor}: shape {value.shape}, the model has {tuple(old.dims)}")
            old.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), tensor))
    return out


def prior_table(model: onnx.ModelProto) -> np.ndarray | None:
    """The site prior's table of a model that has one (``float32 [256, 2]``), else None."""
    if not network_chroma(model)[1]:
        return None
    found = _constant(model, PRIOR_TABLE)
    if found is None:
        raise ModelError("the model's site prior has no table", NOT_OURS)
    return found.astype(np.float32)


def prior_levels(luma: np.ndarray) -> np.ndarray:
    """The site prior's table level of each network luma value (0..255): rounded half up, clipped, as
    :func:`with_site_prior`'s graph does (half up, not numpy's half to even: the CPU split path's OpenCV luma
    and the graph's differ by float noise, and half up flips fewer levels between them)."""
    return np.clip(np.floor(np.asarray(luma, np.float32) + 0.5), 0, 255).astype(np.int64)


def with_site_prior(model: onnx.ModelProto, table: np.ndarray) -> onnx.ModelProto:
    """A copy of ``model`` whose network chroma is the decoder's output (either head's) plus the site prior of ``table``
    (``float32 [256, 2]``, mean centred chroma per luma level: :class:`edgecolor.models.lookup.LumaLookup`), looked up
    at each pixel of the network's luma :data:`NET_LUMA` and averaged over 2 x 2 pixels to the decoder's output
    (half the network's size). A model that has a prior gets ``table`` in its place. Every engine runs it: it is
    Add, Floor, Clip, Cast, Gather, Transpose and AveragePool inside the network's scope."""
    table = np.ascontiguousarray(table, np.float32)
    if table.shape != (256, 2):
        raise ValueError(f"a site prior table is float32 [256, 2], got {table.shape}")
    chroma, has_prior = network_chroma(model)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    if has_prior:
        old = next(t for t in graph.initializer if t.name == PRIOR_TABLE)
        old.CopyFrom(numpy_helper.from_array(table, PRIOR_TABLE))
        return out
    nodes = list(graph.node)
    head = next(n for n in nodes if chroma in n.output)
    residual = PRIOR_SCOPE + "residual"
    head.output[:] = [residual if o == chroma else o for o in head.output]
    b = GraphBuilder(PRIOR_SCOPE)
    level = b.op("Clip", [b.op("Floor", [b.op("Add", [NET_LUMA, b.const(0.5, "half")])]),
                          b.const(0.0, "lo"), b.const(255.0, "hi")])  # as prior_levels
    looked = b.op("Gather", [PRIOR_TABLE, b.op("Cast", [level], to=onnx.TensorProto.INT32)], axis=0)  # [N,1,S,S,2]
    per_pixel = b.op("Transpose", [b.op("Squeeze", [looked, b.const([1], "axis", dtype=np.int64)])],
                     perm=[0, 3, 1, 2])
    b.op("AveragePool", [per_pixel], PRIOR_CHROMA, kernel_shape=[2, 2], strides=[2, 2])
    b.op("Add", [residual, PRIOR_CHROMA], chroma)
    at = nodes.index(head) + 1
    nodes[at:at] = b.nodes
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend([numpy_helper.from_array(table, PRIOR_TABLE), *b.initializers])
    onnx.checker.check_model(out)
    return out


def _extract(model: onnx.ModelProto, inputs: list[str], outputs: list[str]) -> onnx.ModelProto:
    """The part of ``model`` that computes ``outputs`` from ``inputs`` (and initializers). onnx.utils.Extractor
    needs shape-inferred value infos, which the frame model's dynamic sizes leave out for inner tensors: here new
    inputs and outputs are float32 of unknown shape, the graph's own keep their types. An input that had an
    initializer (``colour_strength``) has none here: it is fed every run."""
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name: t for t in model.graph.initializer}
    declared = {v.name: v for v in [*model.graph.input, *model.graph.output]}
    needed, used, stack = set(), set(), list(outputs)
    while stack:
        tensor = stack.pop()
        if tensor in used or tensor in inputs or tensor == "":
            continue
        used.add(tensor)
        node = producer.get(tensor)
        if node is None:
            if tensor not in inits:
                raise ModelError(f"the model computes {tensor[:60]} from an input other than {', '.join(inputs)}",
                                 NOT_OURS)
            continue
        if id(node) not in needed:
            needed.add(id(node))
            stack.extend(node.input)
    nodes = [n for n in model.graph.node if id(n) in needed]
    read = {i for n in nodes for i in n.input}
    unread = [i for i in inputs if i not in read]
    if unread:  # the outputs do not depend on it: this is no cut there, and a value fed to it would be ignored
        raise ModelError(f"the model computes {', '.join(outputs)[:60]} without {', '.join(unread)[:60]}", NOT_OURS)

    def info(name: str) -> onnx.ValueInfoProto:
        return declared.get(name) or helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)

    graph = helper.make_graph(nodes, "part", [info(i) for i in inputs], [info(o) for o in outputs],
                              [t for name, t in inits.items() if name in used and name not in inputs])
    part = helper.make_model(graph, opset_imports=list(model.opset_import))
    part.ir_version = model.ir_version
    return part


def encoder_model(model: onnx.ModelProto, decoder: DecoderGraph, from_frame: bool) -> onnx.ModelProto:
    """The encoder alone: from the network's luma ``net/luma`` (``float32 [N, 1, S, S]``, training crops) or, with
    ``from_frame``, from the ``frame`` input (``uint8 [N, H, W, 3]``, through the model's own downscale), to the
    features the decoder reads (:attr:`DecoderGraph.taps`); from the frame, the network's luma is a last output
    (what a site prior looks up)."""
    if from_frame:
        return _extract(model, [FRAME], [*decoder.taps, NET_LUMA])
    return _extract(model, [NET_LUMA], list(decoder.taps))


def colour_model(model: onnx.ModelProto, decoder: DecoderGraph) -> onnx.ModelProto:
    """The model after the decoder: inputs ``frame`` (for its luma), the decoder's chroma and ``colour_strength``,
    output ``frame_out``: the output frame exactly as the whole model makes it from that chroma."""
    return _extract(model, [FRAME, decoder.chroma, "colour_strength"], [FRAME_OUT])
