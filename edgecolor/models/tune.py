"""Adapt the colorizer to one site or collection from a handful of its colour photos (``edgecolor tune colorizer``).

A kiosk watches one room all day; an archive is one family's or one city's photos. Their colours are not the
training corpus's, but a few colour photos of the place carry them. Tuning keeps the model's frozen encoder and
its colour math, and trains only its decoder on crops of those photos, starting from the model's own weights:

1. the photos are split by :data:`~edgecolor.models.tune_photos.HOLD_OUT_RULE`; the held-out ones never train;
2. the encoder's features of the training crops are computed once, by the model's own graph on ONNX Runtime
   (:mod:`edgecolor.models.tune_graph`), and cached (:class:`~edgecolor.models.feature_cache.FeatureCache`);
3. with the site prior (the default), a luma lookup of the training photos' mean chroma
   (:mod:`edgecolor.models.lookup`, pooled to the decoder's output) times a learnt gain is added to the decoder's
   output. The gain starts at 0, so training starts from the model as it came and takes as much of the site's
   table as helps; the decoder learns what the table gets wrong (which white is a wall and which beige a sofa). A
   site's photos carry a lot in that table alone: its colours and how they go with brightness, so the table alone
   (the decoder's output zero) is a candidate too;
4. the decoder trains with the training recipe's loss (:func:`~edgecolor.models.train_colorizer.colour_loss`),
   on its chroma whichever its head (the quantised-chroma head's through the annealed mean of its cells);
   every so often, and at step 0 (the model as it came, and with the site prior the table alone), the held-out
   photos are coloured through the model's own colour math at each colour strength and chroma curve, and scored;
5. the candidate, step, curve and strength are chosen by :data:`TUNE_RULE`, and the model is written with that
   decoder (and prior) and default, and a record of what was done
   (:attr:`~edgecolor.graph.contract.FrameModelInfo.tuning`).

Time is bounded (``minutes``): steps stop early enough to leave time for the last evaluation and the write. The
learning rate follows a cosine over whichever runs out first, the steps or the time. A stop request (Ctrl+C)
ends the steps and keeps the best checkpoint evaluated so far.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from edgecolor.colour import to_gray_bgr
from edgecolor.graph.colorizer import with_chroma_curve
from edgecolor.graph.contract import FRAME, FrameModelInfo
from edgecolor.graph.pieces import with_extra_default
from edgecolor.models.colorizer import annealed_mean
from edgecolor.models.feature_cache import FeatureCache
from edgecolor.models.scoring import (
    STRENGTH_RULE,
    Photo,
    meets_strength_limits,
    pick_strength,
    strength_table,
)
from edgecolor.models.train_colorizer import CropSampler, colour_loss
from edgecolor.models.tune_graph import (
    DecoderGraph,
    colour_model,
    decoder_weights,
    encoder_model,
    find_decoder,
    head_centres,
    prior_levels,
    prior_table,
    with_decoder,
    with_site_prior,
)
from edgecolor.models.tune_photos import HOLD_OUT_RULE, MAX_SIDE, split_photos

log = logging.getLogger(__name__)

TUNE_RULE = ("among the evaluated steps (step 0 = the model as it came and, with the site prior, the prior alone) "
             "and chroma curves (the model's own, or "
             "none), the one whose held-out scores at the colour strength the strength rule picks for it have the "
             "best mean PSNR among those meeting every limit of the strength rule, else the best mean PSNR; "
             f"strength rule: {STRENGTH_RULE}")


@dataclass(frozen=True)
class TuneConfig:
    steps: int = 400
    minutes: float = 10.0  # the whole command, from its start to the model written
    batch: int = 8
    lr: float = 2e-4  # 5e-4 drifted away from what the held-out photos liked within 50 steps on 7 photos
    weight_decay: float = 1e-4
    neutral_weight: float = 5.0  # the shipped recipe's (edgecolor train colorizer)
    first_eval: int = 10  # held-out evaluations at steps 10, 20, 40, 80 ...: early stopping needs the early steps
    crops_per_photo: int = 48
    seed: int = 0
    site_prior: bool = True  # add the tuning photos' luma lookup to the decoder's output (module docstring, 3)
    prior_lr: float = 0.02  # the site prior's gain: from 0 to 1 in ~50 steps when the photos want all of it


class Decoder(nn.Module):
    """The colorizer's decoder (:meth:`edgecolor.models.colorizer.Colorizer.decode`) with each batch norm folded
    into its convolution, as the frame model holds it: loaded from and written back to the ONNX graph."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], scale: float,
                 centres: np.ndarray | None = None, temperature: float = 1.0) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for w, b in weights:
            conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(w))
                conv.bias.copy_(torch.from_numpy(b))
            self.convs.append(conv)
        self.scale = scale
        # the quantised-chroma head: the annealed mean of the cells (as ClassHead.chroma), trained through by the
        # pixel loss like the regression head's output
        self.centres = None if centres is None else torch.from_numpy(centres)
        self.temperature = temperature

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        y = feats[-1]
        for conv, skip in zip(self.convs[:-1], reversed(feats[:-1]), strict=True):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = F.relu(conv(torch.cat([y, skip], dim=1)))
        out = self.convs[-1](y)
        if self.centres is None:
            return out * self.scale
        return annealed_mean(out, self.centres, self.temperature)

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(c.weight.detach().numpy().copy(), c.bias.detach().numpy().copy()) for c in self.convs]

    def zero_head(self) -> None:
        """Make the output 0 (the residual of a site prior before any step; for the quantised-chroma head every
        cell alike, whose mean is 0 on its symmetric grid); the other blocks keep their weights."""
        with torch.no_grad():
            self.convs[-1].weight.zero_()
            self.convs[-1].bias.zero_()


