"""``edgecolor tune`` on one collection (issue 32, item 5): tune on 10 of its photos, score the rest.

Takes one Debian package's photos (by default kphotoalbum's demo album: one family's photos, people indoors and
out, pets, a canyon, a beach), fetched by package name (``apt-get download``, as ``edgecolor data fetch`` does).
The 10 tuning photos are fixed before any score is seen: in file-name order, photo ``round(i * n / 10)`` for
i = 0..9; the rest are scored. Then, as a user would, through the CLI:

    edgecolor tune colorizer TUNE10/ -o kpa.onnx --json
    edgecolor eval colorizer --data REST/ --model kpa.onnx  --lookup-from TUNE10/ --no-classifier --json
    edgecolor eval colorizer --data REST/ --model colorizer --lookup-from TUNE10/ --no-classifier --json

and checks the done-means bar of issue 32: the tuned model beats the luma-lookup table built from the same 10
photos on PSNR, Delta E and false colour at once, with colour recall >= 0.6, colourfulness ratio >= 0.5, at most 1
photo more than 2 dB below gray, and the tune within 10 minutes.

    python benchmarks/tune_collection.py --out benchmarks/results/2026-12-07-tune-kphotoalbum

``--model PATH`` tunes another colorizer than the shipped one (a ``base`` row scores it untuned).
``--corpus DIR --source NAME`` takes the collection from a corpus of ``edgecolor data fetch`` instead: the photos of
one source in its manifest (e.g. ``mvtb-data``: lawns, trees, flowers, streets), in manifest order.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = {"kphotoalbum": ("usr/share/kphotoalbum/demo", ("qt-logo.jpg",))}  # photo folder, files that are no photo


def photos_of(package: str, work: Path) -> list[Path]:
    from edgecolor.data.debian import unpack_packages

    folder, skip = PACKAGES[package]
    root = unpack_packages([package], work)[package] / folder
    return sorted(p for p in root.glob("*.jpg") if p.name not in skip)


def photos_of_source(corpus: Path, source: str) -> list[Path]:
    entries = json.loads((corpus / "manifest.json").read_text())["entries"]
    found = sorted(corpus / e["file"] for e in entries if e["source"] == source)
    if len(found) < 12:
        raise SystemExit(f"{corpus} has {len(found)} photos of {source}: need at least 12")
    return found


def edgecolor(*args: str) -> tuple[dict, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "from edgecolor.cli import main; main()", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"edgecolor {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout), time.monotonic() - t0


def bar(tuned: dict, lookup: dict, tune_s: float) -> dict[str, bool]:
    return {"psnr_above_lookup": tuned["psnr_db"] > lookup["psnr_db"],
            "delta_e_below_lookup": tuned["delta_e76"] < lookup["delta_e76"],
            "false_colour_below_lookup": tuned["false_colour"] < lookup["false_colour"],
            "colour_recall_at_least_0.6": tuned["colour_recall"] >= 0.6,
            "colourfulness_ratio_at_least_0.5": tuned["colourfulness_ratio"] >= 0.5,
            "at_most_1_photo_2db_below_gray": tuned["below_gray_2db"] <= 1,
            "tune_within_10_minutes": tune_s <= 600}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", default="kphotoalbum", choices=sorted(PACKAGES))
    ap.add_argument("--corpus", type=Path, help="a corpus folder: take the photos of --source from it instead")
    ap.add_argument("--source", help="with --corpus: the source whose photos form the collection")
    ap.add_argument("--work", type=Path, default=Path("runs/tune-collection"))
    ap.add_argument("--out", type=Path, required=True, help="record path without extension (.json is written)")
    ap.add_argument("--model", default="colorizer", help="the model tune starts from (default: the shipped one)")
    args = ap.parse_args()
    if args.corpus:
        if not args.source:
            ap.error("--corpus needs --source")
        photos, name = photos_of_source(args.corpus, args.source), args.source
    else:
        photos, name = photos_of(args.package, args.work / "debs"), args.package
    n = len(photos)
    picked = {round(i * n / 10) for i in range(10)}
    tune_dir, rest_dir = args.work / "tune10", args.work / "rest"
    for folder in (tune_dir, rest_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for i, p in enumerate(photos):
        shutil.copy(p, (tune_dir if i in picked else rest_dir) / p.name)
    model = args.work / f"{name}.onnx"
    load_before = Path("/proc/loadavg").read_text().split()[0]
    tuned_run, tune_s = edgecolor("tune", "colorizer", str(tune_dir), "-o", str(model), "--model", args.model,
                                  "--json", "-y")
    scores = {}
    bases = (("shipped", "colorizer"),) + ((("base", args.model),) if args.model != "colorizer" else ())
    for who, m in (("tuned", str(model)), *bases):
        scores[who], _ = edgecolor("eval", "colorizer", "--data", str(rest_dir), "--model", m, "--lookup-from",
                                   str(tune_dir), "--no-classifier", "--json")
    load_after = Path("/proc/loadavg").read_text().split()[0]
    keys = ("psnr_db", "delta_e76", "colourfulness_ratio", "colour_recall", "false_colour", "below_gray_2db")
    rows = {"gray": scores["tuned"]["gray"], "shipped": scores["shipped"]["model"],
            **({"base": scores["base"]["model"]} if "base" in scores else {}),
            "lookup (same 10 photos, 0.5)": scores["tuned"]["lookup"], "tuned": scores["tuned"]["model"]}
    table = {who: {k: row[k] for k in keys} for who, row in rows.items()}
    checks = bar(table["tuned"], table["lookup (same 10 photos, 0.5)"], tune_s)
    record = {"package": name, "base_model": args.model, "photos": n,
              "tuned_on": sorted(p.name for p in tune_dir.iterdir()),
              "scored": sorted(p.name for p in rest_dir.iterdir()), "tune_wall_s": round(tune_s, 1),
              "tune": {k: tuned_run.get(k) for k in ("steps", "chosen", "site_prior", "colour_strength",
                                                     "chroma_gamma", "tune_seconds", "held_out", "photos")},
              "scored_table": table, "per_photo": {w: s["per_photo"] for w, s in scores.items()},
              "done_means": checks, "all_met": all(checks.values()),
              "machine": {"cpu": platform.processor() or platform.machine(), "load_before": load_before,
                          "load_after": load_after}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    for who, row in table.items():
        print(f"{who:30s} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in row.items()))
    print(json.dumps(checks))


if __name__ == "__main__":
    main()
