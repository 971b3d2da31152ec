"""Apply the third-round rule (docs/models.md, "Third round") to runs/i30c/out/TAG/scores.json.
usage: choose.py [TAG]  (default heldout) -> prints the steps and writes runs/i30c/out/TAG/chosen.json"""
import json, sys
from pathlib import Path

import numpy as np

from edgecolor.evaluation.styles import TARGETS, mean_abs_diff, meets

tag = sys.argv[1] if len(sys.argv) > 1 else "heldout"
out = Path("runs/i30c/out") / tag
scores = json.loads((out / "scores.json").read_text())
ORDER = ["harvest", "night-cafe", "cafe-terrace", "painter", "entrance-hall"]
KEEP_IF_DISTINCT = ["starry-night", "great-wave"]
SHIPPED_FALLBACK = {"harvest", "night-cafe", "cafe-terrace"}


def qualifies(s, palette_bar):
    """evaluation.styles' targets, with the palette bar the rule sets (16.5, else 15)."""
    return s["palette_shift"] >= palette_bar and all(
        meets(k, s[k]) for k in ("grid_share", "edge_correlation", "border_stripe"))


def outputs(key, cache={}):
    if key not in cache:
        cache[key] = np.load(out / f"{key}.npy")
    return cache[key]


def distance(a, b):
    return float(np.mean([mean_abs_diff(x, y) for x, y in zip(outputs(a), outputs(b))]))


def latest_first(keys):
    return sorted(keys, key=lambda k: int(scores[k]["step"]), reverse=True)


taken: dict[str, str] = {}
report = {}
for name in ORDER:
    snaps = [k for k, s in scores.items() if s["name"] == name and s["step"] != "shipped"]
    cands = [k for k in snaps if qualifies(scores[k], 16.5)]
    bar = 16.5
    if not cands:
        cands, bar = [k for k in snaps if qualifies(scores[k], TARGETS["palette_shift"])], TARGETS["palette_shift"]
    cands = latest_first(cands)
    if not cands and name in SHIPPED_FALLBACK:
        cands, bar = [f"shipped-{name}"], None
    report[name] = {"candidates": cands, "palette_bar": bar, "tried": {}}
    for k in cands:
        d = {t: round(distance(k, tk), 2) for t, tk in taken.items()}
        report[name]["tried"][k] = d
        if all(meets("nearest_distance", v) for v in d.values()):
            taken[name] = k
            break
for name in KEEP_IF_DISTINCT:
    k = f"shipped-{name}"
    d = {t: round(distance(k, tk), 2) for t, tk in taken.items()}
    report[name] = {"candidates": [k], "tried": {k: d}}
    if all(meets("nearest_distance", v) for v in d.values()):
        taken[name] = k
for name, r in report.items():
    print(f"{name:14s} bar {r.get('palette_bar')} candidates {r['candidates']}")
    for k, d in r["tried"].items():
        print(f"    {k}: {d}")
print("taken:", taken)
(out / "chosen.json").write_text(json.dumps({"taken": taken, "report": report}, indent=1))
