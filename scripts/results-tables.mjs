#!/usr/bin/env node
// The tables of docs/results.md from the `orma eval --json` reports in docs/results/ (written by
// scripts/eval-default.sh), so that every figure there is one a report holds:
//   node scripts/results-tables.mjs [docs/results]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'docs/results';
if (!existsSync(dir)) { console.error(`${dir}: no such folder`); process.exit(1); }
const f2 = (x) => x.toFixed(2), f3 = (x) => x.toFixed(3);
const side = (d) => `${f2(d['hits@1'])} / ${f2(d['hits@5'])} / ${f2(d['hits@10'])} / ${f3(d.mrr)} / ${d.mean_rank.toFixed(1)} / ${d.median_rank}`;
console.log('| report | data | pool | score | text→molecule H@1 / H@5 / H@10 / MRR / mean / median rank | molecule→text H@1 / H@5 / H@10 / MRR / mean / median rank | seconds |');
console.log('|---|---|---|---|---|---|---|');
const momu = [];
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const r = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const data = r.data.split('/').slice(-2).join('/');
  console.log(`| ${name.replace(/\.json$/, '')} | ${data} (${r.pairs}) | ${r.pool} (${r.pool_size}) | ${r.score} | ${side(r.text_to_molecule)} | ${side(r.molecule_to_text)} | ${r.seconds.toFixed(0)} |`);
  if (r.momu) momu.push([name, r.momu]);
}
for (const [name, m] of momu) {
  console.log(`\nMoMu protocol (${name}; ${m.pairs} pairs, ${m.score} score): Rec@20 text→molecule ${f2(m.text_to_molecule['rec@20'])}, molecule→text ${f2(m.molecule_to_text['rec@20'])}; accuracy within batches of ${m.batch}: ${f2(m.text_to_molecule.batch_accuracy)} / ${f2(m.molecule_to_text.batch_accuracy)}`);
}

// the grain ablation (scripts/ablate-grains.sh): one row per weight setting, MRR per set and direction
const grains = join(dir, 'grains');
if (existsSync(grains)) {
  const rows = new Map();
  for (const name of readdirSync(grains).filter((f) => f.endsWith('.json')).sort()) {
    const r = JSON.parse(readFileSync(join(grains, name), 'utf8'));
    const set = name.replace(/-w[\d.-]+\.json$/, ''), w = r.weights, key = `${w.global} / ${w.local} / ${w.mid}`;
    if (!rows.has(key)) rows.set(key, {});
    rows.get(key)[set] = r;
  }
  const sets = [...new Set([...rows.values()].flatMap((x) => Object.keys(x)))].sort().reverse();
  const cell = (r) => (r ? `${f3(r.text_to_molecule.mrr)} / ${f3(r.molecule_to_text.mrr)} (${f3((r.text_to_molecule.mrr + r.molecule_to_text.mrr) / 2)})` : '');
  console.log(`\nGrain weights at inference (${[...rows.values()][0][sets[0]].score}), MRR text→molecule / molecule→text (mean):\n`);
  console.log(`| weights global / local / mid | ${sets.join(' | ')} |`);
  console.log(`|---|${sets.map(() => '---').join('|')}|`);
  for (const [key, r] of rows) console.log(`| ${key} | ${sets.map((s) => cell(r[s])).join(' | ')} |`);
}
