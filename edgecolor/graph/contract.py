"""The frame-model contract: tensor names, scopes, signatures and the ``edgecolor.*`` metadata a model records.

A *frame model* is an ONNX graph with input :data:`FRAME` and output :data:`FRAME_OUT`: ``uint8 [N, H, W, 3]``
BGR, N/H/W dynamic. Extra inputs (e.g. ``colour_strength``) are float32 scalars that also have an initializer:
the initializer is the default (ONNX IR >= 4), recorded in the ``extra_inputs`` metadata too.

Inside, edgecolor's own frame models name their nodes by scope: :data:`PRE_SCOPE` (colour math before the
network), :data:`NET_SCOPE` (the network, where precision recipes and the OpenVINO/CPU fast paths act) and
:data:`POST_SCOPE` (colour math after). A colorizer's network boundary is :data:`NET_LUMA` -> :data:`NET_CHROMA`.

This module is the only code that spells those names and the metadata keys: a frame model's metadata is read
once into a frozen :class:`FrameModelInfo` and written once from one (a test scans the package for strays).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgecolor.choices import Task
from edgecolor.errors import EdgecolorError, ModelError

if TYPE_CHECKING:
    import onnx

FRAME = "frame"
FRAME_OUT = "frame_out"  # ONNX names are single-assignment: the output cannot reuse the input's name

PRE_SCOPE, NET_SCOPE, POST_SCOPE = "pre/", "net/", "post/"
COLOUR_SCOPES = (PRE_SCOPE, POST_SCOPE)
# A colorizer frame model's network boundary: luma [N, 1, S, S] in, chroma [N, 2, S/2, S/2] out. The CPU fast
# path and OpenVINO cut the network out between these two tensors.
NET_LUMA, NET_CHROMA = NET_SCOPE + "luma", NET_SCOPE + "chroma"
# The chroma curve's nodes, inside the network's scope (every engine and precision runs it), and the network's
# chroma before the curve.
CURVE_SCOPE = NET_SCOPE + "curve/"
RAW_CHROMA = NET_SCOPE + "raw_chroma"
# A tuned colorizer's site prior (edgecolor tune colorizer): a 256-level luma lookup of the site's mean chroma,
# pooled to the network's output and added to it, inside the network's scope; its table and its output.
PRIOR_SCOPE = NET_SCOPE + "site_prior/"
PRIOR_TABLE, PRIOR_CHROMA = PRIOR_SCOPE + "table", PRIOR_SCOPE + "chroma"

MAX_NET_SIZE = 8192
ADAPTER_REMEDY = "wrap the network with an adapter spec: edgecolor build MODEL --adapter SPEC"
DEFAULTS_REMEDY = "give each extra input an initializer (its default) in the frame model"
METADATA_PREFIX = "edgecolor."


@dataclass(frozen=True)
class TensorSig:
    """One graph or engine input/output as the contract sees it: numpy dtype name and shape (an int, or a
    symbol / None for a dynamic dimension; ``shape=None``: rank unknown)."""

    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


@dataclass(frozen=True)
class ExtraInput:
    """A scalar float input with a default (its initializer)."""

    name: str
    default: float
    doc: str


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
    from onnx import helper

    inits = {t.name for t in model.graph.initializer}

    def sig(vi: onnx.ValueInfoProto) -> TensorSig:
        tt = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name if tt.elem_type else "undefined"
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim) \
            if tt.HasField("shape") else None
        return TensorSig(vi.name, dtype, shape)

    return [sig(i) for i in model.graph.input if i.name not in inits], [sig(o) for o in model.graph.output]


def frame_value_info(name: str) -> onnx.ValueInfoProto:
    """``uint8 [N, H, W, 3]``: the type of :data:`FRAME` and :data:`FRAME_OUT`."""
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.UINT8, ["N", "H", "W", 3])


def extra_defaults(spec: str | Mapping[str, Any] | None, what: str, remedy: str,
                   bare_values: bool = False) -> dict[str, float]:
    """Defaults of a model's extra scalar inputs from their record: JSON text or a mapping of name to
    ``{"default": value}`` (frame-model metadata) or, with ``bare_values``, to the value itself (manifests).
    A malformed record (not JSON, nested too deep, a default that is not a finite number) raises ModelError
    ``"{what} malformed (...)"`` with ``remedy``."""
    from edgecolor import jsonio

    try:
        extras = jsonio.loads(spec, "the record", ModelError) if isinstance(spec, str) else (spec or {})
    except ModelError as err:
        raise ModelError(f"{what} malformed ({err.problem[:80]})", remedy) from err
    if not isinstance(extras, Mapping):
        raise ModelError(f"{what} malformed (not a JSON object)", remedy)
    defaults = {}
    for name, entry in extras.items():
        value = entry if bare_values and not isinstance(entry, dict) else (
            entry.get("default") if isinstance(entry, dict) else None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelError(f"{what} malformed ('{str(name)[:40]}' has no finite numeric 'default')", remedy)
        defaults[str(name)] = float(value)
    return defaults


@dataclass(frozen=True)
class FrameModelInfo:
    """What a frame model records about itself, in ONNX ``metadata_props`` under ``edgecolor.<field>``.

    Read once (:meth:`read`, :meth:`from_props`), written once (:meth:`write`); JSON-valued fields stay text
    here and are parsed where they are used (:meth:`record`). Keys that are not edgecolor's are kept, in
    ``foreign``, so a rewrite loses nothing."""

    task: str | None = None  # "colorize" | "stylize"; None: not recorded (foreign or hand-made)
    net_size: str | None = None  # the network's square input side (checked by :meth:`checked_net_size`)
    colour_space: str | None = None
    extra_inputs: str | None = None  # JSON: {name: {"default": value, "doc": text}}
    name: str | None = None
    version: str | None = None
    architecture: str | None = None
    source: str | None = None
    training_data: str | None = None
    training: str | None = None  # JSON: the training run's configuration and figures
    colour_strength_validation: str | None = None  # JSON: how the default strength was chosen
    model_selection: str | None = None  # JSON: the checkpoint-selection record
    tuning: str | None = None  # JSON: how ``edgecolor tune`` adapted the model to a site (base, photos, steps, scores)
    chroma_curve: str | None = None  # JSON: the chroma curve's exponent, reference and cap
    adapter: str | None = None  # the adapter spec of a wrapped foreign network
    style: str | None = None
    style_source: str | None = None
    style_licence: str | None = None
    loss: str | None = None
    foreign: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_props(cls, props: Mapping[str, str]) -> FrameModelInfo:
        fields = {f.name for f in dataclasses.fields(cls)} - {"foreign"}
        known: dict[str, str] = {}
        foreign = []
        for key, value in props.items():
            field_name = key[len(METADATA_PREFIX):] if key.startswith(METADATA_PREFIX) else None
            if field_name in fields:
                known[field_name] = value
            else:
                foreign.append((key, value))
        return cls(**known, foreign=tuple(foreign))

    @classmethod
    def read(cls, model: onnx.ModelProto) -> FrameModelInfo:
        return cls.from_props({p.key: p.value for p in model.metadata_props})

    @classmethod
    def read_file(cls, path: str | Path) -> FrameModelInfo:
        """The record of the frame model at ``path``, without loading its weights."""
        import onnx

        return cls.read(onnx.load(str(path), load_external_data=False))

    def props(self) -> dict[str, str]:
        out = dict(self.foreign)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "foreign" and value is not None:
                out[METADATA_PREFIX + f.name] = value
        return out

    def write(self, model: onnx.ModelProto) -> None:
        """Replace ``model``'s metadata with this record."""
        from onnx import helper

        del model.metadata_props[:]
        helper.set_model_props(model, self.props())

    def replace(self, **changes: str | None) -> FrameModelInfo:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def runs_as(self) -> str:
        """The task the builder gates the model for: its recorded task; one recording none is an image-to-image
        network (gated as a style is). Commands that run a task refuse a model recording none
        (:func:`edgecolor.backends.check_task`)."""
        return self.task or Task.STYLIZE

    @property
    def adapted(self) -> bool:
        """A foreign network wrapped by edgecolor's adapter (its own colour math, not edgecolor's contract)."""
        return self.adapter is not None

    @property
    def own_colorizer(self) -> bool:
        """edgecolor's colorizer contract: a ``net/luma -> net/chroma`` network inside edgecolor's colour math."""
        return self.task == Task.COLORIZE and not self.adapted

    def record(self, field_name: str, label: str, error: type[EdgecolorError] = ModelError) -> Any:
        """The JSON field ``field_name`` parsed (bounded, :mod:`edgecolor.jsonio`), or None when absent."""
        from edgecolor import jsonio

        text = getattr(self, field_name)
        return None if text is None else jsonio.loads(text, f"{label}'s {METADATA_PREFIX}{field_name} metadata",
                                                       error)

    def checked_net_size(self, label: str) -> int:
        """The recorded network side, checked to be a size in 2..:data:`MAX_NET_SIZE`."""
        text = self.net_size
        if text is None or not re.fullmatch(r"[0-9]{1,5}", text) or not 2 <= int(text) <= MAX_NET_SIZE:
            shown = "missing" if text is None else repr(text[:20])
            raise ModelError(f"{label}'s {METADATA_PREFIX}net_size metadata is {shown}, not a size in "
                             f"2..{MAX_NET_SIZE}", "re-export the frame model (edgecolor train ... writes it)")
        return int(text)

    def defaults(self) -> dict[str, float]:
        """The extra inputs' defaults, checked (:func:`extra_defaults`)."""
        return extra_defaults(self.extra_inputs, METADATA_WHAT, METADATA_REMEDY)


METADATA_WHAT = f"the model's {METADATA_PREFIX}extra_inputs metadata is"
METADATA_REMEDY = 're-export the frame model (its metadata maps each extra input to {"default": value})'
TASK_WHERE = f"its {METADATA_PREFIX}task metadata"
