"""Apply the third-round rule (docs/models.md, "Third round") to runs/i30c/out/TAG/scores.json.
usage: choose.py [TAG]  (default heldout) -> prints the steps and writes runs/i30c/out/TAG/chosen.json"""
import json, sys
from pathlib import Path

import numpy as np

tag = sys.argv[1] if len(sys.argv) > 1 else "heldout"
out = Path("runs/i30c/out") / tag
scores = json.loads((out / "scores.json").read_text())
ORDER = ["harvest", "night-cafe", "cafe-terrace", "painter", "entrance-hall"]
KEEP_IF_DISTINCT = ["starry-night", "great-wave"]
SHIPPED_FALLBACK = {"harvest", "night-cafe", "cafe-terrace"}


def qualifies(s, palette_bar):
    return (s["grid_share"] <= 0.15 and s["palette_shift"] >= palette_bar and s["edge_correlation"] >= 0.30
            and s["border_stripe"] <= 15)


def outputs(key, cache={}):
    if key not in cache:
        cache[key] = np.load(out / f"{key}.npy").astype(np.int16)
    return cache[key]


def distance(a, b):
    return float(np.mean([np.abs(x - y).mean() for x, y in zip(outputs(a), outputs(b))]))


def latest_first(keys):
    return sorted(keys, key=lambda k: int(scores[k]["step"]), reverse=True)


taken: dict[str, str] = {}
report = {}
for name in ORDER:
    snaps = [k for k, s in scores.items() if s["name"] == name and s["step"] != "shipped"]
    cands = [k for k in snaps if qualifies(scores[k], 16.5)]
    bar = 16.5
    if not cands:
        cands, bar = [k for k in snaps if qualifies(scores[k], 15.0)], 15.0
    cands = latest_first(cands)
    if not cands and name in SHIPPED_FALLBACK:
        cands, bar = [f"shipped-{name}"], None
    report[name] = {"candidates": cands, "palette_bar": bar, "tried": {}}
    for k in cands:
        d = {t: round(distance(k, tk), 2) for t, tk in taken.items()}
        report[name]["tried"][k] = d
        if all(v >= 18 for v in d.values()):
            taken[name] = k
            break
for name in KEEP_IF_DISTINCT:
    k = f"shipped-{name}"
    d = {t: round(distance(k, tk), 2) for t, tk in taken.items()}
    report[name] = {"candidates": [k], "tried": {k: d}}
    if all(v >= 18 for v in d.values()):
        taken[name] = k
for name, r in report.items():
    print(f"{name:14s} bar {r.get('palette_bar')} candidates {r['candidates']}")
    for k, d in r["tried"].items():
        print(f"    {k}: {d}")
print("taken:", taken)
(out / "chosen.json").write_text(json.dumps({"taken": taken, "report": report}, indent=1))
