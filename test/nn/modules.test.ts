// Gradient checks (float64 finite differences) for every module, plus module mechanics:
// parameter naming, train/eval, state dicts and safetensors round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, liveTensorCount, manualSeed, parseDevice, randn, setDefaultDtype, tensor, tidy, noGrad, zeros, type Tensor } from '../../src/tensor/index.js';
import { BertLayer, BertModel, Dropout, Embedding, GCNConv, GINEConv, LayerNorm, Linear, MLP, SelfAttention, gcnNorm, keyPaddingBias, type Module } from '../../src/nn/index.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

/** Builds modules and inputs in float64, checks d(out)/d(inputs and every parameter). */
function checkModule(name: string, build: () => { module: Module; inputs: Tensor[]; fn: (...xs: Tensor[]) => Tensor; wrtInputs?: number[] }): void {
  test(`gradcheck ${name}`, () => {
    setDefaultDtype('float64');
    manualSeed(3);
    const before = liveTensorCount();
    try {
      // Inputs and helpers made by build() belong to this scope; the module's parameters are kept until dispose().
      const module = tidy(() => {
        const { module, inputs, fn, wrtInputs = [0] } = build();
        module.eval();
        const params = module.parameters();
        const all = [...inputs, ...params];
        const wrt = [...wrtInputs, ...params.map((_, i) => inputs.length + i)];
        const r = assertGradcheck((...xs) => fn(...xs.slice(0, inputs.length)), all, { wrt }, name);
        assert.ok(r.checked > 0);
        return module;
      });
      module.dispose();
    } finally {
      setDefaultDtype('float32');
    }
    assert.equal(liveTensorCount(), before, `${name}: tensors leaked`);
  });
}

