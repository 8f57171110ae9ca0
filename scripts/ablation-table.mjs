#!/usr/bin/env node
// The ablation table from the runs of scripts/ablations.sh: per run, its change, steps, and the best
// validation MRR (selection slice; global and fused, mean of directions) with the step it came at.
//   node scripts/ablation-table.mjs [runs/ablations]   # or a committed record folder (metrics.jsonl.gz)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const dir = process.argv[2] ?? 'runs/ablations';
if (!existsSync(dir)) { console.error(`${dir}: no such folder (run scripts/ablations.sh first)`); process.exit(1); }
console.log('| run | steps | minutes | best fused MRR (t→m / m→t) | its global MRR | at step | finished |');
console.log('|---|---|---|---|---|---|---|');
const metrics = (name) => ['metrics.jsonl', 'metrics.jsonl.gz'].map((f) => join(dir, name, f)).find((f) => existsSync(f));
for (const name of readdirSync(dir).filter((n) => metrics(n)).sort()) {
  const file = metrics(name), bytes = readFileSync(file);
  const rows = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const steps = rows.filter((r) => r.type === 'step'), vals = rows.filter((r) => r.type === 'validation');
  const set = (v) => Object.values(v.sets)[0];
  const best = vals.reduce((b, v) => (!b || set(v).fused.mrr > set(b).fused.mrr ? v : b), null);
  const last = steps.at(-1);
  const f = (x) => x.toFixed(3);
  console.log(`| ${name} | ${last?.step ?? 0} | ${last ? last.minutes.toFixed(0) : 0} | ${best ? `${f(set(best).fused.mrr)} (${f(set(best).fused.t2m_mrr)} / ${f(set(best).fused.m2t_mrr)})` : '-'} | ${best ? f(set(best).global.mrr) : '-'} | ${best?.step ?? '-'} | ${existsSync(join(dir, name, 'summary.json')) ? 'yes' : 'no'} |`);
}
