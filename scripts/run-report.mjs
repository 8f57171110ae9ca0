#!/usr/bin/env node
// A markdown table of a training run's validations (and its training speed), from RUN/metrics.jsonl:
//   node scripts/run-report.mjs RUN_DIR [RUN_DIR ...]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

for (const dir of process.argv.slice(2)) {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) { console.error(`${path}: no such file`); process.exitCode = 1; continue; }
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  // a step redone after a resume: the last record of each step counts
  const steps = new Map(), vals = new Map();
  for (const r of rows) (r.type === 'step' ? steps : vals).set(r.step, r);
  const last = [...steps.values()].pop();
  console.log(`\n### ${dir}\n`);
  console.log(`${steps.size} steps, ${last ? last.minutes.toFixed(1) : 0} min trained (validation included); last losses: total ${last?.total.toFixed(3)}, global ${last?.global.toFixed(3)}, local ${last?.local.toFixed(3)}, mid ${last?.mid.toFixed(3)}; logit scales ${last?.scales?.map((x) => x.toFixed(1)).join(' / ')}\n`);
  const sets = [...new Set([...vals.values()].flatMap((v) => Object.keys(v.sets)))];
  console.log(`| step | minutes | ${sets.map((s) => `${s} global MRR (t→m / m→t) | ${s} fused MRR (t→m / m→t), H@1 t→m / m→t`).join(' | ')} |`);
  console.log(`|---|---|${sets.map(() => '---|---|').join('')}`);
  for (const v of [...vals.values()].sort((a, b) => a.step - b.step)) {
    const cell = (s, kind) => { const x = v.sets[s]?.[kind]; return x ? `${x.mrr.toFixed(3)} (${x.t2m_mrr.toFixed(3)} / ${x.m2t_mrr.toFixed(3)})${kind === 'fused' ? `, ${x.t2m_hits1.toFixed(1)} / ${x.m2t_hits1.toFixed(1)}` : ''}` : '–'; };
    console.log(`| ${v.step} | ${v.minutes.toFixed(1)} | ${sets.map((s) => `${cell(s, 'global')} | ${cell(s, 'fused')}`).join(' | ')} |`);
  }
}
