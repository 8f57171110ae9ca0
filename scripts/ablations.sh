#!/usr/bin/env bash
# The training ablations of docs/results.md: the default model's recipe (docs/runs/2026-12-01b/orma.json)
# with one change each, every run on the same data and batch order for the same number of steps (STEPS,
# 719 by default: 0.63 epochs at batch 32, the recipe's schedule shape with its warm-up scaled to WARMUP
# steps; batch64 makes half as many steps of twice the pairs, extras the same steps over a larger set),
# selected and compared on the validation splits only (the selection slice; never ChEBI-20 test). An equal
# *step* budget, not wall-clock, so that runs made in different sessions, at different engine speeds or
# side by side stay comparable; each run's minutes are in its summary. Runs are resumable: a finished run
# (summary.json) is skipped, an interrupted one is resumed with --resume. The mlm row first pre-trains its
# text encoder with masked-language modelling (MLM_EPOCHS epochs over the same training texts, the evaluation
# molecules' texts excluded) into $OUT/mlm-text, then starts from it (model.textInit).
#   LANES=2 bash scripts/ablations.sh [NAME ...]   # LANES runs side by side, 2/LANES threads each (or THREADS)
#   node scripts/ablation-table.mjs runs/ablations # the table, from each run's metrics.jsonl
set -euo pipefail
BASE=docs/runs/2026-12-01b/orma.json
OUT=${OUT:-runs/ablations}
STEPS=${STEPS:-719}; WARMUP=${WARMUP:-50}; LANES=${LANES:-1}; MLM_EPOCHS=${MLM_EPOCHS:-2}
D=../shared/data
# a field of the recipe (a.b.c; strings as they are, the rest as JSON), so that the rows below change only what they name
recipe() { node -e 'const v = process.argv[2].split(".").reduce((o, k) => o[k], JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")));
  console.log(typeof v === "string" ? v : JSON.stringify(v))' "$BASE" "$1"; }
SOURCES=$(recipe data.sources); SOURCES=${SOURCES:1:-1}
MOL='{"hidden":256,"layers":3,"dropout":0.1'
declare -A RUNS=(
  [full]=""
  [global]="model.orma={\"combine\":\"mol\"}"
  [global+local]="model.orma={\"combine\":\"molatom\"}"
  [global+mid]="model.orma={\"combine\":\"molmotif\"}"
  [argmin]="model.orma={\"otPick\":\"argmin\"}"
  [detached]="model.orma={\"detachNodeVectors\":true}"
  [same-slot]="model.orma={\"pairing\":\"same-slot\"}"
  [fixed-scale]="model.orma={\"logitScale\":\"official\"}"
  [no-brics-none]="model.featurizer={\"noBricsFallback\":\"none\",\"downwardEdges\":false}"
  [downward]="model.featurizer={\"noBricsFallback\":\"rings\",\"downwardEdges\":true}"
  [gine]="model.orma={\"molecule\":${MOL},\"conv\":\"gine\"}}"
  [batch64]="optim.batchSize=64 optim.steps=$(((STEPS + 1) / 2))"
  [mol2vec]="model.atoms.input=mol2vec"
  [extras]="data.sources=[$SOURCES,\"$D/extra/gitmol_igcdata_toy.tsv.gz\",\"$D/extra/pubchem324k_icma.tsv.gz\"]"
  [mlm]="model.textInit=$OUT/mlm-text"
  [padding]="model.orma={\"slots\":{\"tokens\":256,\"atoms\":580,\"motifs\":140}}"
)
# second seeds (initialisation, dropout and batch order) of rows whose gains are near the noise, and the rows
# that helped combined: the candidate next recipe
for name in full downward mlm gine; do RUNS[$name-seed1]="${RUNS[$name]} run.seed=1"; done
RUNS[combined]="${RUNS[gine]} ${RUNS[downward]} ${RUNS[mlm]}"
RUNS[combined-seed1]="${RUNS[combined]} run.seed=1"
ORDER=(full global global+local global+mid mol2vec gine no-brics-none downward batch64 argmin detached same-slot fixed-scale padding extras mlm
  full-seed1 downward-seed1 mlm-seed1 gine-seed1 combined combined-seed1)
NAMES=("$@"); [[ ${#NAMES[@]} -gt 0 ]] || NAMES=("${ORDER[@]}")
for name in "${NAMES[@]}"; do [[ -v RUNS[$name] ]] || { echo "ablations: unknown run '$name' (known: ${ORDER[*]})" >&2; exit 2; }; done
mkdir -p "$OUT"
# the mlm row's text encoder: the recipe's BERT sizes and vocabulary, MLM on exactly the recipe's training
# texts (scripts/training-texts.mjs applies the same leakage rule as `orma train`), dropout 0.1 in the layers
pretrain() {
  [[ -f $OUT/mlm-text/config.json ]] && return 0
  local resume=(); [[ -d $OUT/mlm-text/checkpoint ]] && resume=(--resume)
  echo "== mlm-text: MLM pre-training, $MLM_EPOCHS epochs, $(date +%T)" >&2
  [[ -f $OUT/mlm-texts.txt ]] || { node scripts/training-texts.mjs "$BASE" "$OUT/mlm-texts.txt.tmp" 2>> "$OUT/mlm-text.log" && mv "$OUT/mlm-texts.txt.tmp" "$OUT/mlm-texts.txt"; }
  recipe model.text | node -e 'const { embeddingDropout, ...t } = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify({ ...t, dropout: 0.1 }))' > "$OUT/mlm-text.json"
  ORMA_NUM_THREADS=$THREADS node bin/orma.js pretrain-text --config "$OUT/mlm-text.json" --vocab "$(recipe model.vocab)" \
    --data "$OUT/mlm-texts.txt" --epochs "$MLM_EPOCHS" --warmup 200 --out "$OUT/mlm-text" "${resume[@]}" --quiet 2>> "$OUT/mlm-text.log"
}
THREADS=${THREADS:-$((2 / LANES > 0 ? 2 / LANES : 1))}
run() {
  local name=$1 dir="$OUT/$1" resume=()
  if [[ -f $dir/summary.json ]]; then echo "== $name: done" >&2; return 0; fi
  if [[ ${RUNS[$name]} == *textInit* ]]; then pretrain || { echo "ablations: MLM pre-training failed, see $OUT/mlm-text.log" >&2; return 1; }; fi
  [[ -d $dir/last ]] && resume=(--resume)
  echo "== $name (${RUNS[$name]:-the recipe as is}), $STEPS steps, $(date +%T)" >&2
  # shellcheck disable=SC2086
  ORMA_NUM_THREADS=$THREADS node bin/orma.js train --config "$BASE" --out "$dir" "${resume[@]}" \
    optim.steps=$STEPS optim.warmup=$WARMUP run.validateEverySteps=360 ${RUNS[$name]} 2> "$dir.log" \
    || { echo "ablations: $name failed, see $dir.log" >&2; return 1; }
}
lane() { local i; for ((i = $1; i < ${#NAMES[@]}; i += LANES)); do run "${NAMES[$i]}" || return 1; done; }
pids=(); for ((l = 0; l < LANES; l++)); do lane $l & pids+=($!); done
status=0; for p in "${pids[@]}"; do wait "$p" || status=1; done; exit $status
