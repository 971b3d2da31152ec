"""``edgecolor train``: train networks with PyTorch (extra: train) and export them as frame models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgecolor.choices import ColourLoss, Decoder, Encoder, Head, ValFold
from edgecolor.cli._common import JsonOpt, console, emit_json, progress
from edgecolor.cli._numbers import THREADS, bounded
from edgecolor.errors import require

app = typer.Typer(rich_markup_mode=None, help="Train networks (needs: pip install 'edgecolor[train]').\n\n"
                       "\b\nExample: edgecolor train colorizer --corpus data/corpus --max-minutes 60",
                  no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    corpus: Annotated[Path, typer.Option(help="Corpus built by 'edgecolor data fetch'.")] = Path("data/corpus"),
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, exported ONNX.")] = Path("runs/colorizer"),
    steps: Annotated[int, typer.Option(help="Optimizer steps (batch 16); ~1 s/step on one CPU core with the "
                                            "feature cache; the shipped model's recipe: 1500, best checkpoint "
                                            "at 1000).", callback=bounded(1, 10**7))] = 1500,
    batch: Annotated[int, typer.Option(callback=bounded(1, 4096))] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine decay).",
                                      callback=bounded(0, 10, above=True))] = 1e-3,
    neutral_weight: Annotated[float, typer.Option(
        help="Extra weight of colour errors where the truth is neutral (0 = plain MSE; the shipped model: 5).",
        callback=bounded(0, 100))] = 5.0,
    loss: Annotated[ColourLoss, typer.Option(
        help="How pixel errors add up: pixel (every pixel of the batch alike: the shipped model) or log-crop "
             "(the mean of each crop's log error, i.e. of per-crop PSNR: a false tint on a near-neutral crop "
             "counts as much as a wrong hue on a vivid one).")] = ColourLoss.PIXEL,
    cache_crops: Annotated[int, typer.Option(
        help="Crops whose frozen-encoder features are computed once (~0.8 MB each on disk; 0 = run the "
             "encoder every step).", callback=bounded(0, 200_000))] = 6000,
    threads: Annotated[int, typer.Option(help="PyTorch CPU threads (0 = default; at most 256).",
                                         callback=THREADS)] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")] = False,
    max_minutes: Annotated[float, typer.Option(help="Stop and checkpoint after this long (0 = no limit).",
                                           callback=bounded(0, 10**6))] = 0.0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the decoder's initial weights and the crop order (a "
                                           "replicate run: same settings, another seed).",
                                      callback=bounded(0, 2**31 - 1))] = 0,
    unfreeze_top: Annotated[bool, typer.Option(
        help="Also train the encoder's last stage (its stride-32 blocks) at --encoder-lr; the cached features "
             "still serve (about a quarter more time a step).")] = False,
    encoder_lr: Annotated[float, typer.Option(help="Peak learning rate of the encoder's last stage.",
                                              callback=bounded(0, 10, above=True))] = 1e-4,
    val_fold: Annotated[ValFold, typer.Option(
        help="Which held-out sources validate: 0 (the shipped split), 1, 2 (indoor-like: kphotoalbum, ufoai's "
             "walls, floors and furniture), 3 (every other source) (cross-validation by source), or "
             "all: train on every source and choose the exported step and colour strength on --folds.")
                        ] = ValFold.FOLD_0,
    folds: Annotated[str | None, typer.Option(
        help="With --val-fold all: the finished runs of folds 0, 1, 2, 3, comma-separated (e.g. "
             "runs/cv0,runs/cv1,runs/cv2,runs/cv3).")] = None,
    chroma_gamma: Annotated[float, typer.Option(
        help="Chroma curve of the exported model: chroma x min((|chroma| / 10) ^ G, 4) per pixel before the "
             "colour strength, so faint (unsure) colour fades toward gray and strong colour stays (0 = none). "
             "Applied at export, also to --folds' models when choosing the strength (the shipped model: 0.75).",
        callback=bounded(0, 4))] = 0.75,
    texture_share: Annotated[float | None, typer.Option(
        help="Share of each batch's crops drawn from the corpus's textures (tiles and cut-outs on walls), the "
             "rest from its scenes; unset: every photo alike.", callback=bounded(0, 1))] = None,
    decoder: Annotated[Decoder, typer.Option(
        help="Decoder width: base (the shipped model's, 0.86 GMAC in all at 224 x 224) or wide (1.48 GMAC).")
                       ] = Decoder.BASE,
    features_dir: Annotated[Path | None, typer.Option(
        help="Feature cache folder to share between runs on the same photos (default RUN/features).")] = None,
    head: Annotated[Head, typer.Option(
        help="regression (chroma directly: the shipped model's) or classes (a distribution over 121 quantised "
             "chroma cells, trained by cross-entropy, output as its annealed mean).")] = Head.REGRESSION,
    rebalance: Annotated[float, typer.Option(
        help="With --head classes: share of a uniform prior in the class weights (1 = every colour alike, the "
             "better on the indoor validation fold; 0.5 = Zhang et al.'s rebalancing toward rare colours).",
        callback=bounded(0, 1))] = 1.0,
    class_neutral_weight: Annotated[float, typer.Option(
        help="With --head classes: extra weight of the cross-entropy where the truth is neutral, as "
             "--neutral-weight is for the regression head (0 = none).", callback=bounded(0, 100))] = 0.0,
    anneal_t: Annotated[float, typer.Option(
        help="With --head classes: temperature of the exported annealed mean (lower: each pixel nearer its most "
             "likely colour cell; training does not use it, so --resume of a finished run exports again at another "
             "T).", callback=bounded(0.01, 10))] = 0.38,
    encoder: Annotated[Encoder, typer.Option(
        help="ImageNet encoder: lite0 (EfficientNet-Lite0, the shipped model's) or lite2 (EfficientNet-Lite2: "
             "ImageNet top-1 77.6 % against 75.1 %, 1.10 GMAC in all with the base decoder and --head classes, "
             "against 0.90).")] = Encoder.LITE0,
    install: Annotated[bool, typer.Option(
        help="Copy the exported model into the package as the shipped colorizer.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train the colorizer decoder on the corpus, export the best checkpoint on the held-out validation
    sources as a frame model and pick its default colour strength on them. Interrupt any time; --resume
    continues from the last checkpoint.

    
    Example: edgecolor train colorizer --corpus data/corpus --max-minutes 60 --threads 1 --install
    Example: edgecolor train colorizer --val-fold 2 --texture-share 0.25 --out runs/mix25"""
    fold, fold_runs = parse_folds(val_fold, folds)
    if head != Head.CLASSES:  # the class head's own options would be silently unused by the regression head
        for hint, given in (("--rebalance", rebalance != 1.0), ("--class-neutral-weight", class_neutral_weight != 0.0)):
            if given:
                raise typer.BadParameter("only with --head classes", param_hint=hint)
    require("torch", "train")
    require("efficientnet_lite_pytorch", "train")
    from edgecolor.models.ship_colorizer import export_and_calibrate
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer
    from edgecolor.registry import ASSETS

    if threads:
        import torch

        torch.set_num_threads(threads)
    cfg = TrainConfig(steps=steps, batch=batch, lr=lr, neutral_weight=neutral_weight,
                      loss=loss.value, cache_crops=cache_crops,
                      max_minutes=max_minutes, device=device, seed=seed,
                      unfreeze_top=unfreeze_top, encoder_lr=encoder_lr, val_fold=fold,
                      texture_share=texture_share, decoder=decoder.value, head=head.value, rebalance=rebalance,
                      class_neutral_weight=class_neutral_weight, encoder=encoder.value,
                      features_dir=str(features_dir) if features_dir else "")
    with progress(not as_json) as bar:
        task = bar.add_task("training", total=steps)
        cache_task = bar.add_task("encoder features", total=max(cache_crops, 1), visible=bool(cache_crops))

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, description=f"training (loss {loss:.0f})")

        def on_cache(done: int, total: int) -> None:
            bar.update(cache_task, completed=done)

        weights = train_colorizer(corpus, out, cfg, resume=resume, progress=on_step, cache_progress=on_cache)
    result = export_and_calibrate(out, corpus, ASSETS / "colorizer.onnx" if install else None, fold_runs,
                                  chroma_gamma, anneal_t)
    result["weights"] = str(weights)
    if as_json:
        emit_json(result)
        return
    console.print(f"exported {result['onnx']} (default colour strength {result['colour_strength']})")
    console.print(f"next: edgecolor eval colorizer --model {result['onnx']} --data data/eval")


