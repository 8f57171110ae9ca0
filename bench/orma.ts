// ORMA training-step benchmark: the default sizes (src/model/config.ts, src/model/orma.ts) on real
// ChEBI-20 validation pairs, batch 32, with a per-part breakdown, to size training runs.
//   node dist/bench/orma.js [--json] [--steps N] [--batch N]      (data: ../shared/data or ORMA_DATA)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdamW, manualSeed, noGrad, tidy } from '../src/tensor/index.js';
import { buildHierGraph, initRDKit } from '../src/chem/index.js';
import { BertTokenizer } from '../src/text/index.js';
import { readPairFile } from '../src/data/datasets.js';
import { batchGraphs } from '../src/model/graph-batch.js';
import { DEFAULT_TEXT_ENCODER } from '../src/model/config.js';
import { DEFAULT_ORMA, Orma } from '../src/model/orma.js';
import { globalScores, groupedScores, midScores } from '../src/model/scores.js';
import { DEFAULT_MODEL_DIR } from '../src/util/paths.js';
import { machineInfo } from './machine.js';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, steps: { type: 'string' }, batch: { type: 'string' } } });
const steps = Number(values.steps ?? 8), batchSize = Number(values.batch ?? 32);
const file = join(resolve(process.env.ORMA_DATA ?? '../shared/data'), 'chebi20', 'validation.tsv');
if (!existsSync(file)) throw new Error(`${file} not found: set ORMA_DATA to the shared data folder`);
await initRDKit();
const rows = readPairFile(file).rows.slice(0, batchSize * (steps + 1));
const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
const batches = Array.from({ length: steps + 1 }, (_, s) => {
  const part = rows.slice(s * batchSize, (s + 1) * batchSize);
  return { texts: tokenizer.encodeBatch(part.map((r) => r.description!), { maxLength: 256 }), graphs: batchGraphs(part.map((r) => buildHierGraph(r.smiles))) };
});
manualSeed(0);
const bert = { ...DEFAULT_TEXT_ENCODER, vocabSize: tokenizer.vocab.size };
const model = new Orma(DEFAULT_ORMA, bert).train();
const opt = new AdamW(model.parameters(), { lr: 1e-4 });
const parts = { text: 0, molecules: 0, scores: 0, backward: 0, optimizer: 0, total: 0, global: 0, local: 0, mid: 0 };
const clock = () => performance.now();
batches.forEach((b, s) => tidy(() => {
  const t0 = clock();
  const t = model.encodeText(b.texts);
  const t1 = clock();
  const m = model.encodeMolecules(b.graphs);
  const t2 = clock();
  const loss = model.loss(model.scores(t, m)).total;
  const t3 = clock();
  loss.backward();
  const t4 = clock();
  opt.step();
  opt.zeroGrad();
  const t5 = clock();
  if (s === 0) return;  // warm-up
  Object.entries({ text: t1 - t0, molecules: t2 - t1, scores: t3 - t2, backward: t4 - t3, optimizer: t5 - t4, total: t5 - t0 })
    .forEach(([k, v]) => { parts[k as keyof typeof parts] += v; });
  // Each grain's share of the score time, timed again without autograd.
  noGrad(() => {
    const a = clock();
    globalScores(t.sentence, m.molecule);
    const b1 = clock();
    groupedScores(t.tokens, t.mask, m.atoms, m.atomMask);
    const b2 = clock();
    midScores(t.multiTokens, t.mask, m.motifs, m.motifMask);
    parts.global += b1 - a; parts.local += b2 - b1; parts.mid += clock() - b2;
  });
}));
const per = (x: number) => Number((x / steps).toFixed(1));
const result = {
  benchmark: 'orma training step',
  machine: machineInfo(),
  config: { orma: DEFAULT_ORMA, bert, batch: batchSize, steps, params: model.numParameters(), data: 'ChEBI-20 validation pairs (timing only)' },
  step_ms: per(parts.total),
  breakdown_ms: { text_forward: per(parts.text), molecule_forward: per(parts.molecules), scores_and_loss: per(parts.scores), backward: per(parts.backward), optimizer: per(parts.optimizer),
    scores_without_autograd: { global: per(parts.global), local: per(parts.local), mid: per(parts.mid) } },
  estimate_epoch_minutes_chebi20_full_train: Number(((parts.total / steps) * (26407 / batchSize) / 60000).toFixed(1)),
  estimate_epoch_minutes_pcdes_plus_chebi_partial: Number(((parts.total / steps) * (11095 / batchSize) / 60000).toFixed(1)),
};
console.log(JSON.stringify(result, null, values.json ? undefined : 2));
opt.dispose(); model.dispose();
