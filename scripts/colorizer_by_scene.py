"""What to expect from the shipped colorizer by scene type, on the public evaluation set.

Runs, as a user would, one evaluation that also draws the before/after strip (gray input | model | truth, one row
per photo named in the labels' ``strip``):

    edgecolor eval colorizer --data data/eval --json --no-classifier --sheet docs/colorizer_by_scene.jpg \\
        --sheet-photo opencv_home --sheet-photo ...

then groups the per-photo results by the scene types in ``docs/eval_scene_types.json`` and prints one markdown
table, a row per type and one for all photos: photos, mean PSNR gain over the gray input (dB), mean Delta E76 of
the model vs of gray, colour recall, false colour (means over the photos that have pixels to score) and photos
more than 2 dB below gray. Then the strip's photos with their gain; exits 1 if none of them is a failure (more
than 2 dB below gray), since the strip must show one.

    python scripts/colorizer_by_scene.py --save-json runs/by-scene.json
    python scripts/colorizer_by_scene.py --from-json runs/by-scene.json     # regroup a saved evaluation, no strip

Bad labels (a photo with no type or two, a type for a photo not scored) exit 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from edgecolor.evaluation.colorizer import per_source
from edgecolor.models.scoring import BAD_DB

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "docs" / "eval_scene_types.json"
ALL = "all photos"


class BadInput(ValueError):
    """Labels that do not give each scored photo exactly one scene type, or an evaluation that cannot be grouped."""


def load_labels(path: Path) -> tuple[dict[str, str], list[str]]:
    """(photo name -> scene type, the strip's photos) from a labels file like ``docs/eval_scene_types.json``."""
    found = json.loads(path.read_text())
    labels: dict[str, str] = {}
    for scene, names in found["types"].items():
        for name in names:
            if name in labels:
                raise BadInput(f"{path}: {name} is both '{labels[name]}' and '{scene}'")
            labels[name] = scene
    strip = list(found.get("strip", []))
    unlabelled = [n for n in strip if n not in labels]
    if unlabelled:
        raise BadInput(f"{path}: strip photo {unlabelled[0]} has no scene type")
    return labels, strip


def check_cover(labels: dict[str, str], names: list[str]) -> None:
    """Raises :class:`BadInput` unless ``labels`` names exactly the photos ``names``."""
    missing = sorted(set(names) - set(labels))
    extra = sorted(set(labels) - set(names))
    if missing:
        raise BadInput(f"photo {missing[0]} has no scene type ({len(missing)} in all): add it to the labels")
    if extra:
        raise BadInput(f"labelled photo {extra[0]} was not scored ({len(extra)} in all): remove it or rebuild "
                         "the evaluation set (edgecolor data evalset --dest data/eval)")


def by_scene(per_photo: list[dict], labels: dict[str, str]) -> dict[str, dict]:
    """Per scene type, in the labels' order, then :data:`ALL`: ``photos``, ``gain_db`` (mean PSNR of the model
    minus gray's), ``delta_e76_model`` and ``delta_e76_gray`` (means), ``colour_recall`` and ``false_colour`` (the
    model's, means over the photos that have pixels to score; ``None`` where none has) and ``below_gray_2db``."""
    check_cover(labels, [r["name"] for r in per_photo])
    if per_photo and "delta_e76_model" not in per_photo[0]:
        raise BadInput("the evaluation has no per-photo Delta E76: run it with this checkout's edgecolor")
    groups = per_source(per_photo, labels) | per_source(per_photo, {r["name"]: ALL for r in per_photo})
    order = list(dict.fromkeys(labels.values())) + [ALL]
    return {scene: {"photos": g["photos"], "gain_db": g["psnr_model"] - g["psnr_gray"],
                    "delta_e76_model": g["delta_e76_model"], "delta_e76_gray": g["delta_e76_gray"],
                    "colour_recall": g["colour_recall_model"], "false_colour": g["false_colour_model"],
                    "below_gray_2db": g["below_gray_2db"]}
            for scene in order if (g := groups.get(scene))}


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(table: dict[str, dict]) -> str:
    lines = ["| scene type | photos | PSNR gain over gray, dB | ΔE76, model vs gray | colour recall | false colour "
             "| photos > 2 dB below gray |", "|---|---|---|---|---|---|---|"]
    for scene, r in table.items():
        name = f"**{scene}**" if scene == ALL else scene
        lines.append(f"| {name} | {r['photos']} | {r['gain_db']:+.2f} | {r['delta_e76_model']:.1f} vs "
                     f"{r['delta_e76_gray']:.1f} | {_share(r['colour_recall'])} | {_share(r['false_colour'])} "
                     f"| {r['below_gray_2db']} |")
    return "\n".join(lines)


def strip_lines(per_photo: list[dict], labels: dict[str, str], strip: list[str]) -> tuple[list[str], bool]:
    """One line per strip photo (type, gain, recall, false colour) and whether one of them is more than
    :data:`BAD_DB` below gray."""
    rows = {r["name"]: r for r in per_photo}
    lines, failure = [], False
    for name in strip:
        r = rows[name]
        gain = r["psnr_model"] - r["psnr_gray"]
        failure |= -gain > BAD_DB
        lines.append(f"- {name} ({labels[name]}): {gain:+.2f} dB over gray, colour recall "
                     f"{_share(r['colour_recall_model'])}, false colour {_share(r['false_colour_model'])}")
    return lines, failure


def evaluate(data: Path, model: str, strip_path: Path | None, strip: list[str]) -> dict:
    cmd = ["eval", "colorizer", "--data", str(data), "--model", model, "--json", "--no-classifier"]
    if strip_path is not None:
        cmd += ["--sheet", str(strip_path)] + [a for name in strip for a in ("--sheet-photo", name)]
    print("edgecolor " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run([sys.executable, "-c", "from edgecolor.cli import main; main()", *cmd],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # its own one-line error, and its exit status (2: an input to fix)
        said = proc.stderr.strip().splitlines()
        print(said[-1] if said else f"edgecolor eval colorizer exited {proc.returncode}", file=sys.stderr)
        sys.exit(proc.returncode)
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/eval"), help="the public evaluation set")
    parser.add_argument("--labels", type=Path, default=LABELS, help="scene type per photo, and the strip's photos")
    parser.add_argument("--model", default="colorizer", help="shipped model name or frame-model .onnx")
    parser.add_argument("--strip", type=Path, default=Path("docs/colorizer_by_scene.jpg"),
                        help="where the before/after strip goes (.jpg or .png)")
    parser.add_argument("--save-json", type=Path, help="also keep the evaluation's JSON here")
    parser.add_argument("--from-json", type=Path, help="group this saved evaluation instead of running one")
    args = parser.parse_args(argv)
    try:
        labels, strip = load_labels(args.labels)
        result = (json.loads(args.from_json.read_text()) if args.from_json
                  else evaluate(args.data, args.model, args.strip, strip))
        table = by_scene(result["per_photo"], labels)
    except (BadInput, OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.save_json:
        args.save_json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"colorizer by scene type: {result['model_file']} at colour strength {result['colour_strength']}, "
          f"{result['photos']} photos")
    print()
    print(markdown(table))
    print()
    lines, failure = strip_lines(result["per_photo"], labels, strip)
    print(f"strip ({'not drawn: --from-json' if args.from_json else args.strip}):")
    print("\n".join(lines))
    if strip and not failure:
        print(f"error: no strip photo is more than {BAD_DB:g} dB below gray; the strip must show a failure",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
