"""``edgecolor train``: train networks with PyTorch (extra: train) and export them as frame models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.cli._common import JsonOpt, console, emit_json, progress
from edgecolor.errors import require

app = typer.Typer(rich_markup_mode=None, help="Train networks (needs: pip install 'edgecolor[train]').", no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    corpus: Annotated[Path, typer.Option(help="Corpus built by 'edgecolor data fetch'.")] = Path("data/corpus"),
    out: Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, exported ONNX.")] = Path("runs/colorizer"),
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps (batch 16). ~1.1 s/step on 2 CPU cores.")] = 4500,
    batch: Annotated[int, typer.Option(min=1)] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine decay).")] = 1e-3,
    resume: Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")] = False,
    max_minutes: Annotated[float, typer.Option(help="Stop and checkpoint after this long (0 = no limit).")] = 0.0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    install: Annotated[bool, typer.Option(help="Copy the exported model into the package as the shipped colorizer.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train the colorizer decoder on the corpus, export the frame model and pick its default colour
    strength on validation photos. Interrupt any time; --resume continues from the last checkpoint."""
    require("torch", "train")
    require("efficientnet_lite_pytorch", "train")
    from edgecolor.models.ship_colorizer import export_and_calibrate
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer
    from edgecolor.registry import ASSETS

    cfg = TrainConfig(steps=steps, batch=batch, lr=lr, max_minutes=max_minutes, device=device)
    with progress(not as_json) as bar:
        task = bar.add_task("training", total=steps)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, description=f"training (loss {loss:.0f})")

        weights = train_colorizer(corpus, out, cfg, resume=resume, progress=on_step)
    result = export_and_calibrate(out, corpus, ASSETS / "colorizer.onnx" if install else None)
    result["weights"] = str(weights)
    if as_json:
        emit_json(result)
        return
    console.print(f"exported {result['onnx']} (default colour strength {result['colour_strength']})")
    console.print(f"next: edgecolor eval colorizer --model {result['onnx']} --data data/eval")
