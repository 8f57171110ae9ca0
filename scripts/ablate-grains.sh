#!/usr/bin/env bash
# Inference-time grain ablation of one trained model on the validation splits: the fused score of the
# global top 50 (rerank:50, the shipped mode) with each grain alone, each pair and all three, one JSON
# report each in OUT (default docs/results/grains). This is not the paper's training ablation (a model
# trained without a grain): it says which grains of *this* model carry its ranking.
#   bash scripts/ablate-grains.sh [MODEL_DIR] [OUT]      (SETS="name:file ..." to choose the sets)
set -euo pipefail
MODEL=${1:-models/default}
OUT=${2:-docs/results/grains}
DATA=../shared/data
mkdir -p "$OUT"
for w in 1,0,0 0,1,0 0,0,1 0.3,0.5,0 0.3,0,0.2 0,0.5,0.2 0.3,0.5,0.2; do
  for set in ${SETS:-selection:chebi20/selection.tsv pcdes-val:pcdes/validation.tsv}; do
    name="${set%%:*}-w${w//,/-}"
    echo "== $name" >&2
    node bin/orma.js eval --model "$MODEL" --data "$DATA/${set#*:}" --score rerank:50 --weights "$w" --json --quiet > "$OUT/$name.json.tmp"
    mv "$OUT/$name.json.tmp" "$OUT/$name.json"
  done
done
