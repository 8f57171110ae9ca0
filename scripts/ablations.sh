#!/usr/bin/env bash
# The training ablations of docs/results.md: the default model's recipe (docs/runs/2026-12-01b/orma.json)
# with one change each, every run on the same data and batches for the same wall-clock budget, selected
# and compared on the validation splits only (the selection slice; never ChEBI-20 test). Runs are
# resumable: a finished run (summary.json) is skipped, an interrupted one is resumed with --resume.
# One run at a time: the machine's 2 cores are the budget's unit.
#   bash scripts/ablations.sh [BUDGET (default 20m)] [NAME ...]
#   node scripts/ablation-table.mjs runs/ablations     # the table, from each run's metrics.jsonl
set -euo pipefail
BUDGET=${1:-20m}; shift || true
BASE=docs/runs/2026-12-01b/orma.json
OUT=runs/ablations
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
  [gine]="model.orma={\"molecule\":${MOL},\"conv\":\"gine\"}}"
  [batch64]="optim.batchSize=64"
  [mol2vec]="model.atoms.input=mol2vec"
)
NAMES=("$@"); [[ ${#NAMES[@]} -gt 0 ]] || NAMES=(full global global+local global+mid argmin detached same-slot fixed-scale no-brics-none gine batch64 mol2vec)
mkdir -p "$OUT"
for name in "${NAMES[@]}"; do
  [[ -v RUNS[$name] ]] || { echo "ablations: unknown run '$name' (known: ${!RUNS[*]})" >&2; exit 2; }
  dir="$OUT/$name"
  if [[ -f $dir/summary.json ]]; then echo "== $name: done" >&2; continue; fi
  resume=(); [[ -d $dir/last ]] && resume=(--resume)
  echo "== $name (${RUNS[$name]:-the recipe as is}), budget $BUDGET" >&2
  # shellcheck disable=SC2086
  node bin/orma.js train --config "$BASE" --out "$dir" --budget "$BUDGET" "${resume[@]}" run.validateEveryMinutes=5 ${RUNS[$name]} 2> "$dir.log" || { echo "ablations: $name failed, see $dir.log" >&2; exit 1; }
done
