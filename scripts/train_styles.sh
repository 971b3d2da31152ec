#!/usr/bin/env bash
# Train (or --resume) the shipped styles one after another on one CPU thread, each for MINUTES of
# training time in total (the time limit is cumulative over resumes), then export each frame model.
# Usage: scripts/train_styles.sh MINUTES STYLE... (paintings from 'edgecolor data styles' in data/styles)
set -euo pipefail
minutes=$1; shift
py=${PYTHON:-python}
for name in "$@"; do
  img=$(ls data/styles/"$name".* | head -1)
  meta=$($py -c "from edgecolor.data.styles import PAINTINGS as P; p={p.name: p for p in P}['$name']; print(p.title + ' (Debian ' + p.package + ')'); print(p.licence)")
  resume=(); [ -f runs/style-"$name"/style.ckpt ] && resume=(--resume)
  # a resumed run keeps the style weight it was started with (kandinsky: 30); a new one takes STYLE_WEIGHT
  weight=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['config']['style_weight'])" \
    runs/style-"$name"/training.json 2>/dev/null || echo "${STYLE_WEIGHT:-10}")
  $py -c "from edgecolor.cli import main; main()" train style --style-image "$img" --name "$name" --out runs/style-"$name" \
    --corpus "${CORPUS:-data/corpus}" --steps 100000 --max-minutes "$minutes" --threads 1 --device cpu \
    --crop "${CROP:-128}" --style-weight "$weight" \
    --source "$(sed -n 1p <<<"$meta")" --licence "$(sed -n 2p <<<"$meta")" "${resume[@]}" --json
done
