"""Train the colorizer decoder on the corpus (CPU for hours or CUDA for minutes), with checkpoints/resume.

Loss: mean squared error of the reconstructed RGB pixels (true luma + predicted chroma, after the same
bilinear chroma upsampling the frame model does), plus a penalty on colour predicted where the truth is
neutral (``neutral_weight``): white walls, gray skies and snow painted pink or blue are the error users
see first, and plain MSE lets the network gamble on them. With ``loss="log-crop"`` each crop's error
counts by its logarithm (the mean of per-crop PSNR, which is what evaluation averages over photos), so a
false tint on a near-neutral crop weighs as much as a wrong hue on a vivid one; with ``"pixel"`` every
pixel of the batch counts alike and vivid crops' large errors dominate. Photos are sampled uniformly (an earlier
colourfulness-balanced sampling pushed the model toward vivid colour).

Model selection never looks at the evaluation set: validation photos come from held-out *sources*
(whole packages, or whole gcompris activity files: other photographers, other subjects), so validation
predicts photos from sources the model has never seen; the best checkpoint on it is the one exported.
The encoder is frozen, so its features are computed once per crop (:mod:`edgecolor.models.feature_cache`);
with ``unfreeze_top`` its last stage (stride 32, 7 x 7 at 224 px) trains too, at a tenth of the decoder's
learning rate, recomputed each step from the cached stride-16 feature (a quarter more time a step).

A corpus with textures (manifest ``kind``: surface tiles and cut-outs on plain walls, see
:mod:`edgecolor.data.sources`) is sampled as two pools when ``texture_share`` is set: each crop of a batch is
a texture crop with that probability, else a scene crop. Texture crops come from the tile repeated 2 x 2 (the
tiles are seamless), so a crop can span several tiles as a wall or floor does in a room. Each pool has its own
feature cache (two thirds of ``cache_crops`` scenes, one third textures), so runs that differ only in the
share can share one cache folder (``features_dir``).

With ``head="classes"`` (:class:`~edgecolor.models.colorizer.ClassHead`) the loss is instead a cross-entropy over
the quantised chroma grid (:func:`class_loss`). With ``rebalance`` below 1 each pixel is weighted by how rare its
colour is in the training crops (:func:`rebalance_weights`, ``rebalance`` = the share of a uniform prior mixed
in), which pushes the head toward saturated colours; the default 1 weighs every colour alike, which on the
indoor-like validation fold coloured nearly as much with a third of the false colour (docs/models.md). With
``class_neutral_weight`` the pixels whose truth is neutral count more, as ``neutral_weight`` makes them in the
regression loss: a push toward the gray cell wherever gray is right. Validation
and the exported model use the head's annealed mean, so checkpoints are still chosen by RGB MSE.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from edgecolor.choices import ColourLoss
from edgecolor.colour import BGR_FROM_CHROMA, bgr_to_ycc
from edgecolor.data.corpus import load_manifest
from edgecolor.data.split import source_of, split_corpus
from edgecolor.errors import DataError
from edgecolor.imageio import read_image
from edgecolor.models.colorizer import (
    CHROMA_BINS,
    CHROMA_CELLS,
    CHROMA_STEP,
    DECODER_CHANNELS,
    NET_SIZE,
    WIDE_DECODER_CHANNELS,
    Colorizer,
)
from edgecolor.models.feature_cache import FeatureCache
from edgecolor.models.train_loop import Progress, load_checkpoint, run_steps, save_checkpoint

log = logging.getLogger(__name__)


NEUTRAL_CHROMA = 8.0  # truth chroma magnitude (0..255 scale) below which a pixel counts as neutral
LOG_CROP_EPS = 25.0  # RGB MSE (0..255 scale, 34 dB) added inside the log: crops already near perfect stop pulling


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    neutral_weight: float = 5.0  # extra weight of the error on neutral-truth pixels (0 = plain RGB MSE)
    loss: str = ColourLoss.PIXEL.value  # how pixel errors add up over the batch (see colour_loss)
    cache_crops: int = 6000  # distinct cached crops (0 = no cache: encoder runs every step)
    val_every: int = 250
    val_crops: int = 96
    ckpt_every: int = 100
    seed: int = 0
    unfreeze_top: bool = False  # also train the encoder's last stage (stride 32), at encoder_lr
    encoder_lr: float = 1e-4
    val_fold: int | None = 0  # which sources validate (edgecolor.data.split); None = train on all (the refit)
    max_minutes: float = 0.0  # 0 = no time limit; otherwise stop (and checkpoint) after this long
    device: str = "auto"
    texture_share: float | None = None  # share of texture crops in a batch; None = every photo alike
    decoder: str = "base"  # "base" (DECODER_CHANNELS) or "wide" (WIDE_DECODER_CHANNELS)
    features_dir: str = ""  # feature cache folder ("" = the run folder's features/); runs may share one
    head: str = "regression"  # "regression" (chroma directly) or "classes" (quantised chroma, annealed mean)
    rebalance: float = 1.0  # head "classes": share of the uniform prior in the rebalancing weights (1 = none)
    class_neutral_weight: float = 0.0  # head "classes": extra weight of the cross-entropy on neutral-truth pixels
    encoder: str = "lite0"  # which EfficientNet-Lite (edgecolor.models.colorizer.ENCODERS) gives the features


DECODERS = {"base": DECODER_CHANNELS, "wide": WIDE_DECODER_CHANNELS}


class CropSampler:
    """Random crops (scale 0.4..1 of the short side, flips) resized to NET_SIZE; returns luma and chroma.
    ``tiled`` images (textures) are repeated 2 x 2 first, so a crop may cross the seams of a seamless tile."""

    def __init__(self, images: list[np.ndarray], seed: int, tiled: bool = False) -> None:
        self.images = images
        self.rng = np.random.default_rng(seed)
        self.tiled = tiled

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        ys, cs = [], []
        for idx in self.rng.integers(0, len(self.images), size=n):
            img = self.images[idx]
            if self.tiled:
                img = np.tile(img, (2, 2, 1))
            h, w = img.shape[:2]
            side = int(min(h, w) * self.rng.uniform(0.4, 1.0) * (0.5 if self.tiled else 1.0))
            y0, x0 = self.rng.integers(0, h - side + 1), self.rng.integers(0, w - side + 1)
            crop = cv2.resize(img[y0 : y0 + side, x0 : x0 + side], (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA)
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            luma, chroma = bgr_to_ycc(crop)
            ys.append(luma[None])
            cs.append(chroma.transpose(2, 0, 1))
        return np.stack(ys), np.stack(cs)


def colour_loss(pred_half: torch.Tensor, chroma: torch.Tensor, neutral_weight: float = 0.0,
                loss: str = ColourLoss.PIXEL.value) -> torch.Tensor:
    """MSE of BGR pixels implied by predicted half-res chroma (upsampled) vs the true full-res chroma;
    errors on neutral-truth pixels count ``1 + neutral_weight`` times. ``loss="pixel"``: the mean over every
    pixel of the batch; ``"log-crop"``: the mean over crops of ``log(crop MSE + LOG_CROP_EPS)``."""
    mode = ColourLoss.parse(loss, "loss")
    up = F.interpolate(pred_half, size=chroma.shape[-2:], mode="bilinear", align_corners=False)
    mix = torch.from_numpy(BGR_FROM_CHROMA).to(chroma.device)  # [3, 2]
    err = torch.einsum("oc,nchw->nohw", mix, up - chroma).square()
    if neutral_weight:
        err = err * (1 + neutral_weight * _neutral(chroma))
    if mode == ColourLoss.LOG_CROP:
        return torch.log(err.mean(dim=(1, 2, 3)) + LOG_CROP_EPS).mean()
    return err.mean()


def _neutral(chroma: torch.Tensor) -> torch.Tensor:
    """How neutral each pixel of ``chroma`` ``[N, 2, H, W]`` is, ``[N, 1, H, W]``: 1 at gray, falling off around
    :data:`NEUTRAL_CHROMA`."""
    return torch.exp(-(chroma.norm(dim=1, keepdim=True) / NEUTRAL_CHROMA) ** 2)


def _grid_coords(chroma_half: torch.Tensor) -> torch.Tensor:
    """Fractional chroma-grid coordinates ``[N, 2, H, W]`` (Cb cell, Cr cell) of centred chroma, inside the grid."""
    return (chroma_half / CHROMA_STEP + (CHROMA_CELLS - 1) / 2).clamp(0, CHROMA_CELLS - 1 - 1e-4)


def nearest_class(chroma_half: torch.Tensor) -> torch.Tensor:
    """Index ``[N, H, W]`` of the chroma-grid cell nearest to each pixel's chroma."""
    g = _grid_coords(chroma_half).round().long()
    return g[:, 0] * CHROMA_CELLS + g[:, 1]


