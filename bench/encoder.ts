// Text-encoder benchmark: tokens/s of the default encoder (src/model/config.ts) for a training step
// (forward + backward + AdamW) and for inference (forward, no grad), on the length-bucketed batches
// of the 3,301 ChEBI-20 validation descriptions (batch 32, dynamic padding), next to PyTorch 1.13
// running the same model on batches of the same shapes (bench/reference/bert_step.py --shapes).
//   node dist/bench/encoder.js [--json] [--batches N] [--no-torch]      (data: ../shared/data or ORMA_DATA)
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdamW, getNumThreads, noGrad, randint, ones, tidy } from '../src/tensor/index.js';
import { BertModel } from '../src/nn/index.js';
import { BertTokenizer } from '../src/text/index.js';
import { readPairFile } from '../src/data/datasets.js';
import { lengthBucketedBatches, paddingFraction } from '../src/data/batching.js';
import { DEFAULT_TEXT_ENCODER } from '../src/model/config.js';
import { DEFAULT_MODEL_DIR } from '../src/util/paths.js';
import { machineInfo } from './machine.js';
import { timeMs } from './stats.js';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, batches: { type: 'string' }, 'no-torch': { type: 'boolean' } } });
const DATA = resolve(process.env.ORMA_DATA ?? '../shared/data');
const file = join(DATA, 'chebi20', 'validation.tsv');
if (!existsSync(file)) throw new Error(`${file} not found: set ORMA_DATA to the shared data folder`);
const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
const lengths = readPairFile(file).rows.map((r) => tokenizer.encode(r.description!, { maxLength: 256 }).ids.length);
const allBatches = lengthBucketedBatches(lengths, { batchSize: 32, seed: 0 });
const n = Number(values.batches ?? 30);
const batches = allBatches.slice(0, n);
const shapes = batches.map((b) => [b.length, Math.max(...b.map((i) => lengths[i]!))] as [number, number]);
const realTokens = batches.reduce((s, b) => s + b.reduce((t, i) => t + lengths[i]!, 0), 0);
const config = { ...DEFAULT_TEXT_ENCODER, vocabSize: tokenizer.vocab.size };

const model = new BertModel(config);
const opt = new AdamW(model.parameters(), { lr: 1e-4 });
const step = (b: number, l: number, train: boolean) => tidy(() => {
  const ids = randint(0, config.vocabSize, [b, l]);
  const mask = ones([b, l], { dtype: 'int64' });
  if (train) {
    model.forward(ids, mask).lastHidden.mean(1).pow(2).mean().backward();
    opt.step();
    opt.zeroGrad();
  } else noGrad(() => model.forward(ids, mask));
});
/** Seconds for one pass over the batch shapes. */
const run = (train: boolean) => {
  model.train(train);
  return timeMs(() => { for (const [b, l] of shapes) step(b, l, train); }) / 1000;
};
run(true);  // warm-up: allocator cache, optimizer state
const trainSeconds = run(true);
run(false);
const inferSeconds = run(false);

let torch: Record<string, number> | null = null;
if (!values['no-torch'] && existsSync('/usr/bin/python3')) {
  const shapesFile = join(tmpdir(), `orma-shapes-${process.pid}.json`);
  writeFileSync(shapesFile, JSON.stringify(shapes));
  const script = fileURLToPath(new URL('../../bench/reference/bert_step.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, '--config', JSON.stringify(config), '--shapes', shapesFile, '--threads', String(getNumThreads())], { encoding: 'utf8' });
  if (r.status === 0) torch = JSON.parse(r.stdout) as Record<string, number>;
  else process.stderr.write(`bert_step.py failed: ${r.stderr.slice(-1500)}\n`);
}

const result = {
  benchmark: 'encoder',
  machine: machineInfo(),
  config: { encoder: config, params: model.numParameters(), data: 'ChEBI-20 validation, length-bucketed batches of 32, max 256 tokens', batches: n, padding_fraction: Number(paddingFraction(batches, lengths).toFixed(4)) },
  train_tokens_per_s: Math.round(realTokens / trainSeconds),
  infer_tokens_per_s: Math.round(realTokens / inferSeconds),
  train_seconds: Number(trainSeconds.toFixed(2)),
  infer_seconds: Number(inferSeconds.toFixed(2)),
  torch_train_seconds: torch ? Number(torch.train_seconds!.toFixed(2)) : null,
  torch_infer_seconds: torch ? Number(torch.infer_seconds!.toFixed(2)) : null,
  train_ratio_vs_torch: torch ? Number((trainSeconds / torch.train_seconds!).toFixed(3)) : null,
  infer_ratio_vs_torch: torch ? Number((inferSeconds / torch.infer_seconds!).toFixed(3)) : null,
};
console.log(JSON.stringify(result, null, values.json ? undefined : 2));
