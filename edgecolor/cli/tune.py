"""``edgecolor tune``: adapt a shipped network to one site or collection from a handful of its photos."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from edgecolor.cli._common import JsonOpt, NoOverwriteOpt, OverwriteOpt, console, emit_json, print_line, progress
from edgecolor.cli._numbers import THREADS, bounded

app = typer.Typer(rich_markup_mode=None, help="Adapt a model to one site or collection (needs: pip install "
                  "'edgecolor[train]').\n\n\b\nExample: edgecolor tune colorizer site_photos/ -o site.onnx",
                  no_args_is_help=True)

ROWS = (("gray input", "gray"), ("model as it came", "base"), ("lookup table", "lookup"), ("tuned", "tuned"))


@app.command("colorizer")
def colorizer(
    photos: Annotated[Path, typer.Argument(help="Folder of 5 to 50 colour photos of the site or collection.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The tuned frame model to write (.onnx).")],
    model: Annotated[str, typer.Option(help="The colorizer to start from: shipped name or frame-model .onnx "
                                            "(one from edgecolor train or tune colorizer).")] = "colorizer",
    minutes: Annotated[float, typer.Option(help="Most minutes the whole command takes; training stops in time to "
                                                "score and write (10 photos, 10 minutes: 156 steps on a loaded "
                                                "2-core CPU).",
                                           callback=bounded(0, 24 * 60, above=True))] = 10.0,
    steps: Annotated[int, typer.Option(help="Most decoder training steps (batch 8); --minutes may end them "
                                            "sooner.", callback=bounded(1, 100_000))] = 400,
    threads: Annotated[int, typer.Option(help="PyTorch CPU threads (0 = default; at most 256).",
                                         callback=THREADS)] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the crops and their order.",
                                      callback=bounded(0, 2**31 - 1))] = 0,
    site_prior: Annotated[bool, typer.Option(help="Start from the photos' own luma-lookup table and train the "
                                                  "decoder on what it gets wrong (--no-site-prior: tune the "
                                                  "model's decoder as it is).")] = True,
    overwrite: OverwriteOpt = False,
    no_overwrite: NoOverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Tune the colorizer to one site or collection: train its decoder on crops of a few colour photos (its
    encoder stays frozen), choose the step, chroma curve and colour strength on a held-out share of them (30 %,
    at least 2), and write an ordinary frame model that colorize, run, bench, eval and build accept. Prints the
    held-out scores before and after, and those of the luma-lookup table built from the same training photos.
    Ctrl+C stops the tuning and writes the best model found so far (exit 130).

    \b
    Example: edgecolor tune colorizer site_photos/ -o site.onnx
    Example: edgecolor tune colorizer archive_sample/ -o family.onnx --minutes 5 --json
    Example: edgecolor colorize old_scans/ -o coloured/ --model family.onnx
    Example: edgecolor build family.onnx --precision int8 --target cpu"""
    started = time.monotonic()
    from edgecolor.errors import InputError, require
    from edgecolor.overwrite import Inputs, overwrite_policy, refuse_existing
    from edgecolor.registry import resolve_model

    policy = overwrite_policy(overwrite, no_overwrite)
    if output.suffix.lower() != ".onnx":
        raise InputError(f"the tuned model {output} must be an .onnx file", "name it e.g. site.onnx")
    import onnx

    from edgecolor.models.tune_graph import find_decoder
    from edgecolor.models.tune_photos import read_photos

    base_path = resolve_model(model)
    pictures = read_photos(photos)
    Inputs([photos / name for name, _ in pictures] + [base_path]).check_file(output, "tuned model")
    refuse_existing(output, policy, "tuned model")
    base = onnx.load(str(base_path))
    find_decoder(base, model)  # a model tune cannot adapt is refused before any work
    require("torch", "train")
    from edgecolor.models import tune as tuning
    if threads:
        import torch

        torch.set_num_threads(threads)
    cfg = tuning.TuneConfig(steps=steps, minutes=minutes, seed=seed, site_prior=site_prior)
    from edgecolor.signals import stopping
    from edgecolor.tempdirs import work_dir

    with stopping() as stop, work_dir("tune") as scratch, progress(not as_json) as bar:
        tasks: dict[str, object] = {}

        def on_progress(stage: str, done: int, total: int, note: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total,  # type: ignore[arg-type]
                       description=f"{stage} ({note})" if note else stage)

        try:
            tuned = tuning.tune_colorizer(base, str(model), pictures, cfg, scratch, on_progress, stop, started)
        except tuning.Stopped:
            print_line(f"interrupted by {stop.name}: stopped before the model could be scored; nothing written")
            raise typer.Exit(stop.exit_code) from None
        on_progress("before/after scores", 0, 1, "")
        held_out = tuning.compare_held_out(base, tuned.model, pictures)
        on_progress("before/after scores", 1, 1, "")
        final = tuning.finish(tuned, base, output.stem, photos, held_out)
        _write(final, output)
    record = tuned.record | {"held_out": held_out, "output": str(output)}
    if stop:
        chosen = record["steps"]
        print_line(f"interrupted by {stop.name}: wrote {output} with the best step evaluated so far (step "
                   f"{chosen['chosen']} of {chosen['done']} done; held-out PSNR "
                   f"{held_out['tuned']['psnr_gain_db']:+.2f} dB vs gray)")
        raise typer.Exit(stop.exit_code)
    if as_json:
        emit_json(record)
        return
    _print(record, output)


def _write(model: object, output: Path) -> None:
    import onnx

    from edgecolor.imageio import atomic_output

    with atomic_output(output) as tmp:
        onnx.save(model, str(tmp))  # type: ignore[arg-type]


def _print(record: dict, output: Path) -> None:
    from rich.table import Table

    photos, steps = record["photos"], record["steps"]
    console.print(f"tuned on {len(photos['tuned_on'])} photos, scored on {len(photos['held_out'])} held out "
                  f"({', '.join(photos['held_out'])}); chose {record['chosen']} (step {steps['chosen']} of "
                  f"{steps['done']}"
                  f", {record['tune_seconds']:.0f} s, stopped by {steps['stopped_by']}), colour strength "
                  f"{record['colour_strength']}, chroma curve {record['chroma_gamma'] or 'none'}")
    table = Table("held-out photos", "PSNR vs gray dB", "ΔE76", "colourfulness ratio", "colour recall",
                  "false colour", "> 2 dB below gray")
    for label, key in ROWS:
        row = record["held_out"][key]
        table.add_row(label, f"{row['psnr_gain_db']:+.2f}", f"{row['delta_e76']:.2f}",
                      f"{row['colourfulness_ratio']:.2f}", _share(row["colour_recall"]), _share(row["false_colour"]),
                      str(row["below_gray_2db"]))
    console.print(table)
    console.print("lookup table: each luma level's mean chroma of the training photos, at strength 0.5")
    console.print(f"wrote {output}")
    console.print(f"next: edgecolor colorize photo.jpg -o out.jpg --model {output}")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
