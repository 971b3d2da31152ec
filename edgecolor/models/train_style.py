"""Train a TransformerNet for one painting (``edgecolor train style``), with checkpoints and resume.

Content: random square crops of the corpus photos (scale 0.5..1 of the short side, flips), resized to
``crop`` pixels; the colorizer's validation photos (every 10th) are left out here too, so they stay
unseen by every shipped network. Style: the painting resized so its long side is ``style_size``.
Constant learning rate (Adam, as Johnson et al.), so a run stopped early by ``max_minutes`` is still a
finished model rather than one cut off halfway through a schedule.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from edgecolor.errors import InputError
from edgecolor.imageio import read_image
from edgecolor.models.style import LossWeights, NetConfig, PerceptualLoss, StyleArch, VGGFeatures, build_net
from edgecolor.models.train_colorizer import corpus_split, resolve_device
from edgecolor.models.train_loop import Progress, load_checkpoint, run_steps, save_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StyleTrainConfig:
    steps: int = 2000
    batch: int = 2
    crop: int = 128
    style_size: int = 256
    lr: float = 2e-3
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    palette_weight: float = 0.0
    palette: str = "moments"  # what the palette term compares: "moments" or "quantiles" (LossWeights.palette_kind)
    content: str = "colour"  # "luma": content loss on the gray images, colour left to the painting (LossWeights)
    channels: tuple[int, int, int] = NetConfig.channels
    res_blocks: int = NetConfig.res_blocks
    skip: bool = True
    arch: StyleArch = StyleArch.FAST
    padding: str = "reflect"  # FastStyleNet only; "zeros" for the first starry-night run (see NetConfig)
    ckpt_every: int = 25
    seed: int = 0
    max_minutes: float = 0.0  # 0 = no limit; otherwise checkpoint and stop after this long
    threads: int = 0  # torch CPU threads (0 = torch's default)
    device: str = "auto"


# Options that may differ between a run and its --resume.
_MAY_CHANGE = {"steps", "max_minutes", "threads", "ckpt_every", "device"}


def load_style_image(path: Path, long_side: int) -> np.ndarray:
    """The painting as BGR uint8 with its long side resized to ``long_side`` (or an InputError)."""
    img = read_image(path)
    h, w = img.shape[:2]
    if min(h, w) < 32:
        raise InputError(f"style image {path} is only {w}x{h}", "use a painting at least 256 pixels on its long side")
    s = long_side / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


class ContentSampler:
    def __init__(self, images: list[np.ndarray], crop: int, seed: int) -> None:
        self.images, self.crop = images, crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> np.ndarray:
        out = []
        for idx in self.rng.integers(0, len(self.images), size=n):
            img = self.images[idx]
            h, w = img.shape[:2]
            side = int(min(h, w) * self.rng.uniform(0.5, 1.0))
            y0, x0 = self.rng.integers(0, h - side + 1), self.rng.integers(0, w - side + 1)
            c = cv2.resize(img[y0 : y0 + side, x0 : x0 + side], (self.crop, self.crop), interpolation=cv2.INTER_AREA)
            out.append(c[:, ::-1] if self.rng.random() < 0.5 else c)
        return np.stack(out).transpose(0, 3, 1, 2).astype(np.float32)


def _bgr_tensor(img: np.ndarray, dev: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None].to(dev)


def train_style(
    style_image: Path,
    corpus: Path,
    out_dir: Path,
    cfg: StyleTrainConfig,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    init_from: Path | None = None,
) -> Path:
    """Train; returns ``out_dir/style.pt`` (weights + net config). Writes ``training.json`` beside it.
    ``init_from``: a new run starts from the network weights of that run's ``style.ckpt`` or ``style.pt`` (same
    network; its optimizer state and step count are not taken)."""
    style = load_style_image(style_image, cfg.style_size)
    entries, _ = corpus_split(corpus)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "style.ckpt"
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    net_cfg = NetConfig(tuple(cfg.channels), cfg.res_blocks, cfg.skip, StyleArch(cfg.arch), cfg.padding)
    net = build_net(net_cfg).to(dev)
    if cfg.content not in ("colour", "luma"):
        raise InputError(f"content must be 'colour' or 'luma', got {cfg.content!r}", "use --content luma or colour")
    if cfg.palette not in ("moments", "quantiles"):
        raise InputError(f"palette must be 'moments' or 'quantiles', got {cfg.palette!r}", "use --palette quantiles")
    weights = LossWeights(cfg.content_weight, cfg.style_weight, cfg.tv_weight, palette=cfg.palette_weight,
                          palette_kind=cfg.palette, content_luma=cfg.content == "luma")
    loss_fn = PerceptualLoss(VGGFeatures().to(dev), _bgr_tensor(style, dev), weights).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sampler = ContentSampler([read_image(corpus / e["file"]) for e in entries], cfg.crop, cfg.seed)
    at = Progress()
    ema: dict[str, float] = {}
    state = load_checkpoint(ckpt_path, dev, resume)
    started_from = None if state is None else state.get("started_from")
    if state is None and init_from is not None:
        started_from = str(init_from)
        start = torch.load(init_from, map_location=dev, weights_only=False)
        try:
            net.load_state_dict(start["model"])
        except (KeyError, RuntimeError) as exc:
            raise InputError(f"{init_from} holds no weights of this network ({str(exc).splitlines()[0][:80]})",
                             "start from a style.ckpt or style.pt trained with the same --arch and channels") from exc
        log.info("started from the weights of %s", init_from)
    if state is not None:
        old = state["config"]
        # A key the checkpoint lacks was added later; such runs used its default.
        defaults = asdict(StyleTrainConfig())
        changed = sorted(k for k, v in asdict(cfg).items() if k not in _MAY_CHANGE and old.get(k, defaults[k]) != v)
        if changed:
            raise InputError(f"checkpoint {ckpt_path} was trained with other {', '.join(changed)}",
                             "resume with the same options (only --steps, --max-minutes, --threads may change) "
                             "or a new --out")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        at, ema = Progress(state["step"], state["elapsed"]), state.get("ema", {})
        sampler.rng = np.random.default_rng([cfg.seed, at.step])
        log.info("resumed from step %d", at.step)

    def save() -> None:
        save_checkpoint(ckpt_path, {"model": net.state_dict(), "opt": opt.state_dict(), "step": at.step,
                                    "elapsed": at.elapsed, "config": asdict(cfg), "ema": ema,
                                    "started_from": started_from})

    def train_step() -> None:
        nonlocal ema
        x = torch.from_numpy(sampler.batch(cfg.batch)).to(dev)
        loss, parts = loss_fn(net(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        parts["total"] = float(loss.detach())
        ema = parts if not ema else {k: 0.95 * ema[k] + 0.05 * v for k, v in parts.items()}

    def record(now: Progress) -> dict:
        if progress:
            progress(now.step, cfg.steps, ema["total"])
        return {"step": now.step, "elapsed_s": round(now.elapsed, 1)} | {k: round(v, 4) for k, v in ema.items()}

    net.train()
    run_steps(at, cfg.steps, train_step=train_step, record=record, save=save, log_path=out_dir / "train_log.jsonl",
              ckpt_every=cfg.ckpt_every, max_minutes=cfg.max_minutes)
    step, elapsed = at.step, at.elapsed
    final = out_dir / "style.pt"
    torch.save({"model": net.state_dict(), "net": asdict(net_cfg) | {"arch": StyleArch(cfg.arch).value}}, final)
    info = {
        "steps_done": step, "train_seconds": round(elapsed, 1), "config": asdict(cfg),
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
        "train_photos": len(entries), "final_loss_ema": {k: round(v, 4) for k, v in ema.items()},
        "style_image": str(style_image), "style_image_size": list(style.shape[1::-1]),
        "started_from": started_from,
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=1))
    return final


def load_style_net(weights: Path) -> torch.nn.Module:
    """The trained network of ``style.pt``; weights saved before 2026-12 (no ``arch``) are TransformerNets."""
    state = torch.load(weights, map_location="cpu", weights_only=False)
    net_cfg = dict(state["net"])
    net_cfg["channels"] = tuple(net_cfg["channels"])
    net_cfg["arch"] = StyleArch(net_cfg.get("arch", StyleArch.JOHNSON.value))
    net = build_net(NetConfig(**net_cfg))
    net.load_state_dict(state["model"])
    return net.eval()
