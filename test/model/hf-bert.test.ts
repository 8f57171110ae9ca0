// Importing Hugging Face BERT folders (fixtures written by test/reference/make_hf_bert.py with the
// outputs of a plain-PyTorch BERT on the same weights) and writing our own in the same layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensorCount, loadSafetensors, noGrad, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { loadBertCheckpoint, saveBertCheckpoint, toHfBertConfig } from '../../src/model/hf-bert.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { hasPython, runReference } from '../helpers/python.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures');

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

function checkAgainstReference(dir: string): void {
  const before = liveTensorCount();
  const loaded = loadBertCheckpoint(dir);
  const ref = loadSafetensors(join(dir, 'reference-outputs.safetensors')).tensors;
  assert.deepEqual(loaded.report.missing, []);
  assert.deepEqual(loaded.report.ignored, ['bert.embeddings.position_ids']);
  assert.ok('cls.predictions.bias' in loaded.heads && 'cls.seq_relationship.weight' in loaded.heads);
  noGrad(() => tidy(() => {
    const out = loaded.model.eval().forward(ref.input_ids!, ref.attention_mask!);
    out.hiddenStates.forEach((h, i) => {
      const d = maxAbsDiff(h, ref[`hidden.${i}`]!);
      assert.ok(d <= 1e-5, `${dir}: hidden state ${i} differs from PyTorch by ${d}`);
    });
    assert.ok(maxAbsDiff(out.pooled, ref.pooled!) <= 1e-5, 'pooled output');
  }));
  assert.deepEqual(loaded.tokenizer.encode('The molecule is a benzoic acid.').ids, [2, 5, 6, 7, 8, 14, 15, 10, 18, 3]);
  loaded.model.dispose();
  for (const t of [...Object.values(loaded.heads), ...Object.values(ref)]) t.dispose();
  assert.equal(liveTensorCount(), before, 'tensors leaked');
}

test('a Hugging Face BertForPreTraining folder loads and matches PyTorch', () => checkAgainstReference(join(FIXTURES, 'hf-bert-tiny')));

test('TensorFlow-era LayerNorm names (gamma/beta) load too', () => checkAgainstReference(join(FIXTURES, 'hf-bert-tiny-gamma-beta')));

test('a legacy-format pytorch_model.bin (as SciBERT ships) loads without Python', () => checkAgainstReference(join(FIXTURES, 'hf-bert-tiny-bin')));

test('regenerating the fixture with PyTorch gives the same reference', { skip: !hasPython('torch') && 'needs /usr/bin/python3 with torch' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-hf-'));
  try {
    runReference('make_hf_bert.py', [dir]);
    checkAgainstReference(dir);
    rmSync(join(dir, 'model.safetensors'));
    runReference('make_hf_bert.py', [dir, '--bin']);
    checkAgainstReference(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoints that do not fit are refused with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-hf-bad-'));
  try {
    cpSync(join(FIXTURES, 'hf-bert-tiny'), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: 32 }));
    assert.throws(() => loadBertCheckpoint(dir), /model\.safetensors: does not fit the BERT described by config\.json: .*shape mismatch:\n {2}encoder\.layer\.0\.intermediate\.dense\.weight: checkpoint \[24, 16\] vs model \[32, 16\]/s);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }));
    assert.throws(() => loadBertCheckpoint(dir), /missing tensors: encoder\.layer\.2\./);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, hidden_act: 'relu' }));
    assert.throws(() => loadBertCheckpoint(dir), /hidden_act 'relu' is not supported/);
    writeFileSync(join(dir, 'config.json'), '{ not json');
    assert.throws(() => loadBertCheckpoint(dir), /config\.json: not valid JSON/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    rmSync(join(dir, 'model.safetensors'));
    assert.throws(() => loadBertCheckpoint(dir), /no model\.safetensors or pytorch_model\.bin/);
    rmSync(join(dir, 'config.json'));
    assert.throws(() => loadBertCheckpoint(dir), /no config\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our checkpoints round-trip through the Hugging Face layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-hf-out-'));
  try {
    const a = loadBertCheckpoint(join(FIXTURES, 'hf-bert-tiny'));
    saveBertCheckpoint(dir, a.model, a.tokenizer, join(FIXTURES, 'hf-bert-tiny', 'vocab.txt'), a.heads);
    const b = loadBertCheckpoint(dir);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'bert');
    assert.equal(config.hidden_size, 16);
    noGrad(() => tidy(() => {
      const batch = a.tokenizer.encodeBatch(['the molecule is an amine', 'a methyl group']);
      const shape = [batch.batchSize, batch.seqLength];
      const ids = tensor(batch.inputIds, { dtype: 'int32', shape }).long();
      const mask = tensor(batch.attentionMask, { dtype: 'int32', shape });
      assert.equal(maxAbsDiff(a.model.eval().forward(ids, mask).lastHidden, b.model.eval().forward(ids, mask).lastHidden), 0);
    }));
    for (const l of [a, b]) { l.model.dispose(); for (const t of Object.values(l.heads)) t.dispose(); }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pre-LN text encoder refuses the Hugging Face BERT export (BERT is post-LN)', () => {
  const cfg = { vocabSize: 9, hidden: 8, layers: 2, heads: 2, ffn: 8, maxPositions: 6, dropout: 0 };
  assert.equal(toHfBertConfig(cfg).hidden_size, 8);
  assert.throws(() => toHfBertConfig({ ...cfg, norm: 'pre' }), /pre-LN .*no Hugging Face BERT equivalent/);
});
