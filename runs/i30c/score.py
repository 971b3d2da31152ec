"""Score style snapshots on one photo folder; keep each snapshot's outputs for the pairwise distances.
usage: score.py DATA TAG ONNX...  -> runs/i30c/out/TAG/<step>-<name>.npy and runs/i30c/out/TAG/scores.json
(the step is the snapshot folder's name, 'shipped' for edgecolor/assets)"""
import json, sys
from pathlib import Path

import numpy as np

from edgecolor.backends import open_engine
from edgecolor.choices import CpuPath, Task
from edgecolor.evaluation.colorizer import load_photos
from edgecolor.evaluation.styles import (border_stripe, edge_correlation, grid_share, mean_abs_diff,
                                         palette_shift, square_photos)

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
    pairs = list(zip(outs, photos))
    scores[key] = {
        "step": step, "name": name, "model": str(p),
        "grid_share": float(np.mean([grid_share(o) for o, _ in pairs])),
        "palette_shift": float(np.mean([palette_shift(o, ph) for o, ph in pairs])),
        "edge_correlation": float(np.mean([edge_correlation(ph, o) for o, ph in pairs])),
        "border_stripe": float(np.mean([border_stripe(ph, o)[0] for o, ph in pairs])),
        "mean_abs_change": float(np.mean([mean_abs_diff(o, ph) for o, ph in pairs])),
    }
    scores_file.write_text(json.dumps(scores, indent=1))
    s = scores[key]
    print(f"{key:28s} grid {s['grid_share']:.3f} palette {s['palette_shift']:.2f} edge {s['edge_correlation']:.3f} "
          f"stripe {s['border_stripe']:.1f} change {s['mean_abs_change']:.1f}", flush=True)