def rebalance_weights(chroma: np.ndarray, mix: float) -> torch.Tensor:
    """Per-class loss weights ``[CHROMA_BINS]`` from true chroma ``[N, 2, S, S]`` (full resolution): the inverse
    of the class prior (smoothed over neighbouring cells) mixed with a uniform one, ``1 / ((1 - mix) p + mix /
    Q)``, normalised so that the expected weight under the prior is 1."""
    half = F.avg_pool2d(torch.from_numpy(np.asarray(chroma, np.float32)), 2)
    counts = torch.bincount(nearest_class(half).reshape(-1), minlength=CHROMA_BINS).double().numpy()
    prior = cv2.GaussianBlur((counts / counts.sum()).reshape(CHROMA_CELLS, CHROMA_CELLS), (5, 5), 1.0).reshape(-1)
    prior /= prior.sum()
    weights = 1.0 / ((1 - mix) * prior + mix / CHROMA_BINS)
    weights /= (prior * weights).sum()
    return torch.from_numpy(weights.astype(np.float32))


def class_loss(logits: torch.Tensor, chroma: torch.Tensor, weights: torch.Tensor,
               neutral_weight: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the class head's ``logits`` ``[N, Q, S/2, S/2]`` against the true chroma ``[N, 2, S, S]``
    (averaged to half resolution) spread bilinearly over its four nearest grid cells; each pixel counts by
    ``weights`` of its nearest cell (:func:`rebalance_weights`), and pixels whose truth is neutral ``1 +
    neutral_weight`` times, as :func:`colour_loss` counts them."""
    half = F.avg_pool2d(chroma, 2)
    g = _grid_coords(half)
    low = g.floor()
    frac, low = g - low, low.long()
    logp = F.log_softmax(logits, dim=1)
    nll = torch.zeros_like(frac[:, 0])
    for di in (0, 1):
        for dj in (0, 1):
            share = (frac[:, 0] if di else 1 - frac[:, 0]) * (frac[:, 1] if dj else 1 - frac[:, 1])
            idx = (low[:, 0] + di) * CHROMA_CELLS + low[:, 1] + dj
            nll = nll - share * logp.gather(1, idx[:, None])[:, 0]
    pixel = weights.to(logits.device)[nearest_class(half)]
    if neutral_weight:
        pixel = pixel * (1 + neutral_weight * _neutral(half)[:, 0])
    return (pixel * nll).mean()


def rgb_mse(pred_half: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Plain RGB MSE (what PSNR measures): the validation metric."""
    return colour_loss(pred_half, chroma, 0.0)


COMPACT_CHECKPOINT = "decoder.ckpt"


def compact_checkpoint(src: Path, dst: Path) -> None:
    """A small resumable copy of checkpoint ``src``: the trained weights and the optimizer's moments in FP16, the
    schedule, step and config, without the frozen encoder (which ``--resume`` rebuilds from its pretrained
    weights): the decoder, and with ``unfreeze_top`` the encoder's last stage too (about three times the
    decoder's weights). Small enough to keep in git beside a run's log, so a later session can resume the run."""
    state = torch.load(src, map_location="cpu", weights_only=False)
    config = state["config"]
    top: tuple[str, ...] = ()  # the encoder's trained blocks, by key prefix
    if config.get("unfreeze_top"):
        top = tuple(f"encoder.blocks.{i}." for i in
                    Colorizer(pretrained=False, encoder=config.get("encoder", "lite0")).top_blocks())
    half = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()
            if not k.startswith("encoder.") or k.startswith(top)}
    opt = state["opt"]
    opt = {**opt, "state": {i: {k: v.half() if torch.is_tensor(v) and v.is_floating_point() and k != "step" else v
                                for k, v in st.items()} for i, st in opt["state"].items()}}
    save_checkpoint(dst, {**state, "model": half, "opt": opt, "compact": True})


