"""Train the colorizer decoder on the corpus (CPU for hours or CUDA for minutes), with checkpoints/resume.

Loss: mean squared error of the reconstructed RGB pixels (true luma + predicted chroma, after the same
bilinear chroma upsampling the frame model does). Minimising it maximises PSNR against the colour truth,
so the model is never worse than the gray input on the training distribution; MSE alone under-saturates
("sepia"), which the frame model's ``colour_strength`` (chosen on validation photos) compensates.

Sampling is balanced over colourfulness: the Debian corpus is dominated by vivid wallpapers, so each
photo is drawn with probability inversely proportional to how common its colourfulness band is.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from edgecolor.colour import BGR_FROM_CHROMA, bgr_to_ycc
from edgecolor.data.corpus import load_manifest
from edgecolor.errors import DataError
from edgecolor.imageio import read_image
from edgecolor.models.colorizer import NET_SIZE, Colorizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 4000
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_every: int = 250
    val_crops: int = 64
    ckpt_every: int = 100
    seed: int = 0
    max_minutes: float = 0.0  # 0 = no time limit; otherwise stop (and checkpoint) after this long
    device: str = "auto"


def split_corpus(entries: list[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic split: every 10th photo (by file name) is validation, never trained on."""
    ordered = sorted(entries, key=lambda e: e["file"])
    return [e for i, e in enumerate(ordered) if i % 10 != 0], [e for i, e in enumerate(ordered) if i % 10 == 0]


def balanced_weights(entries: list[dict], band: float = 20.0) -> np.ndarray:
    bands = np.array([min(int(e["colourfulness"] // band), 5) for e in entries])
    counts = np.bincount(bands, minlength=6).astype(np.float64)
    w = 1.0 / counts[bands]
    return w / w.sum()


class CropSampler:
    """Random crops (scale 0.4..1 of the short side, flips) resized to NET_SIZE; returns luma and chroma."""

    def __init__(self, images: list[np.ndarray], weights: np.ndarray, seed: int) -> None:
        self.images, self.weights = images, weights
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        ys, cs = [], []
        for idx in self.rng.choice(len(self.images), size=n, p=self.weights):
            img = self.images[idx]
            h, w = img.shape[:2]
            side = int(min(h, w) * self.rng.uniform(0.4, 1.0))
            y0, x0 = self.rng.integers(0, h - side + 1), self.rng.integers(0, w - side + 1)
            crop = cv2.resize(img[y0 : y0 + side, x0 : x0 + side], (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA)
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            luma, chroma = bgr_to_ycc(crop)
            ys.append(luma[None])
            cs.append(chroma.transpose(2, 0, 1))
        return np.stack(ys), np.stack(cs)


def rgb_mse(pred_half: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """MSE of BGR pixels implied by predicted half-res chroma (upsampled) vs the true full-res chroma."""
    up = F.interpolate(pred_half, size=chroma.shape[-2:], mode="bilinear", align_corners=False)
    mix = torch.from_numpy(BGR_FROM_CHROMA).to(chroma.device)  # [3, 2]
    diff = torch.einsum("oc,nchw->nohw", mix, up - chroma)
    return diff.square().mean()


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def corpus_split(corpus: Path) -> tuple[list[dict], list[dict]]:
    """Training and validation entries of a corpus, refusing one too small to learn from."""
    train, val = split_corpus(load_manifest(corpus))
    if len(train) < 10:
        raise DataError(f"only {len(train)} training photos in {corpus}", "add more photos (at least 20)")
    return train, val


def train_colorizer(
    corpus: Path,
    out_dir: Path,
    cfg: TrainConfig,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
) -> Path:
    """Train; returns the path of the final weights (``colorizer.pt``). Safe to interrupt and ``resume``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "colorizer.ckpt"
    train_entries, val_entries = corpus_split(corpus)
    images = [read_image(Path(corpus) / e["file"]) for e in train_entries]
    val_images = [read_image(Path(corpus) / e["file"]) for e in val_entries]
    dev = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)

    model = Colorizer(pretrained=True).to(dev)
    model.freeze_encoder()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps))
    )
    step, elapsed = 0, 0.0
    sampler = CropSampler(images, balanced_weights(train_entries), cfg.seed)
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=dev, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, elapsed = state["step"], state["elapsed"]
        sampler.rng = np.random.default_rng([cfg.seed, step])
        log.info("resumed from step %d", step)

    val = CropSampler(val_images, np.full(len(val_images), 1 / len(val_images)), seed=1234).batch(cfg.val_crops)
    gray_mse = float(rgb_mse(torch.zeros(len(val[1]), 2, NET_SIZE // 2, NET_SIZE // 2), torch.from_numpy(val[1])))
    log.info("validation: %d photos; gray-baseline RGB MSE %.1f", len(val_images), gray_mse)
    logf = (out_dir / "train_log.jsonl").open("a")

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "step": step, "elapsed": elapsed, "config": asdict(cfg)}, tmp)
        tmp.replace(ckpt_path)

    def validate() -> float:
        model.eval()
        with torch.no_grad():
            y, c = (torch.from_numpy(a).to(dev) for a in val)
            loss = float(rgb_mse(model(y), c))
        model.train()
        return loss

    model.train()
    t0 = time.time() - elapsed
    ema = None
    while step < cfg.steps:
        y, c = (torch.from_numpy(a).to(dev) for a in sampler.batch(cfg.batch))
        loss = rgb_mse(model(y), c)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        elapsed = time.time() - t0
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if progress:
            progress(step, cfg.steps, ema)
        record = {"step": step, "loss": round(ema, 3), "elapsed_s": round(elapsed, 1)}
        if step % cfg.val_every == 0 or step == cfg.steps:
            record["val_rgb_mse"] = round(validate(), 3)
            log.info("step %d/%d loss %.2f val %.2f (%.0f s)", step, cfg.steps, ema, record["val_rgb_mse"], elapsed)
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            save()
            logf.write(json.dumps(record) + "\n")
            logf.flush()
        if cfg.max_minutes and elapsed > cfg.max_minutes * 60:
            save()
            log.info("time limit reached at step %d; resume with --resume", step)
            break

    final = out_dir / "colorizer.pt"
    torch.save(model.state_dict(), final)
    info = {
        "steps_done": step, "config": asdict(cfg), "train_seconds": round(elapsed, 1),
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
        "train_photos": len(train_entries), "val_photos": len(val_entries), "val_rgb_mse": validate(),
        "val_gray_rgb_mse": gray_mse,
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=1))
    return final
