"""Export trained PyTorch networks to frame-model ONNX files."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import onnx
import torch

from edgecolor.graph.colorizer import colorizer_frame_model
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.pieces import OPSET
from edgecolor.models.colorizer import ENCODER_BLOCKS, NET_SIZE, Colorizer

log = logging.getLogger(__name__)


def export_core(model: torch.nn.Module, example: torch.Tensor, in_name: str, out_name: str,
                dynamic_hw: bool = False) -> onnx.ModelProto:
    """The bare network as ONNX (dynamic batch; spatial size fixed unless ``dynamic_hw``), via the
    TorchScript exporter."""
    buf = io.BytesIO()
    axes = {0: "N", 2: "h", 3: "w"} if dynamic_hw else {0: "N"}
    torch.onnx.export(
        model.eval(), (example,), buf,  # type: ignore[arg-type]  # file-like objects are accepted
        input_names=[in_name], output_names=[out_name], opset_version=OPSET,
        dynamic_axes={in_name: axes, out_name: axes}, dynamo=False,
    )
    return onnx.load_from_string(buf.getvalue())


def load_colorizer(weights: Path) -> Colorizer:
    state = torch.load(weights, map_location="cpu", weights_only=False)
    state = state["model"] if "model" in state else state
    widths = tuple(int(state[f"ups.{i}.0.weight"].shape[0]) for i in range(4))  # the decoder's width, as trained
    head = "classes" if "head.logits.weight" in state else "regression"
    blocks = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.blocks."))
    encoder = next(name for name, n in ENCODER_BLOCKS.items() if n == blocks)
    model = Colorizer(pretrained=False, decoder_channels=widths, head=head, encoder=encoder)
    model.load_state_dict(state)
    return model.eval()


def export_colorizer(model: Colorizer, out: Path, info: FrameModelInfo, colour_strength: float,
                     chroma_gamma: float = 0.0) -> onnx.ModelProto:
    core = export_core(model, torch.zeros(1, 1, NET_SIZE, NET_SIZE), "luma", "chroma")
    frame_model = colorizer_frame_model(core, NET_SIZE, info, colour_strength, chroma_gamma)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    onnx.save(frame_model, tmp)
    tmp.replace(out)
    log.info("wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return frame_model
