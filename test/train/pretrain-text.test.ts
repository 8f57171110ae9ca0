// MLM pre-training: the loss falls on a tiny corpus, an interrupted and resumed run equals the
// uninterrupted one exactly, and the output folder loads as a Hugging Face BERT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, liveTensorCount, tidy } from '../../src/tensor/index.js';
import { pretrainText, type PretrainTextOptions } from '../../src/train/pretrain-text.js';
import { loadBertCheckpoint } from '../../src/model/hf-bert.js';
import { maskTokens } from '../../src/data/mlm-collator.js';
import { mulberry32 } from '../../src/util/random.js';
import { DEFAULT_MODEL_DIR } from '../../src/util/paths.js';

const TEXTS = [
  'The molecule is a monocarboxylic acid anion that is the conjugate base of acetic acid.',
  'The molecule is a benzoic acid carrying a hydroxy group at position 2.',
  'The molecule is an amino acid zwitterion arising from transfer of a proton.',
  'The molecule is a steroid hormone that has a role as a human metabolite.',
  'The molecule is a member of the class of phenols carrying a methyl substituent.',
  'The molecule is a tertiary amine and a member of piperidines.',
];

function options(out: string, o: Partial<PretrainTextOptions> = {}): PretrainTextOptions {
  return {
    texts: [...TEXTS, ...TEXTS], vocabPath: join(DEFAULT_MODEL_DIR, 'vocab.txt'), out,
    encoder: { hidden: 16, layers: 1, heads: 2, ffn: 32, maxPositions: 64, dropout: 0.1 },
    epochs: 4, batchSize: 4, lr: 3e-3, warmup: 2, weightDecay: 0.01, maxLength: 64, maskProb: 0.3, clip: 1, seed: 5,
    checkpointEvery: 5, resume: false, progress: null, log: () => {}, ...o,
  };
}

test('BERT masking: 15% of real tokens, never special or padding ones, at least one', () => {
  const ids = Int32Array.from({ length: 2000 }, (_, i) => (i % 100 === 0 ? 2 : 10 + (i % 50)));
  const mask = Int32Array.from({ length: 2000 }, (_, i) => (i >= 1900 ? 0 : 1));
  const m = maskTokens(ids, mask, { maskId: 4, vocabSize: 60, specialIds: new Set([0, 2, 3]), random: mulberry32(1) });
  assert.ok(m.positions.length > 230 && m.positions.length < 340, `${m.positions.length} of 1881 real tokens chosen`);
  for (let k = 0; k < m.positions.length; k++) {
    const p = m.positions[k]!;
    assert.ok(mask[p] === 1 && ids[p] !== 2, 'only real, non-special tokens are chosen');
    assert.equal(m.labels[k], ids[p]);
  }
  const masked = Array.from(m.positions).filter((p) => m.inputIds[p] === 4).length / m.positions.length;
  assert.ok(masked > 0.7 && masked < 0.9, `${masked} of the chosen became [MASK]`);
  const one = maskTokens(Int32Array.from([2, 11, 3]), Int32Array.from([1, 1, 1]), { maskProb: 0, maskId: 4, vocabSize: 60, specialIds: new Set([2, 3]), random: mulberry32(2) });
  assert.deepEqual(Array.from(one.positions), [1]);
});

test('pre-training lowers the MLM loss, and resume continues exactly', async () => {
  const root = mkdtempSync(join(tmpdir(), 'orma-pretrain-'));
  const before = liveTensorCount();
  try {
    const full = await pretrainText(options(join(root, 'full'), { validationTexts: TEXTS }));
    assert.equal(full.steps, 12);
    assert.ok(full.finished);
    const metrics = readFileSync(join(root, 'full', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { validation_loss?: number });
    const val = metrics.filter((m) => m.validation_loss !== undefined).map((m) => m.validation_loss!);
    assert.equal(val.length, 4);
    assert.ok(val[3]! < val[0]!, `validation loss should fall: ${val.join(' -> ')}`);

    let calls = 0;
    const part = await pretrainText(options(join(root, 'resumed'), { shouldStop: () => ++calls >= 7 }));
    assert.equal(part.steps, 7);
    assert.ok(!part.finished);
    const rest = await pretrainText(options(join(root, 'resumed'), { resume: true }));
    assert.equal(rest.steps, 12);
    tidy(() => {
      const a = loadSafetensors(join(root, 'full', 'model.safetensors')).tensors;
      const b = loadSafetensors(join(root, 'resumed', 'model.safetensors')).tensors;
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
      for (const k of Object.keys(a)) assert.equal(a[k]!.sub(b[k]!).abs().max().item(), 0, `${k} differs after resume`);
    });
    const loaded = loadBertCheckpoint(join(root, 'full'));
    assert.deepEqual(loaded.report.missing, []);
    assert.ok('cls.predictions.transform.dense.weight' in loaded.heads);
    loaded.model.dispose();
    for (const t of Object.values(loaded.heads)) t.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.equal(liveTensorCount(), before, 'tensors leaked');
});
