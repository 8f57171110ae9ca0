import { batchGraphs } from '../src/data/graph-batch.js';
import { profile, tidy } from '../src/tensor/index.js';
import { initialModel, stepBatches } from './step-batches.js';
import { readFileSync } from 'node:fs';
const { batches, tokenizer } = await stepBatches(2);
const model = initialModel(tokenizer.vocab.size);
const b = batches[1]!;
const g = process.argv.includes('--global');
const run = () => tidy(() => { const t = model.encodeText(b.texts); const m = model.encodeMolecules(batchGraphs(b.graphs)); (g ? model.scores(t, m, { grains: 'global' }).global.sum() : model.loss(model.scores(t, m)).total).backward(); });
run(); run();
profile(run, { trace: '/tmp/mp/trace-step.json' });
const ev = (JSON.parse(readFileSync('/tmp/mp/trace-step.json', 'utf8')) as any[]).filter((e) => e.ph === 'X').sort((a, b) => a.ts - b.ts || b.dur - a.dur);
const stack: any[] = []; const parents = new Map<string, number>();
for (const e of ev) {
  while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
  if (e.name === 'aten::select') { const top = stack[0]?.name ?? '(top)'; parents.set(top, (parents.get(top) ?? 0) + 1); }
  stack.push(e);
}
console.log([...parents.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15));
