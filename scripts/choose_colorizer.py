"""Pick the colorizer to ship among finished training runs, on validation only (RUN_RULE), and install it.

    python scripts/choose_colorizer.py runs/colorizer runs/col-nw5 runs/col-nw10 [--install]

Prints every candidate's validation numbers and the choice as JSON; --install writes the chosen model, with the
comparison in its ``edgecolor.model_selection`` metadata, over the shipped ``edgecolor/assets/colorizer.onnx``.
"""

import argparse
import json
from pathlib import Path

from edgecolor.models.ship_colorizer import choose_run
from edgecolor.registry import ASSETS

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("runs", nargs="+", type=Path)
parser.add_argument("--install", action="store_true")
args = parser.parse_args()
print(json.dumps(choose_run(args.runs, ASSETS / "colorizer.onnx" if args.install else None), indent=1))
