#!/bin/bash
# usage: lane.sh NAME:INIT ... ; palette weight 30 runs in runs/i30c/run-NAME, started from runs/style-INIT/style.ckpt,
# 200-step chunks round-robin, each chunk's export kept in runs/i30c/snap/S
cd /work/main
source .venv/bin/activate
for S in $(seq 200 200 4000); do
  for pair in "$@"; do
    name=${pair%%:*}; init=${pair##*:}
    img=$(ls data/styles/$name.*)
    out=runs/i30c/run-$name
    start=(--init-from runs/style-$init/style.ckpt); [ -f $out/style.ckpt ] && start=(--resume)
    nice -n 10 edgecolor train style --style-image $img --name $name --corpus data/corpus-styles --out $out \
      --arch fast-resize --crop 256 --batch 1 --steps $S --threads 1 --palette-weight 30 --palette quantiles --style-weight 10 \
      --content luma "${start[@]}" --json > runs/i30c/$name.last.json 2> runs/i30c/$name.err || { echo "fail $name $S"; exit 1; }
    mkdir -p runs/i30c/snap/$S
    cp $out/style-$name.onnx runs/i30c/snap/$S/style-$name.onnx
    echo "$(date +%T) $name $S done"
  done
done
