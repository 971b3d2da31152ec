"""OpenVINO for a frame model's network on the CPU; the full-resolution colour math stays out of OpenVINO.

- Colorizers: the same split as :class:`~edgecolor.backends.onnxruntime.split.SplitColorizerEngine` (network cut out
  of the frame model, colour math in OpenCV), with the network compiled by OpenVINO's CPU plugin.
- Style models (:class:`OpenVinoStyleEngine`): the frame model cut in three at its ``net/`` boundary; the
  ``pre/`` and ``post/`` pieces run on ONNX Runtime (the same graph, so the same colour math), the network
  on OpenVINO.

Why only the network: on this project's AMD EPYC (Zen 4: AVX-512 VNNI and BF16, no AMX; OpenVINO 2026.4)
OpenVINO ran the networks 2-4 x faster than ONNX Runtime (FP32 hint, BF16 hint, and the Q/DQ graph, which
its low-precision transformations turn into u8 convolutions), but the whole style frame model 3 x slower
and with outputs up to 255 LSB off ONNX Runtime's (its dynamic-size pre/post ops; the network alone agrees
within 0.001 in FP32), so the frame's colour math stays where it is tested.

``precision``: OpenVINO's ``INFERENCE_PRECISION_HINT``: ``f32`` (FP32 everywhere; a Q/DQ graph still runs
its quantised convolutions in u8) or ``bf16`` (bfloat16 kernels where the CPU has AVX-512 BF16 or AMX; the
plugin silently falls back to f32 elsewhere, so the engine records what the plugin reports:
``inference_precision``). Needs the ``openvino`` extra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from edgecolor.backends.base import Engine
from edgecolor.backends.onnxruntime.engine import cpu_session_options
from edgecolor.backends.onnxruntime.split import SplitColorizerEngine
from edgecolor.choices import OpenVinoPrecision, Task
from edgecolor.errors import ModelError, require
from edgecolor.graph.contract import COLOUR_SCOPES, FRAME, NET_SCOPE, FrameModelInfo, check_frame_model, onnx_signature

log = logging.getLogger(__name__)
# The network is compiled for each input shape it meets (at most this many kept): OpenVINO's CPU plugin
# (2026.4, seen on an AVX2 EPYC) runs a Q/DQ graph with a dynamic input shape wrongly: it fails on the
# colorizer's gray-to-RGB Expand ("Reorder node ... Can not clone with new dims") and, without it, gives a
# chroma error of 127 (mean |error|; the chroma's own mean is 19); the same graph reshaped to a static shape
# is as close to FP32 as ONNX Runtime INT8 (8.5 against 9.4). A style network without Q/DQ nodes runs correctly
# with its dynamic shape, compiled once (``dynamic``): at 512x512 33 ms against 31 ms reshaped to the frame's
# shape, and a folder of photos of many sizes compiles nothing more.
MAX_SHAPES = 4
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def compile_network(network: onnx.ModelProto, precision: OpenVinoPrecision, threads: int,
                    remedy: str, dynamic: bool = False) -> tuple[Callable[[list[np.ndarray]], np.ndarray], str]:
    """``(run, inference_precision)``: the network compiled for OpenVINO's CPU plugin, and the precision the
    plugin reports it uses (``bf16``, or ``f32`` where the CPU has no bfloat16 kernels). Compiled for each input
    shape it meets, or with ``dynamic`` once for every shape (:data:`MAX_SHAPES`)."""
    ov = require("openvino", "openvino")
    if any(n.domain not in ("", "ai.onnx") for n in network.graph.node):
        raise ModelError(
            "this network has ONNX Runtime-specific fused ops (a CPU engine from 'edgecolor build' for ONNX "
            "Runtime is saved ONNX Runtime-optimised), which OpenVINO cannot read",
            "build the engine for OpenVINO (edgecolor build MODEL --target cpu --cpu-backend openvino), "
            "give OpenVINO the frame model itself, or use --cpu-path split",
        )
    core = ov.Core()
    config: dict[str, object] = {"INFERENCE_PRECISION_HINT": str(precision), "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    serialized = network.SerializeToString()
    compiled: dict[tuple[tuple[int, ...], ...], tuple[Any, Any]] = {}

    def compile_for(shapes: tuple[tuple[int, ...], ...] | None) -> tuple[Any, Any]:
        """The network compiled for these input shapes (None: as the graph declares them)."""
        try:
            model = core.read_model(serialized, b"")
            if shapes is not None:
                model.reshape({port.get_any_name(): list(shape) for port, shape in zip(model.inputs, shapes,
                                                                                       strict=True)})
            done = core.compile_model(model, "CPU", config)
        except RuntimeError as exc:  # OpenVINO reports conversion / compile failures as RuntimeError
            raise ModelError(f"OpenVINO cannot compile this network: {str(exc).splitlines()[0][:160]}",
                             remedy) from exc
        return done, done.create_infer_request()

    first = compile_for(None)  # fails here, when the engine opens, for a network OpenVINO cannot read
    checked = first[0]
    if dynamic:
        compiled[()] = first
    used = checked.get_property("INFERENCE_PRECISION_HINT")  # an openvino Type: to_string() gives "bf16"
    used_text = used.to_string() if hasattr(used, "to_string") else str(used)
    log.info("OpenVINO network compiled: asked %s, plugin uses %s", precision, used_text)

    def run(inputs: list[np.ndarray]) -> np.ndarray:
        shapes = () if dynamic else tuple(tuple(int(d) for d in x.shape) for x in inputs)
        if shapes not in compiled:
            if len(compiled) >= MAX_SHAPES:  # a folder of many sizes: keep the newest few compiled
                compiled.pop(next(iter(compiled)))
            compiled[shapes] = compile_for(shapes)
        done, request = compiled[shapes]
        result = request.infer(inputs)
        return np.asarray(result[done.outputs[0]], np.float32)

    return run, used_text


class OpenVinoColorizerEngine(SplitColorizerEngine):
    """Colorizer frame model on the CPU: network on OpenVINO, colour math in OpenCV (same contract)."""

    backend = "openvino+opencv"

    def __init__(self, model: str | Path | onnx.ModelProto, threads: int = 0, precision: str = "f32",
                 name: str | None = None) -> None:
        self.precision = OpenVinoPrecision.parse(precision, "OpenVINO precision")
        super().__init__(model, threads, name)
        self.backend = f"openvino-{self.precision}+opencv"

    def _core_runner(self, core: onnx.ModelProto, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        run, self.inference_precision = compile_network(core, self.precision, threads, "use --cpu-path split")
        return lambda luma: run([luma])


def _cut(model: onnx.ModelProto) -> tuple[list[str], list[str], list[str]]:
    """``(network inputs, network outputs, pre tensors the post piece also reads)`` at the ``net/`` boundary.
    The network's nodes make only ``net/...`` tensors and are not the frame pieces' own (``pre/``, ``post/``)."""
    pieces = COLOUR_SCOPES

    def in_network(n: onnx.NodeProto) -> bool:
        return not n.name.startswith(pieces) and bool(n.output) and all(o.startswith(NET_SCOPE) for o in n.output)

    in_net = [n for n in model.graph.node if in_network(n)]
    made_in_net = {o for n in in_net for o in n.output}
    outside = [n for n in model.graph.node if not in_network(n)]
    made_outside = {o for n in outside for o in n.output}
    net_in = sorted({i for n in in_net for i in n.input if i in made_outside})
    net_out = sorted({i for n in outside for i in n.input if i in made_in_net})
    post_nodes, frontier = [], set(net_out)
    for n in outside:  # nodes are topologically sorted: a node reading a post tensor is a post node
        if frontier & set(n.input):
            post_nodes.append(n)
            frontier |= set(n.output)
    post_made = frontier
    inits = {i.name for i in model.graph.initializer}
    graph_inputs = {i.name for i in model.graph.input}
    shared = sorted({i for n in post_nodes for i in n.input
                     if i and i not in post_made and (i not in inits or i in graph_inputs)})
    if not net_in or not net_out or not in_net:
        raise ModelError(f"this frame model has no {NET_SCOPE} network to cut out for OpenVINO",
                         "run it on ONNX Runtime (--cpu-path graph)")
    return net_in, net_out, shared


class OpenVinoStyleEngine(Engine):
    """A style frame model: ``pre/`` and ``post/`` on ONNX Runtime, the ``net/`` network on OpenVINO."""

    def __init__(self, model: onnx.ModelProto, threads: int = 0, precision: str = "f32",
                 name: str | None = None) -> None:
        super().__init__()
        label = self.name = name or "the model"
        self.precision = OpenVinoPrecision.parse(precision, "OpenVINO precision")
        check_frame_model(*onnx_signature(model), label)
        self.info = FrameModelInfo.read(model)
        self.defaults = self.info.defaults()
        net_in, net_out, shared = _cut(model)
        if len(net_in) != 1 or len(net_out) != 1:
            raise ModelError(f"{label}'s network has {len(net_in)} inputs and {len(net_out)} outputs; the OpenVINO "
                             "style path cuts out a one-in, one-out network", "run it on ONNX Runtime")
        inferred = onnx.shape_inference.infer_shapes(model)  # the extractor looks tensors up in value_info
        graph_inputs = [i.name for i in model.graph.input]
        extract = onnx.utils.Extractor(inferred).extract_model
        to_post = [t for t in shared if t not in graph_inputs]
        pre = extract(graph_inputs, [*net_in, *to_post])
        post = extract([*net_out, *shared], [o.name for o in model.graph.output])
        (self._net_in,), (self._net_out,), self._to_post = net_in, net_out, to_post
        self._pre, self._post = self._session(pre, threads), self._session(post, threads)
        network = extract(net_in, net_out)
        self._run_net, self.inference_precision = compile_network(
            network, self.precision, threads, "run it on ONNX Runtime (--cpu-path graph)",
            dynamic=not any(n.op_type in QDQ_OPS for n in network.graph.node))
        self.backend = f"openvino-{self.precision}+onnxruntime"

    @staticmethod
    def _session(piece: onnx.ModelProto, threads: int) -> Any:
        ort = require("onnxruntime", "core")
        opts = cpu_session_options(threads, spin=False)  # OpenVINO's network needs the cores next
        return ort.InferenceSession(piece.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def _feeds(session: Any, known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [i.name for i in [*session.get_inputs(), *session.get_overridable_initializers()]]
        return {n: known[n] for n in names if n in known}  # extra inputs are initializers: overridable

    def _infer_impl(self, batch: np.ndarray, extra: dict[str, float]) -> np.ndarray:
        known: dict[str, np.ndarray] = {FRAME: batch, **{k: np.asarray(v, np.float32) for k, v in extra.items()}}
        pre_out = self._pre.run([self._net_in, *self._to_post], self._feeds(self._pre, known))
        known |= dict(zip([self._net_in, *self._to_post], pre_out, strict=True))
        known[self._net_out] = self._run_net([known[self._net_in]])
        return self._post.run(None, self._feeds(self._post, known))[0]


def open_openvino(model: onnx.ModelProto, precision: str, threads: int = 0, name: str | None = None) -> Engine:
    """The OpenVINO engine for a frame model: the colorizer split (OpenCV colour math) or the style cut."""
    if FrameModelInfo.read(model).task == Task.COLORIZE:
        return OpenVinoColorizerEngine(model, threads=threads, precision=precision, name=name)
    return OpenVinoStyleEngine(model, threads=threads, precision=precision, name=name)