def class_weights_of(caches: dict[str, FeatureCache], samplers: dict[str, CropSampler], cfg: TrainConfig,
                     n: int = 512) -> torch.Tensor:
    """:func:`rebalance_weights` of ``n`` training crops drawn as batches are (the texture share of them from the
    textures): from the feature caches' chroma, or fresh crops without a cache. With ``rebalance`` 1 every weight
    is 1, and no crop is read."""
    if cfg.rebalance == 1.0:
        return torch.ones(CHROMA_BINS)
    share = cfg.texture_share if len(samplers) == 2 and cfg.texture_share is not None else 0.0
    counts = {"scene": n - round(n * share), "texture": round(n * share)}
    rng = np.random.default_rng([cfg.seed, 7])
    parts = []
    for kind, k in counts.items():
        if not k or kind not in samplers:
            continue
        chroma = caches[kind].chroma if kind in caches else None
        if chroma is not None:
            parts.append(np.asarray(chroma[np.sort(rng.choice(len(chroma), size=min(k, len(chroma)), replace=False))],
                                    np.float32))
        else:
            parts.append(samplers[kind].batch(k)[1])
    return rebalance_weights(np.concatenate(parts), cfg.rebalance)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def corpus_split(corpus: Path, fold: int | None = 0) -> tuple[list[dict], list[dict]]:
    """Training and validation entries of a corpus (validation fold ``fold``), refusing one too small to
    learn from."""
    train, val = split_corpus(load_manifest(corpus), fold)
    if len(train) < 10:
        raise DataError(f"only {len(train)} training photos in {corpus}", "add more photos (at least 20)")
    return train, val