def site_prior(table: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """The site prior of :func:`~edgecolor.models.tune_graph.with_site_prior` in PyTorch: ``table`` ``[256, 2]``
    looked up at ``levels`` (int64 ``[N, 1, S, S]``, the network's luma rounded), averaged over 2 x 2 pixels."""
    return F.avg_pool2d(table[levels[:, 0]].permute(0, 3, 1, 2), 2)


class _OrtEncoder:
    """The model's encoder on ONNX Runtime with the interface :class:`FeatureCache` uses (``eval``, ``encode``)."""

    def __init__(self, part: onnx.ModelProto) -> None:
        self.session = _session(part)
        self.name = self.session.get_inputs()[0].name

    def eval(self) -> _OrtEncoder:
        return self

    def encode(self, x: torch.Tensor | np.ndarray) -> list[torch.Tensor]:
        """Every output of the part (the encoder's taps, then the network's luma when it has that output)."""
        array = x.numpy() if isinstance(x, torch.Tensor) else x
        return [torch.from_numpy(f) for f in self.session.run(None, {self.name: array})]


def _session(model: onnx.ModelProto, threads: int = 0) -> Any:
    """An ONNX Runtime session that does not spin between runs: PyTorch's threads work in between, and two
    thread pools spinning on two cores slowed each 1 ms colour-math run to over 100 ms."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class Stopped(Exception):
    """A stop request (Ctrl+C) came before anything could be kept."""


@dataclass
class Tuned:
    """The tuned model (not yet written) and what was done: ``record`` goes into its metadata."""

    model: onnx.ModelProto
    record: dict[str, Any]
    strength_record: dict[str, Any]
    stopped_by: str = "steps"
    evaluated: list[dict] = field(default_factory=list)


Progress = Callable[[str, int, int, str], None]  # stage, done, total, note
START_AND_EXIT_S = 5.0  # the budget's share for what comes before and after: Python and the CLI starting, exiting


def _photo_digest(photos: list[Photo]) -> list[str]:
    return [f"{name}:{hashlib.sha256(img.tobytes()).hexdigest()[:12]}" for name, img in photos]


def tune_colorizer(base: onnx.ModelProto, base_name: str, photos: list[Photo], cfg: TuneConfig, scratch: Path,
                   progress: Progress | None = None, stop: Any = None, started: float | None = None) -> Tuned:
    """Tune ``base`` (a colorizer frame model) on ``photos`` (from :func:`~edgecolor.models.tune_photos.read_photos`;
    see the module docstring).
    ``scratch``: a folder for the feature cache; ``stop``: a truthy-when-set stop request (Ctrl+C); ``started``:
    the ``time.monotonic()`` the ``cfg.minutes`` budget counts from (default: now). Raises :class:`Stopped` when
    stopped before the model as it came was scored."""
    started = time.monotonic() if started is None else started
    deadline = started + cfg.minutes * 60 - START_AND_EXIT_S
    report = progress or (lambda *_: None)
    decoder_graph = find_decoder(base, base_name)
    train, held = split_photos(photos)
    torch.manual_seed(cfg.seed)
    decoder = Decoder(decoder_weights(base, decoder_graph), decoder_graph.scale, head_centres(base, decoder_graph),
                      decoder_graph.temperature)
    own = prior_table(base)  # a tuned model's own prior, else None
    came_with = None if own is None else torch.from_numpy(own)
    table: torch.Tensor | None = None  # the tuning photos' lookup
    gain = nn.Parameter(torch.zeros(()))
    if cfg.site_prior:
        from edgecolor.models.lookup import build_lookup

        table = torch.from_numpy(build_lookup(img for _, img in train).chroma)

    def prior_table_now() -> torch.Tensor | None:
        """The table of the prior the model adds now: its own, plus the gain times the tuning photos' table (with
        the gain's gradient; the prior is linear in its table)."""
        if table is None:
            return came_with
        return gain * table if came_with is None else came_with + gain * table

    def prior_now() -> torch.Tensor | None:
        now = prior_table_now()
        return None if now is None else now.detach()

    crops = max(cfg.batch, min(cfg.crops_per_photo * len(train), cfg.steps * cfg.batch))
    cache = FeatureCache(scratch / "features", [*_photo_digest(train), str(cfg.seed)], crops,
                         keep_luma=table is not None or came_with is not None)

    def on_cache(done: int, total: int) -> None:
        report("encoder features", done, total, "")
        if stop:
            raise Stopped

    # FeatureCache calls only eval() and encode(), which the ONNX Runtime encoder has
    cache.build(_OrtEncoder(encoder_model(base, decoder_graph, from_frame=False)),  # type: ignore[arg-type]
                CropSampler([img for _, img in train], cfg.seed).batch, batch=16, progress=on_cache)
    scorer = _HeldOutScorer(base, decoder_graph, held, report)
    best = scorer.evaluate(decoder, 0, came_with, "as it came")
    if stop:
        raise Stopped
    evaluated = [best]
    best_weights, best_table = decoder.weights(), came_with
    last_eval_s = best["seconds"]
    if table is not None:  # the table alone: a decoder whose output is zero
        alone = copy.deepcopy(decoder)
        alone.zero_head()
        found = scorer.evaluate(alone, 0, table, "site prior") | {"gain": 1.0}
        evaluated.append(found)
        if _rank(found) > _rank(best):
            best, best_weights, best_table = found, alone.weights(), table

    groups = [{"params": list(decoder.parameters()), "lr": cfg.lr, "base_lr": cfg.lr}]
    if table is not None:
        groups.append({"params": [gain], "lr": cfg.prior_lr, "base_lr": cfg.prior_lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    train_started = time.monotonic()
    step, stopped_by, ema, since_eval, next_eval = 0, "steps", math.nan, 0.0, cfg.first_eval

    def reserve() -> float:  # time the end needs: a last evaluation, the before/after scores and the write
        return 3 * last_eval_s + 10.0

    decoder.train()
    while step < cfg.steps:
        now = time.monotonic()
        if stop:
            stopped_by = getattr(stop, "name", None) or "stop"
            break
        if now + reserve() > deadline:
            stopped_by = "time"
            break
        span = max(deadline - reserve() - train_started, 1e-6)
        done = max(step / cfg.steps, (now - train_started) / span)
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * min(1.0, (step + 1) / 10) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
        t0 = time.monotonic()
        idx = rng.integers(0, crops, size=cfg.batch)
        feats, chroma = cache.batch(idx, torch.device("cpu"))
        pred = decoder(feats)
        prior = prior_table_now()
        if prior is not None:
            pred = pred + site_prior(prior, cache.luma_levels(idx, torch.device("cpu")))
        loss = colour_loss(pred, chroma, cfg.neutral_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        since_eval += time.monotonic() - t0
        ema = loss.item() if math.isnan(ema) else 0.9 * ema + 0.1 * loss.item()
        best_psnr = best["row"]["psnr_db"] - best["row"]["gray_psnr_db"]
        report("tuning", step, cfg.steps, f"loss {ema:.0f}, best held-out {best_psnr:+.2f} dB vs gray")
        # evaluate at doubling steps, but spend at most a quarter of the time on it
        if (step >= next_eval and since_eval > 3 * last_eval_s) or step == cfg.steps:
            next_eval = 2 * step
            found = scorer.evaluate(decoder, step, prior_now(), "tuned") | {"gain": round(float(gain), 4)}
            evaluated.append(found)
            last_eval_s, since_eval = found["seconds"], 0.0
            if _rank(found) > _rank(best):
                best, best_weights, best_table = found, decoder.weights(), prior_now()
    if step and evaluated[-1]["step"] != step and not stop:
        found = scorer.evaluate(decoder, step, prior_now(), "tuned") | {"gain": round(float(gain), 4)}
        evaluated.append(found)  # the last steps, when time or the step count ended them
        if _rank(found) > _rank(best):
            best, best_weights, best_table = found, decoder.weights(), prior_now()
    model = with_decoder(base, decoder_graph, best_weights)
    if best_table is not None and best_table is not came_with:
        model = with_site_prior(model, best_table.numpy())
    gamma = best["chroma_gamma"]
    if gamma != _curve_gamma(base):
        model = with_chroma_curve(model, gamma)
    model = with_extra_default(model, "colour_strength", best["strength"])
    brief = [{k: r.get(k) for k in ("step", "candidate", "gain", "chroma_gamma", "strength")} | _rounded(r["row"])
             for r in evaluated]
    record = {"base_model": base_name, "photos": {"tuned_on": [n for n, _ in train], "held_out": [n for n, _ in held],
                                                   "max_side": MAX_SIDE, "chosen_at_side": SELECT_SIDE},
              "hold_out_rule": HOLD_OUT_RULE, "rule": TUNE_RULE, "config": asdict(cfg),
              "steps": {"done": step, "chosen": best["step"], "planned": cfg.steps, "stopped_by": stopped_by},
              "chosen": best["candidate"],
              "site_prior": None if best_table is None or best_table is came_with else {
                  "what": "mean chroma per luma level of the tuned-on photos, times a learnt gain, added to the "
                          "decoder's output", "gain": best.get("gain", 1.0)},
              "colour_strength": best["strength"], "chroma_gamma": gamma,
              "tune_seconds": round(time.monotonic() - started, 1), "torch_threads": torch.get_num_threads(),
              "evaluated": brief}
    strength_record = {"rule": f"{TUNE_RULE} (held-out photos of the tuning folder)", "chosen": best["strength"],
                       "chroma_gamma": gamma, "meets_every_limit": meets_strength_limits(best["row"]),
                       "photos": len(held), "table": [_rounded(r) for r in best["table"]]}
    return Tuned(model, record, strength_record, stopped_by, evaluated)


def _rank(found: dict) -> tuple[bool, float]:
    return meets_strength_limits(found["row"]), found["row"]["psnr_db"]


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def _curve_gamma(model: onnx.ModelProto) -> float:
    curve = FrameModelInfo.read(model).record("chroma_curve", "the model")
    return float(curve["gamma"]) if isinstance(curve, dict) else 0.0


SELECT_SIDE = 320  # held-out photos are scored at this long side while choosing: 5 metrics x 11 strengths x 2
# curves per photo at 1024 px took most of a step's budget, and the network's chroma is 112 x 112 anyway


def _shrink(img: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(img.shape[:2])
    if scale >= 1:
        return img
    return cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)


class _HeldOutScorer:
    """Colours the held-out photos (at :data:`SELECT_SIDE`) from a decoder through the model's own colour math, at
    each chroma curve and colour strength, and scores them (:func:`~edgecolor.evaluation.colorizer.strength_table`)."""

    def __init__(self, base: onnx.ModelProto, graph: DecoderGraph, held: list[Photo], report: Progress) -> None:
        self.report = report
        self.photos = [(name, _shrink(img, SELECT_SIDE)) for name, img in held]
        self.grays = [to_gray_bgr(img) for _, img in self.photos]
        encoder = _OrtEncoder(encoder_model(base, graph, from_frame=True))
        outputs = [[f.float() for f in encoder.encode(g[None])] for g in self.grays]
        self.features = [out[:-1] for out in outputs]
        self.levels = [torch.from_numpy(prior_levels(out[-1].numpy())) for out in outputs]
        own = _curve_gamma(base)
        self.sessions, self.chroma_names = {}, {}
        for gamma in dict.fromkeys((own, 0.0)):
            curved = base if gamma == own else with_chroma_curve(base, gamma)
            cut = find_decoder(curved)  # the decoder's output is named for whether a curve follows it
            self.sessions[gamma] = _session(colour_model(curved, cut), threads=1)
            self.chroma_names[gamma] = cut.chroma

    def colour(self, gray: np.ndarray, chroma: np.ndarray, strength: float, gamma: float) -> np.ndarray:
        feed = {FRAME: gray[None], self.chroma_names[gamma]: chroma,
                "colour_strength": np.array(strength, np.float32)}
        return np.asarray(self.sessions[gamma].run(None, feed)[0][0])

    def evaluate(self, decoder: Decoder, step: int, table: torch.Tensor | None, candidate: str) -> dict:
        """The best chroma curve and strength for the held-out photos coloured by ``decoder`` (plus the site prior
        of ``table``, if any); ``candidate`` names it in the record."""
        t0 = time.monotonic()
        was_training = decoder.training
        decoder.eval()
        with torch.no_grad():
            chromas = [(decoder(f) if table is None else decoder(f) + site_prior(table, lv)).numpy()
                       for f, lv in zip(self.features, self.levels, strict=True)]
        decoder.train(was_training)
        best: dict | None = None
        for k, gamma in enumerate(self.sessions):
            self.report("scoring held-out photos", k, len(self.sessions), f"step {step}")
            groups = [(lambda g, s, c=c, gm=gamma: self.colour(g, c, s, gm), [photo])
                      for c, photo in zip(chromas, self.photos, strict=True)]
            rows = strength_table(groups)
            strength = pick_strength(rows)
            row = next(r for r in rows if r["strength"] == strength)
            found = {"step": step, "candidate": candidate, "chroma_gamma": gamma, "strength": strength, "row": row,
                     "table": rows}
            if best is None or _rank(found) > _rank(best):
                best = found
        assert best is not None  # at least one curve
        self.report("scoring held-out photos", len(self.sessions), len(self.sessions), f"step {step}")
        best["seconds"] = time.monotonic() - t0
        log.info("step %d (%s): held-out %.2f dB (gray %.2f) at strength %s, curve %s", step, candidate,
                 best["row"]["psnr_db"], best["row"]["gray_psnr_db"], best["strength"], best["chroma_gamma"])
        return best


LOOKUP_STRENGTH = 0.5  # the luma-lookup baseline's strength, as in edgecolor eval colorizer


def compare_held_out(base: onnx.ModelProto, tuned: onnx.ModelProto, photos: list[Photo]) -> dict[str, dict]:
    """Scores on the held-out photos (:func:`split_photos`) of the gray input, the model as it came and the tuned
    one (each at its own default strength, run whole on ONNX Runtime) and the luma-lookup baseline built from the
    training photos (:data:`LOOKUP_STRENGTH`): mean PSNR and its gain over gray, Delta E76, colourfulness ratio,
    colour recall, false colour, and the photos more than 2 dB below gray."""
    from edgecolor.models.lookup import apply_lookup, build_lookup
    from edgecolor.models.scoring import BAD_DB, below_gray, score

    train, held = split_photos(photos)
    truths = [img for _, img in held]
    grays = [to_gray_bgr(t) for t in truths]
    lookup = build_lookup(img for _, img in train)
    outputs = {"gray": grays}
    for who, model in (("base", base), ("tuned", tuned)):
        session = _session(model)
        outputs[who] = [np.asarray(session.run(None, {FRAME: g[None]})[0][0]) for g in grays]
    outputs["lookup"] = [apply_lookup(lookup, g, LOOKUP_STRENGTH) for g in grays]
    gray_psnr = score(grays, truths).psnr_db
    table = {}
    for who, outs in outputs.items():
        s = score(outs, truths)
        table[who] = {"psnr_db": round(s.psnr_db, 3), "psnr_gain_db": round(s.psnr_db - gray_psnr, 3),
                      "delta_e76": round(s.delta_e76, 3), "colourfulness_ratio": round(s.colourfulness_ratio, 3),
                      "colour_recall": None if s.colour_recall is None else round(s.colour_recall, 3),
                      "false_colour": None if s.false_colour is None else round(s.false_colour, 3),
                      "below_gray_2db": int((below_gray(outs, grays, truths) > BAD_DB).sum())}
    return table


def finish(tuned: Tuned, base: onnx.ModelProto, name: str, folder: Path, held_out: dict[str, dict]) -> onnx.ModelProto:
    """The tuned model with its metadata, as the shipped model records its own
    (:mod:`edgecolor.models.ship_colorizer`): name, source, training data, how its default strength was chosen, and
    the tuning record with the held-out scores of :func:`compare_held_out`."""
    import json

    from edgecolor import __version__

    base_data = FrameModelInfo.read(base).training_data or "unrecorded photos"
    record = tuned.record | {"folder": str(folder), "held_out": held_out}
    trained = len(record["photos"]["tuned_on"])
    model = onnx.ModelProto()
    model.CopyFrom(tuned.model)
    FrameModelInfo.read(model).replace(
        version=__version__, name=name, source=f"tuned by edgecolor tune colorizer from {tuned.record['base_model']}",
        training_data=f"{base_data}; tuned on {trained} photos of {folder.name}", tuning=json.dumps(record),
        colour_strength_validation=json.dumps(tuned.strength_record)).write(model)
    onnx.checker.check_model(model)
    return model
