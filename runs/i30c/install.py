"""Install the styles chosen by choose.py into edgecolor/assets, with the painting's title, package and licence
from the registry in the model's metadata; remove the assets of styles not taken."""
import json
from pathlib import Path

import onnx

from edgecolor.data.styles import PAINTINGS
from edgecolor.graph.contract import FrameModelInfo

taken = json.loads(Path("runs/i30c/out/heldout/chosen.json").read_text())["taken"]
scores = json.loads(Path("runs/i30c/out/heldout/scores.json").read_text())
assets = Path("edgecolor/assets")
paintings = {p.name: p for p in PAINTINGS}
for name, key in taken.items():
    dst = assets / f"style-{name}.onnx"
    if scores[key]["step"] == "shipped":
        print(f"{name}: keeps its shipped network")
        continue
    p = paintings[name]
    source = f"{p.title} (Debian {p.package})"
    model = onnx.load(scores[key]["model"])
    info = FrameModelInfo.read(model).replace(
        style_source=source, style_licence=p.licence,
        source=f"trained by edgecolor train style; painting: {source} ({p.licence})")
    info.write(model)
    onnx.save(model, dst)
    print(f"{name}: {key} -> {dst}")
for f in assets.glob("style-*.onnx"):
    if f.stem.removeprefix("style-") not in taken:
        print(f"{f.stem}: not taken, removed")
        f.unlink()