def parse_folds(val_fold: ValFold, folds: str | None) -> tuple[int | None, list[Path]]:
    """``--val-fold`` and ``--folds``: the validation fold (None = all sources train) and the fold runs."""
    from edgecolor.data.split import FOLDS

    runs = [Path(p) for p in folds.split(",") if p.strip()] if folds else []
    if val_fold != ValFold.ALL:
        if runs:
            raise typer.BadParameter("only with --val-fold all", param_hint="--folds")
        return int(val_fold.value), []
    if len(runs) != FOLDS:
        raise typer.BadParameter(f"--val-fold all needs the {FOLDS} fold runs (0 .. {FOLDS - 1} in order), e.g. "
                                 "--folds runs/cv0,runs/cv1,runs/cv2,runs/cv3", param_hint="--folds")
    return None, runs


@app.command("style")
def style(
    style_image: Annotated[Path, typer.Option("--style-image", help="The painting to learn (any image file).")],
    name: Annotated[str, typer.Option(help="Style name: the model becomes style-NAME.onnx.")],
    corpus: Annotated[Path, typer.Option(help="Content photos ('edgecolor data fetch').")] = Path("data/corpus"),
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/style-NAME).")] = None,
    steps: Annotated[int, typer.Option(help="Optimizer steps (~1 s each on one CPU core).",
                                       callback=bounded(1, 10**7))] = 2000,
    batch: Annotated[int, typer.Option(callback=bounded(1, 4096))] = 1,
    crop: Annotated[int, typer.Option(help="Content crop size in pixels.", callback=bounded(64, 4096))] = 256,
    style_size: Annotated[int, typer.Option(help="Long side of the painting for its Gram matrices.",
                                            callback=bounded(64, 4096))] = 256,
    style_weight: Annotated[float, typer.Option(help="Style weight (content is 1); higher = more painterly.",
                                                callback=bounded(0, 1e6))] = 10.0,
    palette_weight: Annotated[float, typer.Option(
        help="Weight of the painting's colour palette (chroma mean and covariance); 0 = only the Gram "
             "matrices carry colour.", callback=bounded(0, 1e6))] = 10.0,
    palette: Annotated[str, typer.Option(help="quantiles: the palette term matches the painting's whole colour "
                                              "distribution (sliced Wasserstein) | moments: its chroma mean and "
                                              "covariance only.")] = "quantiles",
    content: Annotated[str, typer.Option(help="luma: the content loss compares gray images, so the painting's "
                                              "palette recolours the photo | colour: it also keeps the photo's "
                                              "colours.")] = "luma",
    init_from: Annotated[Path | None, typer.Option(help="Start a new run from the weights of another run's "
                                                        "style.ckpt or style.pt (same --arch).")] = None,
    lr: Annotated[float, typer.Option(help="Adam learning rate (constant).",
                                      callback=bounded(0, 10, above=True))] = 2e-3,
    padding: Annotated[str, typer.Option(help="reflect | zeros (3x3 convolutions; resume with what the run used).")
                       ] = "reflect",
    arch: Annotated[str, typer.Option(help="fast-resize (bilinear resize-convolution: no pixel grid; the shipped "
                                           "styles) | fast (pixel-shuffle upsampling) | johnson.")] = "fast-resize",
    source: Annotated[str | None, typer.Option(help="Where the painting comes from (model metadata; default: "
                                                    "what the run recorded, else 'user-supplied').")] = None,
    licence: Annotated[str | None, typer.Option(help="The painting's licence (model metadata; default: what the "
                                                     "run recorded, else 'unknown').")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")] = False,
    max_minutes: Annotated[float, typer.Option(help="Stop and checkpoint after this long (0 = no limit).",
                                           callback=bounded(0, 10**6))] = 0.0,
    threads: Annotated[int, typer.Option(help="PyTorch CPU threads (0 = default; at most 256).", callback=THREADS)] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    install: Annotated[bool, typer.Option(help="Copy the exported model into the package as a shipped style.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a feed-forward style network for one painting on the corpus photos and export it as the
    frame model style-NAME.onnx. Interrupt any time; --resume continues from the last checkpoint.

    \b
    Example: edgecolor train style --style-image starry_night.jpg --name starry-night --install"""
    require("torch", "train")
    require("h5py", "train")
    from edgecolor.errors import InputError
    from edgecolor.models.style import StyleArch
    from edgecolor.models.style_export import check_style_name, export_style
    from edgecolor.models.train_style import StyleTrainConfig, load_style_image, train_style
    from edgecolor.registry import ASSETS

    if arch not in {a.value for a in StyleArch}:
        raise InputError(f"unknown --arch '{arch}'", "use one of: " + ", ".join(a.value for a in StyleArch))
    net_arch = StyleArch(arch)
    if palette not in ("moments", "quantiles"):
        raise InputError(f"unknown --palette '{palette}'", "use quantiles or moments")
    if content not in ("colour", "luma"):
        raise InputError(f"unknown --content '{content}'", "use luma or colour")
    if init_from is not None and not init_from.is_file():
        raise InputError(f"--init-from {init_from} is not a file", "pass a run's style.ckpt or style.pt")
    check_style_name(name)
    load_style_image(style_image, style_size)  # a bad painting fails before the corpus is loaded
    run = out or Path("runs") / f"style-{name}"
    cfg = StyleTrainConfig(steps=steps, batch=batch, crop=crop, style_size=style_size, style_weight=style_weight,
                           palette_weight=palette_weight, palette=palette, content=content, lr=lr,
                           max_minutes=max_minutes, threads=threads, device=device, padding=padding, arch=net_arch)
    with progress(not as_json) as bar:
        task = bar.add_task("training", total=steps)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, description=f"training (loss {loss:.3f})")

        weights = train_style(style_image, corpus, run, cfg, resume=resume, progress=on_step, init_from=init_from)
    # Provenance is kept with the run, so --resume without --source/--licence does not lose it.
    recorded_path = run / "provenance.json"
    recorded = json.loads(recorded_path.read_text()) if recorded_path.is_file() else {}
    source = source or recorded.get("source", "user-supplied")
    licence = licence or recorded.get("licence", "unknown")
    recorded_path.write_text(json.dumps({"source": source, "licence": licence}))
    result = export_style(weights, run, name, source=source, licence=licence,
                          install_to=ASSETS / f"style-{name}.onnx" if install else None)
    if as_json:
        emit_json(result)
        return
    console.print(f"exported {result['onnx']} ({result['size_mb']} MB, "
                  f"{result['steps_done']} steps in {result['train_seconds']:.0f} s)")
    console.print(f"next: edgecolor stylize photo.jpg --style {result['onnx'] if not install else name} -o styled.jpg")
