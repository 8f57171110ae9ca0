#!/usr/bin/env node
// The ablation table from the runs of scripts/ablations.sh: per run, its change, steps, and the best
// validation MRR (selection slice; global and fused, mean of directions) with the step it came at.
// Several folders give one table: a run in a later folder replaces the one of the same name in an earlier
// folder (a re-run on newer code), and the record column names the folder each row comes from.
//   node scripts/ablation-table.mjs [runs/ablations]   # or committed record folders (metrics.jsonl.gz)
//   node scripts/ablation-table.mjs docs/runs/2026-12-01e/ablations docs/runs/2026-12-02/ablations ...
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['runs/ablations'];
for (const dir of dirs) if (!existsSync(dir)) { console.error(`${dir}: no such folder (run scripts/ablations.sh first)`); process.exit(1); }
const metrics = (dir, name) => ['metrics.jsonl', 'metrics.jsonl.gz'].map((f) => join(dir, name, f)).find((f) => existsSync(f));
const runs = new Map();   // name → its folder, the last folder holding it
for (const dir of dirs) for (const name of readdirSync(dir).filter((n) => metrics(dir, n))) runs.set(name, dir);
const several = dirs.length > 1;
console.log(`| run |${several ? ' record |' : ''} steps | minutes | best fused MRR (t→m / m→t) | its global MRR | at step | finished |`);
console.log(`|---|${several ? '---|' : ''}---|---|---|---|---|---|`);
for (const [name, dir] of [...runs].sort(([a], [b]) => a.localeCompare(b))) {
  const file = metrics(dir, name), bytes = readFileSync(file);
  const rows = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const steps = rows.filter((r) => r.type === 'step'), vals = rows.filter((r) => r.type === 'validation');
  const set = (v) => Object.values(v.sets)[0];
  const best = vals.reduce((b, v) => (!b || set(v).fused.mrr > set(b).fused.mrr ? v : b), null);
  const last = steps.at(-1);
  const f = (x) => x.toFixed(3);
  const record = several ? ` ${basename(dirname(dir)) === 'runs' ? dir : basename(dirname(dir))} |` : '';
  console.log(`| ${name} |${record} ${last?.step ?? 0} | ${last ? last.minutes.toFixed(0) : 0} | ${best ? `${f(set(best).fused.mrr)} (${f(set(best).fused.t2m_mrr)} / ${f(set(best).fused.m2t_mrr)})` : '-'} | ${best ? f(set(best).global.mrr) : '-'} | ${best?.step ?? '-'} | ${existsSync(join(dir, name, 'summary.json')) ? 'yes' : 'no'} |`);
}
