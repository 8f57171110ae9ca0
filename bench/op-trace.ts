// One forward + backward under libtorch's profiler, summarised by top-level op (the ops the TypeScript code
// dispatches, and the backward nodes): time and calls of each, to see where a grain's or a step's time goes
// without the nested ops the per-op table of orma.ts --profile splits it into. Batch 1 of bench/step-batches.ts.
//   node dist/bench/op-trace.js [--what local|mid|step|global] [--top 20]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { batchGraphs } from '../src/data/graph-batch.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { localScores, midScores } from '../src/model/scores.js';
import { keep, profile, tidy, type Tensor } from '../src/tensor/index.js';
import { machineInfo } from './machine.js';
import { initialModel, stepBatches } from './step-batches.js';

const { values } = parseArgs({ options: { what: { type: 'string' }, top: { type: 'string' } } });
const what = values.what ?? 'mid', top = Number(values.top ?? 20);
const { batches, tokenizer } = await stepBatches(2);
const model = initialModel(tokenizer.vocab.size);
const b = batches[1]!;
const leaf = (x: Tensor) => keep(x.detach().requiresGrad_(true));
// a grain alone runs from fixed encoder outputs; a step encodes the batch inside what is traced
const fixed = tidy(() => {
  const t = model.encodeText(b.texts), m = model.encodeMolecules(batchGraphs(b.graphs));
  return { tokens: leaf(t.tokens), multi: leaf(t.multiTokens), mask: keep(t.mask), atoms: leaf(m.atoms), atomMask: keep(m.atomMask), motifs: leaf(m.motifs), motifMask: keep(m.motifMask) };
});
const run = () => tidy(() => {
  if (what === 'step' || what === 'global') {
    const t = model.encodeText(b.texts), m = model.encodeMolecules(batchGraphs(b.graphs));
    return (what === 'step' ? model.loss(model.scores(t, m)).total : symmetricInfoNce(model.scores(t, m, { grains: 'global' }).global)).backward();
  }
  const f = fixed;
  const s = what === 'local' ? localScores(f.tokens, f.mask, f.atoms, f.atomMask, { cosine: true }) : midScores(f.multi, f.mask, f.motifs, f.motifMask, { cosine: true });
  symmetricInfoNce(s.mul(14)).backward();
});
run(); run();   // warm-up: every shape once
const dir = mkdtempSync(join(tmpdir(), 'orma-trace-'));
try {
  const trace = join(dir, 'trace.json');
  profile(run, { trace });
  interface Event { name: string; ph: string; ts: number; dur: number; tid: number | string }
  const events = (JSON.parse(readFileSync(trace, 'utf8')) as Event[]).filter((e) => e.ph === 'X').sort((x, y) => x.ts - y.ts || y.dur - x.dur);
  // top level: an event that starts after the previous top-level one (of any thread the profiler saw) ended
  const byName = new Map<string, { calls: number; ms: number }>();
  let end = -Infinity, total = 0;
  for (const e of events) {
    if (e.ts < end) continue;
    end = e.ts + e.dur;
    total += e.dur / 1000;
    const o = byName.get(e.name) ?? { calls: 0, ms: 0 };
    byName.set(e.name, { calls: o.calls + 1, ms: o.ms + e.dur / 1000 });
  }
  const ops = [...byName.entries()].sort((x, y) => y[1].ms - x[1].ms).slice(0, top).map(([name, o]) => ({ name, calls: o.calls, ms: Number(o.ms.toFixed(2)) }));
  console.log(JSON.stringify({ bench: 'op-trace', machine: machineInfo(), config: { what, batch: 32 }, recorded_ms: Number(total.toFixed(1)), ops }, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
