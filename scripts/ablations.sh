#!/usr/bin/env bash
# The training ablations of docs/results.md: the default model's recipe (docs/runs/2026-12-01b/orma.json)
# with one change each, every run on the same data and batch order for the same number of training pairs
# (EPOCHS, 0.63 by default: 719 steps at batch 32, the recipe's schedule shape with its warm-up scaled to
# WARMUP steps), selected and compared on the validation splits only (the selection slice; never ChEBI-20
# test). An equal *step* budget, not wall-clock, so that runs made in different sessions, at different
# engine speeds or side by side stay comparable; each run's minutes are in its summary. Runs are
# resumable: a finished run (summary.json) is skipped, an interrupted one is resumed with --resume.
#   LANES=2 bash scripts/ablations.sh [NAME ...]   # LANES runs side by side, 2/LANES threads each
#   node scripts/ablation-table.mjs runs/ablations # the table, from each run's metrics.jsonl
set -euo pipefail
BASE=docs/runs/2026-12-01b/orma.json
OUT=${OUT:-runs/ablations}
EPOCHS=${EPOCHS:-0.63}; WARMUP=${WARMUP:-50}; LANES=${LANES:-1}
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
  [batch64]="optim.batchSize=64"
  [mol2vec]="model.atoms.input=mol2vec"
)
ORDER=(full global global+local global+mid mol2vec gine no-brics-none downward batch64 argmin detached same-slot fixed-scale)
NAMES=("$@"); [[ ${#NAMES[@]} -gt 0 ]] || NAMES=("${ORDER[@]}")
for name in "${NAMES[@]}"; do [[ -v RUNS[$name] ]] || { echo "ablations: unknown run '$name' (known: ${ORDER[*]})" >&2; exit 2; }; done
mkdir -p "$OUT"
run() {
  local name=$1 dir="$OUT/$1" resume=()
  if [[ -f $dir/summary.json ]]; then echo "== $name: done" >&2; return 0; fi
  [[ -d $dir/last ]] && resume=(--resume)
  echo "== $name (${RUNS[$name]:-the recipe as is}), $EPOCHS epochs, $(date +%T)" >&2
  # shellcheck disable=SC2086
  ORMA_NUM_THREADS=$((2 / LANES > 0 ? 2 / LANES : 1)) node bin/orma.js train --config "$BASE" --out "$dir" "${resume[@]}" \
    optim.epochs=$EPOCHS optim.warmup=$WARMUP run.validateEverySteps=360 ${RUNS[$name]} 2> "$dir.log" \
    || { echo "ablations: $name failed, see $dir.log" >&2; return 1; }
}
lane() { local i; for ((i = $1; i < ${#NAMES[@]}; i += LANES)); do run "${NAMES[$i]}" || return 1; done; }
pids=(); for ((l = 0; l < LANES; l++)); do lane $l & pids+=($!); done
status=0; for p in "${pids[@]}"; do wait "$p" || status=1; done; exit $status
