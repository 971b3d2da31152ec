#!/usr/bin/env bash
# Train (or --resume) the shipped styles one after another on one CPU thread, each for MINUTES of
# training time in total (the time limit is cumulative over resumes), then export each frame model.
# Usage: scripts/train_styles.sh MINUTES STYLE... (paintings from 'edgecolor data styles' in data/styles)
# A resumed run keeps every setting it recorded (runs/style-NAME/training.json); a new one takes the shipped
# recipe: --arch fast-resize, 256 px crops, batch 1, style weight 10, luma content, palette quantiles at weight 10
# (docs/models.md, Styles).
set -euo pipefail
minutes=$1; shift
py=${PYTHON:-python}
for name in "$@"; do
  img=$(ls data/styles/"$name".* | head -1)
  meta=$($py -c "from edgecolor.data.styles import PAINTINGS as P; p={p.name: p for p in P}['$name']; print(p.title + ' (Debian ' + p.package + ')'); print(p.licence)")
  resume=(); [ -f runs/style-"$name"/style.ckpt ] && resume=(--resume)
  # the recorded settings of a run, as options (a key the record lacks was added later: such runs used the
  # training config's default, which keeps what they did)
  mapfile -t recorded < <($py - runs/style-"$name"/training.json <<'PY'
import json, sys
from dataclasses import asdict
from edgecolor.models.train_style import StyleTrainConfig
try:
    cfg = asdict(StyleTrainConfig()) | json.load(open(sys.argv[1]))["config"]
except OSError:
    cfg = {"arch": "fast-resize", "crop": 256, "batch": 1, "style_weight": 10.0, "palette_weight": 10.0,
           "palette": "quantiles", "content": "luma"}
for key in ("arch", "crop", "batch", "style_weight", "palette_weight", "palette", "content", "padding",
            "style_size", "lr"):
    if key in cfg:
        print("--" + key.replace("_", "-")); print(cfg[key])
PY
)
  $py -c "from edgecolor.cli import main; main()" train style --style-image "$img" --name "$name" --out runs/style-"$name" \
    --corpus "${CORPUS:-data/corpus-styles}" --steps 100000 --max-minutes "$minutes" --threads 1 --device cpu \
    "${recorded[@]}" --source "$(sed -n 1p <<<"$meta")" --licence "$(sed -n 2p <<<"$meta")" "${resume[@]}" --json
done