checkModule('Linear', () => {
  const m = new Linear(4, 3);
  return { module: m, inputs: [randn([2, 4])], fn: (x) => m.forward(x!) };
});
checkModule('Linear without bias', () => {
  const m = new Linear(4, 3, { bias: false });
  return { module: m, inputs: [randn([5, 4])], fn: (x) => m.forward(x!) };
});
checkModule('LayerNorm', () => {
  const m = new LayerNorm(5);
  noGrad(() => { m.weight!.normal_(1, 0.3); m.bias!.normal_(0, 0.3); });
  return { module: m, inputs: [randn([3, 5])], fn: (x) => m.forward(x!) };
});
checkModule('Embedding', () => {
  const m = new Embedding(6, 3);
  const idx = tensor([[1, 0, 5], [2, 2, 4]], { dtype: 'int64' });
  return { module: m, inputs: [idx], fn: (i) => m.forward(i!), wrtInputs: [] };
});
checkModule('MLP', () => {
  const m = new MLP([4, 6, 3], 'gelu');
  return { module: m, inputs: [randn([3, 4])], fn: (x) => m.forward(x!) };
});
checkModule('SelfAttention with key padding', () => {
  const m = new SelfAttention({ hidden: 8, heads: 2, dropout: 0 });
  const mask = tensor([[1, 1, 1, 0], [1, 1, 0, 0]], { dtype: 'int64' });
  const bias = keyPaddingBias(mask, 'float64');
  return { module: m, inputs: [randn([2, 4, 8]), bias], fn: (x) => m.forward(x!, bias) };
});
checkModule('BertLayer', () => {
  const m = new BertLayer({ vocabSize: 10, hidden: 8, layers: 1, heads: 2, ffn: 12, maxPositions: 8, dropout: 0 });
  const bias = keyPaddingBias(tensor([[1, 1, 1], [1, 1, 0]], { dtype: 'int64' }), 'float64');
  return { module: m, inputs: [randn([2, 3, 8]), bias], fn: (x) => m.forward(x!, bias) };
});
checkModule('BertModel (pooled + last hidden)', () => {
  const m = new BertModel({ vocabSize: 9, hidden: 8, layers: 2, heads: 2, ffn: 8, maxPositions: 6, dropout: 0 });
  const ids = tensor([[2, 4, 5, 3], [2, 6, 3, 0]], { dtype: 'int64' });
  const mask = tensor([[1, 1, 1, 1], [1, 1, 1, 0]], { dtype: 'int64' });
  return {
    module: m, inputs: [ids, mask], wrtInputs: [],
    fn: (i, k) => { const o = m.forward(i!, k!); return o.pooled.add(o.lastHidden.sum(1)); },
  };
});
checkModule('BertModel pre-LN (pooled + last hidden)', () => {
  const m = new BertModel({ vocabSize: 9, hidden: 8, layers: 2, heads: 2, ffn: 8, maxPositions: 6, dropout: 0, norm: 'pre' });
  const ids = tensor([[2, 4, 5, 3], [2, 6, 3, 0]], { dtype: 'int64' });
  const mask = tensor([[1, 1, 1, 1], [1, 1, 1, 0]], { dtype: 'int64' });
  return {
    module: m, inputs: [ids, mask], wrtInputs: [],
    fn: (i, k) => { const o = m.forward(i!, k!); return o.pooled.add(o.lastHidden.sum(1)); },
  };
});
test('pre-LN BertLayer is x + Attn(LN1 x), then + FFN(LN2 ·); pre-LN BertModel ends with a LayerNorm', () => {
  setDefaultDtype('float64');
  try {
    manualSeed(5);
    const cfg = { vocabSize: 9, hidden: 8, layers: 1, heads: 2, ffn: 12, maxPositions: 6, dropout: 0, norm: 'pre' as const };
    const layer = new BertLayer(cfg).eval();
    const x = randn([2, 3, 8]);
    const att = layer.attention;
    const a = x.add(att.output.dense.forward(att.self.forward(att.output.norm.forward(x), null)));
    const want = a.add(layer.output.dense.forward(layer.intermediate.forward(layer.output.norm.forward(a))));
    assert.ok(layer.forward(x, null).sub(want).abs().max().item() < 1e-12);
    const model = new BertModel({ ...cfg, layers: 2 }).eval();
    assert.ok(model.namedParameters().map(([n]) => n).includes('encoder.final_LayerNorm.weight'));
    const last = model.forward(tensor([[2, 4, 5]], { dtype: 'int64' })).lastHidden;
    assert.ok(last.mean(-1).abs().max().item() < 1e-9, 'the last hidden state is layer-normalised');
    assert.equal(new BertModel({ ...cfg, norm: "post" }).namedParameters().map(([n]) => n).includes('encoder.final_LayerNorm.weight'), false);
  } finally {
    setDefaultDtype('float32');
  }
});
checkModule('GCNConv', () => {
  const m = new GCNConv(3, 4);
  const ei = tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 1]], { dtype: 'int64' });
  const g = gcnNorm(ei, 4, 'float64');
  return { module: m, inputs: [randn([4, 3]), ei], fn: (x) => m.forward(x!, g) };
});
checkModule('GINEConv', () => {
  const m = new GINEConv(3, 3, 2, { trainEps: true });
  const ei = tensor([[0, 1, 1, 2], [1, 0, 2, 1]], { dtype: 'int64' });
  const ea = randn([4, 2]);
  return { module: m, inputs: [randn([3, 3]).add(2), ei, ea], fn: (x) => m.forward(x!, ei, ea), wrtInputs: [0, 2] };
});

test('Embedding rows at paddingIdx get no gradient', () => {
  const m = new Embedding(4, 2, { paddingIdx: 0 });
  tidy(() => {
    m.forward(tensor([[0, 1, 0, 3]], { dtype: 'int64' })).sum().backward();
    assert.deepEqual(Array.from(m.weight.grad!.toArray() as Float32Array), [0, 0, 1, 1, 0, 0, 1, 1]);
  });
  m.dispose();
});

test('GCN normalisation matches the formula on a path graph', () => {
  // 0 - 1 - 2 (both directions): in-degree + self-loop = 2, 3, 2
  const ei = tensor([[0, 1, 1, 2], [1, 0, 2, 1]], { dtype: 'int64' });
  tidy(() => {
    const g = gcnNorm(ei, 3);
    const w = Array.from(g.weight.toArray() as Float32Array);
    const expected = [1 / Math.sqrt(6), 1 / Math.sqrt(6), 1 / Math.sqrt(6), 1 / Math.sqrt(6), 1 / 2, 1 / 3, 1 / 2];
    w.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `weight ${i}: ${v} vs ${expected[i]}`));
  });
  ei.dispose();
});

