#!/usr/bin/env bash
# Every evaluation of docs/results.md, one JSON each in docs/results/ (run from the repository root with
# ../shared beside it; ChEBI-20 test is evaluated here once, with the model already chosen on validation).
#   bash scripts/eval-default.sh [MODEL_DIR] [validation|test|all] [OUT_DIR (default docs/results)]
set -euo pipefail
MODEL=${1:-models/default}
WHAT=${2:-all}
OUT=${3:-docs/results}
DATA=../shared/data
mkdir -p "$OUT"
# each report's per-query ranks go beside it (NAME.ranks.tsv) for the Hits@k curves
ev() { local name=$1; shift; echo "== $name" >&2; /usr/bin/time -f "$name: %e s (user %U s, system %S s), peak RSS %M KB" node bin/orma.js eval --model "$MODEL" --json --ranks "$OUT/$name.ranks.tsv" "$@" > "$OUT/$name.json.tmp" && mv "$OUT/$name.json.tmp" "$OUT/$name.json"; }
if [[ $WHAT == validation || $WHAT == all ]]; then
  ev selection-rerank50   --data $DATA/chebi20/selection.tsv --score rerank:50
  ev selection-global     --data $DATA/chebi20/selection.tsv --score global
  ev pcdes-val-rerank50   --data $DATA/pcdes/validation.tsv --score rerank:50 --momu
  ev pcdes-val-global     --data $DATA/pcdes/validation.tsv --score global
fi
if [[ $WHAT == test || $WHAT == all ]]; then
  ev chebi20-test-global    --data $DATA/chebi20/test.tsv --score global
  ev chebi20-test-rerank50  --data $DATA/chebi20/test.tsv --score rerank:50
  ev chebi20-test-all-global   --data $DATA/chebi20/test.tsv --pool chebi20-all --score global
  ev chebi20-test-all-rerank50 --data $DATA/chebi20/test.tsv --pool chebi20-all --score rerank:50
  ev chebi20-test-fused     --data $DATA/chebi20/test.tsv --score fused   # every pair: about 7 minutes
  node scripts/hits-curves.mjs "$OUT/hits-chebi20-test.svg" --title "ChEBI-20 test: Hits@k ($MODEL)" \
    "split, fused=$OUT/chebi20-test-fused.ranks.tsv" "split, rerank:50=$OUT/chebi20-test-rerank50.ranks.tsv" \
    "split, global=$OUT/chebi20-test-global.ranks.tsv" "33k, rerank:50=$OUT/chebi20-test-all-rerank50.ranks.tsv" \
    "33k, global=$OUT/chebi20-test-all-global.ranks.tsv"
fi
