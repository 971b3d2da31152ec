"""Score style snapshots on one photo folder; keep each snapshot's outputs for the pairwise distances.
usage: score.py DATA TAG ONNX...  -> runs/i30c/out/TAG/<step>-<name>.npy and runs/i30c/out/TAG/scores.json
(the step is the snapshot folder's name, 'shipped' for edgecolor/assets)"""
import json, sys
from pathlib import Path

import numpy as np

from edgecolor.backends import open_engine
from edgecolor.choices import CpuPath, Task
from edgecolor.evaluation.colorizer import load_photos
from edgecolor.evaluation.styles import score_outputs, square_photos

data, tag, models = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
out = Path("runs/i30c/out") / tag
out.mkdir(parents=True, exist_ok=True)
scores_file = out / "scores.json"
scores = json.loads(scores_file.read_text()) if scores_file.exists() else {}
photos = square_photos([img for _, img in load_photos(data)], 384)
for m in models:
    p = Path(m)
    step = "shipped" if p.parent.name == "assets" else p.parent.name
    name = p.stem.removeprefix("style-")
    key = f"{step}-{name}"
    if key in scores:
        continue
    engine = open_engine(p, cpu_path=CpuPath.GRAPH, task=Task.STYLIZE)
    outs = [engine(ph) for ph in photos]
    np.save(out / f"{key}.npy", np.stack(outs))
    score = score_outputs({name: outs}, photos)[0]  # one style: its own measures, no distance
    scores[key] = {"step": step, "name": name, "model": str(p),
                   **{k: getattr(score, k) for k in ("grid_share", "palette_shift", "edge_correlation",
                                                     "border_stripe", "mean_abs_change")}}
    scores_file.write_text(json.dumps(scores, indent=1))
    s = scores[key]
    print(f"{key:28s} grid {s['grid_share']:.3f} palette {s['palette_shift']:.2f} edge {s['edge_correlation']:.3f} "
          f"stripe {s['border_stripe']:.1f} change {s['mean_abs_change']:.1f}", flush=True)