test('parameter names follow the Hugging Face BERT layout', () => {
  const m = new BertModel({ vocabSize: 20, hidden: 8, layers: 2, heads: 2, ffn: 16, maxPositions: 10, dropout: 0.1 });
  const names = m.namedParameters().map(([n]) => n);
  for (const n of ['embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight', 'embeddings.token_type_embeddings.weight',
    'embeddings.LayerNorm.weight', 'encoder.layer.0.attention.self.query.weight', 'encoder.layer.1.attention.output.LayerNorm.bias',
    'encoder.layer.1.intermediate.dense.weight', 'encoder.layer.1.output.dense.bias', 'pooler.dense.weight']) {
    assert.ok(names.includes(n), `missing ${n}`);
  }
  assert.equal(names.length, 5 + 2 * 16 + 2);
  // 20·8 + 10·8 + 2·8 + 16 (embeddings) + 2 × (4·72 + 32 + 8·16 + 16 + 16·8 + 8 + 16 + 16 + ...) + pooler 72
  assert.equal(m.numParameters(), m.parameters().reduce((n, p) => n + p.numel, 0));
  m.dispose();
});

test('dropout is active in train mode only', () => {
  manualSeed(1);
  const d = new Dropout(0.5);
  tidy(() => {
    const x = zeros([1000]).add(1);
    const yTrain = d.forward(x);
    const zerosCount = yTrain.eq(0).sum().item();
    assert.ok(zerosCount > 400 && zerosCount < 600, `train mode zeroed ${zerosCount} of 1000`);
    assert.ok(Math.abs(yTrain.max().item() - 2) < 1e-6, 'kept values are scaled by 1/(1-p)');
    d.eval();
    assert.equal(d.forward(x).eq(1).sum().item(), 1000);
  });
});

test('state dict round trip through safetensors, and clear errors for bad checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-nn-'));
  try {
    manualSeed(5);
    const cfg = { vocabSize: 30, hidden: 8, layers: 1, heads: 2, ffn: 16, maxPositions: 12, dropout: 0 };
    const a = new BertModel(cfg).eval();
    const b = new BertModel(cfg).eval();
    const path = join(dir, 'model.safetensors');
    a.save(path, { format: 'orma-test' });
    b.load(path);
    const ids = tensor([[1, 2, 3]], { dtype: 'int64' });
    noGrad(() => tidy(() => {
      const d = a.forward(ids).pooled.sub(b.forward(ids).pooled).abs().max().item();
      assert.equal(d, 0);
    }));
    const other = new BertModel({ ...cfg, hidden: 12, heads: 2 });
    assert.throws(() => other.load(path), /model\.safetensors: BertModel\.loadStateDict: shape mismatch:\n {2}embeddings\.word_embeddings\.weight: checkpoint \[30, 8\] vs model \[30, 12\]/);
    const deeper = new BertModel({ ...cfg, layers: 2 });
    assert.throws(() => deeper.load(path), /missing: encoder\.layer\.1\./);
    assert.deepEqual(deeper.load(path, { strict: false }).missing.length, 16);
    writeFileSync(join(dir, 'bad.safetensors'), Buffer.from([1, 2, 3]));
    assert.throws(() => a.load(join(dir, 'bad.safetensors')), /bad\.safetensors: not a valid safetensors file/);
    for (const m of [a, b, other, deeper]) m.dispose();
    ids.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Module.to('cpu') moves parameters in place: the same objects, still trained by an optimizer built before", () => {
  manualSeed(3);
  const m = new MLP([3, 4, 2]);
  const before = m.parameters();
  const values = before.map((p) => p.toNumbers());
  const opt = new AdamW(before, { lr: 0.1 });
  tidy(() => m.forward(randn([5, 3])).square().sum().backward());
  assert.equal(m.to('cpu'), m);
  const after = m.parameters();
  after.forEach((p, i) => {
    assert.equal(p, before[i]);
    assert.equal(p.device, 'cpu');
    assert.equal(p.requiresGrad, true);
    assert.deepEqual(p.toNumbers(), values[i]);
  });
  opt.step();
  assert.ok(after.some((p, i) => p.toNumbers().some((v, j) => v !== values[i]![j])), 'the optimizer still updates the moved parameters');
  assert.throws(() => m.to('gpu' as never), /unknown device 'gpu': expected 'cpu', 'cuda' or 'cuda:<index>'/);
  assert.equal(parseDevice('cuda:1'), 'cuda:1');
  assert.throws(() => parseDevice('cuda:-1'), /unknown device/);
  opt.dispose();
  m.dispose();
});
