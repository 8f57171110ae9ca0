// The fine grains' forward + backward from fixed encoder outputs at several block fills (ChunkOptions.minFill):
// fewer, more padded blocks (fewer ops) against more, tighter ones (fewer padded elements). Same batches as
// bench/orma.ts (ChEBI-20 validation, length-bucketed, batch 32), fills alternated, best of --repeats.
//   node dist/bench/block-fill.js [--steps 8] [--repeats 3] [--fills 0.7,0.5,0]
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildHierGraph, initRDKit, type HierGraph } from '../src/chem/index.js';
import { BertTokenizer } from '../src/text/index.js';
import { padSequences } from '../src/text/padding.js';
import { readPairFile } from '../src/data/datasets.js';
import { batchGraphs } from '../src/data/graph-batch.js';
import { lengthBucketedBatches } from '../src/data/batching.js';
import { DEFAULT_ORMA, DEFAULT_TEXT_ENCODER } from '../src/model/config.js';
import { Orma } from '../src/model/orma.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { localScores, midScores } from '../src/model/scores.js';
import { DEFAULT_MODEL_DIR } from '../src/util/paths.js';
import { keep, manualSeed, tidy, type Tensor } from '../src/tensor/index.js';
import { machineInfo } from './machine.js';

const { values } = parseArgs({ options: { steps: { type: 'string' }, repeats: { type: 'string' }, fills: { type: 'string' } } });
const steps = Number(values.steps ?? 8), repeats = Number(values.repeats ?? 3);
const fills = (values.fills ?? '0.7,0.5,0.3,0').split(',').map(Number);
await initRDKit();
const rows = readPairFile(join(resolve(process.env.ORMA_DATA ?? '../shared/data'), 'chebi20', 'validation.tsv')).rows;
const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
const ids = rows.map((r) => tokenizer.encode(r.description!, { maxLength: 256 }).ids);
const order = lengthBucketedBatches(ids.map((s) => s.length), { batchSize: 32, seed: 0, dropLast: true }).slice(0, steps);
const graphs = new Map<number, HierGraph>();
const graphOf = (i: number) => graphs.get(i) ?? graphs.set(i, buildHierGraph(rows[i]!.smiles)).get(i)!;
manualSeed(0);
const model = new Orma(DEFAULT_ORMA, { ...DEFAULT_TEXT_ENCODER, vocabSize: tokenizer.vocab.size }).train();
const leaf = (x: Tensor) => keep(x.detach().requiresGrad_(true));
const inputs = order.map((idx) => tidy(() => {
  const t = model.encodeText(padSequences(idx.map((i) => ids[i]!), tokenizer.special.pad));
  const m = model.encodeMolecules(batchGraphs(idx.map(graphOf)));
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
