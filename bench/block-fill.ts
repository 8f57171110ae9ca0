// The fine grains' forward + backward from fixed encoder outputs at several block fills (ChunkOptions.minFill):
// fewer, more padded blocks (fewer ops) against more, tighter ones (fewer padded elements). Same batches as
// the other step benchmarks (bench/step-batches.ts: ChEBI-20 validation, length-bucketed, batch 32), fills
// alternated, best of --repeats.
//   node dist/bench/block-fill.js [--steps 8] [--repeats 3] [--fills 0.7,0.5,0.3,0]
import { parseArgs } from 'node:util';
import { batchGraphs } from '../src/data/graph-batch.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { localScores, midScores } from '../src/model/scores.js';
import { keep, tidy, type Tensor } from '../src/tensor/index.js';
import { machineInfo } from './machine.js';
import { initialModel, stepBatches } from './step-batches.js';

const { values } = parseArgs({ options: { steps: { type: 'string' }, repeats: { type: 'string' }, fills: { type: 'string' } } });
const steps = Number(values.steps ?? 8), repeats = Number(values.repeats ?? 3);
const fills = (values.fills ?? '0.7,0.5,0.3,0').split(',').map(Number);
const { batches, tokenizer } = await stepBatches(steps);
const model = initialModel(tokenizer.vocab.size);
const leaf = (x: Tensor) => keep(x.detach().requiresGrad_(true));
const inputs = batches.map((x) => tidy(() => {
  const t = model.encodeText(x.texts);
  const m = model.encodeMolecules(batchGraphs(x.graphs));
  return { tokens: leaf(t.tokens), multi: leaf(t.multiTokens), tmask: keep(t.mask), atoms: leaf(m.atoms), amask: keep(m.atomMask), motifs: leaf(m.motifs), mmask: keep(m.motifMask) };
}));
const time = (f: () => void) => { const a = performance.now(); tidy(f); return performance.now() - a; };
const grains = {
  local: (x: (typeof inputs)[number], minFill: number) => symmetricInfoNce(localScores(x.tokens, x.tmask, x.atoms, x.amask, { cosine: true, minFill }).mul(14)).backward(),
  mid: (x: (typeof inputs)[number], minFill: number) => symmetricInfoNce(midScores(x.multi, x.tmask, x.motifs, x.mmask, { cosine: true, minFill }).mul(14)).backward(),
};
for (const x of inputs) for (const f of fills) for (const g of Object.values(grains)) time(() => g(x, f));   // warm-up: every shape once
const best: Record<string, Record<string, number>> = { local: {}, mid: {} };
for (let r = 0; r < repeats; r++) {
  for (const f of r % 2 ? [...fills].reverse() : fills) {
    for (const [name, g] of Object.entries(grains)) {
      const ms = inputs.reduce((s, x) => s + time(() => g(x, f)), 0) / inputs.length;
      best[name]![f] = Math.min(best[name]![f] ?? Infinity, ms);
    }
  }
}
console.log(JSON.stringify({ bench: 'block-fill', machine: machineInfo(), config: { steps, repeats, fills, batch: 32 }, ms_per_batch_best: best }, null, 1));
