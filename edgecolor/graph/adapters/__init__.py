"""Adapters: wrap a user's own ONNX network (Zhang, DDColor, DeOldify, any image-to-image network) into a frame
model with edgecolor's colour math around it.

- :mod:`~edgecolor.graph.adapters.colorizer`: colorizers (presets ``zhang``, ``zhang-caffe``, ``ddcolor``,
  ``deoldify``, or keys ``input=``/``output=``);
- :mod:`~edgecolor.graph.adapters.image`: any image-to-image network (layout, order, range, size, extras);
- :mod:`~edgecolor.graph.adapters.common`: the limits and graph pieces both use.

:func:`adapt` reads ``--adapter`` text and picks the one it names.
"""

from __future__ import annotations

import onnx

from edgecolor.graph.adapters.colorizer import PRESETS, ColorizerSpec, json_spec_text, wrap_colorizer
from edgecolor.graph.adapters.image import AdapterSpec, wrap

__all__ = ["AdapterSpec", "ColorizerSpec", "adapt", "is_colorizer_spec", "wrap", "wrap_colorizer"]


def is_colorizer_spec(text: str) -> bool:
    """Whether ``--adapter`` text names a colorizer preset or colorizer keys (input=/output=)."""
    text = json_spec_text(text) or text
    first = text.split(",")[0].strip().lower()
    keys = {p.partition("=")[0].strip().lower() for p in text.split(",")}
    return first in PRESETS or bool(keys & {"input", "output", "preset"})


def adapt(net: onnx.ModelProto, text: str, name: str = "adapted") -> onnx.ModelProto:
    """Wrap ``net`` into a frame model per ``--adapter`` text: a colorizer preset/spec or an
    image-to-image spec."""
    if is_colorizer_spec(text):
        return wrap_colorizer(net, ColorizerSpec.parse(text), name)
    return wrap(net, AdapterSpec.parse(text), name)