def train_colorizer(
    corpus: Path,
    out_dir: Path,
    cfg: TrainConfig,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    cache_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train; returns the path of the exported weights (``colorizer.pt``: the best checkpoint on the held-out
    sources). Safe to interrupt and ``resume``.

    With ``cfg.val_fold=None`` (the refit on every source after cross-validation) nothing validates: the
    weights are saved every ``val_every`` steps as ``step_N.pt`` and ``colorizer.pt`` is the last; which step
    ships is chosen from the fold runs' validation (:mod:`edgecolor.models.ship_colorizer`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, best_path = out_dir / "colorizer.ckpt", out_dir / "best.pt"
    train_entries, val_entries = corpus_split(corpus, cfg.val_fold)
    mixed = cfg.texture_share is not None and len({e.get("kind", "scene") for e in train_entries}) == 2
    if cfg.texture_share is not None and not mixed:
        raise DataError("--texture-share needs a corpus with both scenes and textures",
                        "rebuild it with: edgecolor data fetch --sources all")
    pools = ({k: [e for e in train_entries if e.get("kind", "scene") == k] for k in ("scene", "texture")}
             if mixed else {"scene": train_entries})
    images = {k: [read_image(Path(corpus) / e["file"]) for e in v] for k, v in pools.items()}
    val_images = [read_image(Path(corpus) / e["file"]) for e in val_entries]
    dev = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)

    model = Colorizer(pretrained=True, decoder_channels=DECODERS[cfg.decoder], head=cfg.head,
                      encoder=cfg.encoder).to(dev)
    top = model.freeze_encoder(except_top=cfg.unfreeze_top)
    decoder = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("encoder.")]
    groups = [{"params": decoder}] + ([{"params": top, "lr": cfg.encoder_lr, "weight_decay": 0.0}] if top else [])
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps))
    )
    samplers = {k: CropSampler(v, cfg.seed + i, tiled=k == "texture") for i, (k, v) in enumerate(images.items())}
    sizes = ({"scene": cfg.cache_crops - cfg.cache_crops // 3, "texture": cfg.cache_crops // 3} if mixed
             else {"scene": cfg.cache_crops})
    caches: dict[str, FeatureCache] = {}
    if cfg.cache_crops:
        root = Path(cfg.features_dir) if cfg.features_dir else out_dir / "features"
        encoder_key = [] if cfg.encoder == "lite0" else [cfg.encoder]  # lite0's caches keep their earlier key
        for kind, sampler in samplers.items():
            folder = root / kind if mixed else root
            caches[kind] = FeatureCache(folder, sorted(e["file"] for e in pools[kind]) + [str(cfg.seed)] + encoder_key,
                                        sizes[kind])
            caches[kind].build(model.cpu(), sampler.batch, progress=cache_progress)
        model.to(dev)
    rng = np.random.default_rng(cfg.seed)
    class_weights = class_weights_of(caches, samplers, cfg) if cfg.head == "classes" else None
    at, best = Progress(), math.inf
    compact_path = out_dir / COMPACT_CHECKPOINT
    state = load_checkpoint(ckpt_path if ckpt_path.exists() or not compact_path.exists() else compact_path, dev,
                            resume)
    if state is not None:
        # A compact checkpoint holds the trained weights alone (FP16): the frozen encoder is the pretrained one above.
        model.load_state_dict({k: v.float() for k, v in state["model"].items()}, strict=not state.get("compact"))
        opt.load_state_dict(state["opt"])  # moments are cast back to the parameters' FP32
        sched.load_state_dict(state["sched"])
        at, best = Progress(state["step"], state["elapsed"]), state.get("best", math.inf)
        rng = np.random.default_rng([cfg.seed, at.step])
        for i, sampler in enumerate(samplers.values()):
            sampler.rng = np.random.default_rng([cfg.seed, at.step, i])
        log.info("resumed from step %d", at.step)

    val = CropSampler(val_images, seed=1234).batch(cfg.val_crops) if val_images else None
    gray_mse = None if val is None else float(
        rgb_mse(torch.zeros(len(val[1]), 2, NET_SIZE // 2, NET_SIZE // 2), torch.from_numpy(val[1])))
    if val is not None:
        log.info("validation: %d photos from %s; gray-baseline RGB MSE %.1f", len(val_images),
                 sorted({source_of(e) for e in val_entries}), gray_mse)

    def save() -> None:
        save_checkpoint(ckpt_path, {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                                    "step": at.step, "elapsed": at.elapsed, "best": best, "config": asdict(cfg)})

    def validate() -> float:
        assert val is not None
        model.eval()
        with torch.no_grad():
            y, c = (torch.from_numpy(a).to(dev) for a in val)
            loss = float(rgb_mse(model(y), c))
        model.train()
        return loss

    def split_batch() -> dict[str, int]:
        """How many crops of the next batch each pool gives."""
        if not mixed:
            return {"scene": cfg.batch}
        tex = int(rng.binomial(cfg.batch, cfg.texture_share))
        return {"scene": cfg.batch - tex, "texture": tex}

    def next_batch() -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encoder features and true chroma of the next batch."""
        parts = [(k, n) for k, n in split_batch().items() if n]
        if caches:
            got = [caches[k].batch(rng.integers(0, sizes[k], size=n), dev) for k, n in parts]
            feats = [torch.cat(level) for level in zip(*(f for f, _ in got), strict=True)]
            return (model.refine_top(feats) if cfg.unfreeze_top else feats), torch.cat([c for _, c in got])
        drawn = [samplers[k].batch(n) for k, n in parts]
        y = torch.from_numpy(np.concatenate([d[0] for d in drawn])).to(dev)
        c = torch.from_numpy(np.concatenate([d[1] for d in drawn])).to(dev)
        return model.encode(y), c

    ema = math.nan  # the loss's moving average, from the first step on

    def train_step() -> None:
        nonlocal ema
        feats, c = next_batch()
        if class_weights is not None:
            loss = class_loss(model.decode_logits(feats), c, class_weights, cfg.class_neutral_weight)
        else:
            loss = colour_loss(model.decode(feats), c, cfg.neutral_weight, cfg.loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        lv = loss.item()
        ema = lv if math.isnan(ema) else 0.98 * ema + 0.02 * lv

    def record(now: Progress) -> dict:
        nonlocal best
        if progress:
            progress(now.step, cfg.steps, ema)
        line: dict = {"step": now.step, "loss": round(ema, 3), "elapsed_s": round(now.elapsed, 1)}
        if now.step % cfg.val_every == 0 or now.step == cfg.steps:
            if val is None:  # the refit: every validated step may ship
                torch.save(model.state_dict(), out_dir / f"step_{now.step}.pt")
            else:
                line["val_rgb_mse"] = v = round(validate(), 3)
                if v < best:
                    best = v
                    torch.save(model.state_dict(), best_path)
                log.info("step %d/%d loss %.2f val %.2f (%.0f s)", now.step, cfg.steps, ema, v, now.elapsed)
        return line

    model.train()
    run_steps(at, cfg.steps, train_step=train_step, record=record, save=save, log_path=out_dir / "train_log.jsonl",
              ckpt_every=cfg.ckpt_every, max_minutes=cfg.max_minutes)
    step, elapsed = at.step, at.elapsed

    last = validate() if val is not None else None
    if last is None or last < best or not best_path.exists():
        if last is not None:
            best = last
        torch.save(model.state_dict(), best_path)
    final = out_dir / "colorizer.pt"
    shutil.copyfile(best_path, final)
    if ckpt_path.exists():
        compact_checkpoint(ckpt_path, compact_path)
    info = {
        "steps_done": step, "config": asdict(cfg), "train_seconds": round(elapsed, 1),
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
        "train_photos": len(train_entries), "val_photos": len(val_entries),
        "train_photos_by_kind": {k: len(v) for k, v in pools.items()},
        "train_sources": sorted({source_of(e) for e in train_entries}),
        "val_sources": sorted({source_of(e) for e in val_entries}),
        "val_rgb_mse_best": None if val is None else best, "val_rgb_mse_last": last, "val_gray_rgb_mse": gray_mse,
        "val_fold": cfg.val_fold,
        "selection": "checkpoint with the lowest validation RGB MSE on the held-out sources" if val is not None
                     else "none here: the step is chosen on the cross-validation folds' held-out sources",
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=1))
    return final
