// Our BERT encoder, GCNConv and GINEConv against plain PyTorch re-implementations on the same
// weights and inputs (test/reference/nn_parity.py): max abs diff ≤ 1e-5 in float32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, manualSeed, noGrad, randn, saveSafetensors, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { BertModel, GCNConv, GINEConv, gcnNorm } from '../../src/nn/index.js';
import { hasPython, runReference } from '../helpers/python.js';

const BERT = { vocabSize: 50, hidden: 32, layers: 2, heads: 4, ffn: 64, maxPositions: 16, dropout: 0.1 };

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

test('BERT, GCN and GINE match PyTorch within 1e-5 (float32)', { skip: !hasPython('torch') && 'needs /usr/bin/python3 with torch' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-parity-'));
  try {
    manualSeed(7);
    const bert = new BertModel(BERT).eval();
    const gcn = new GCNConv(6, 5);
    const gine = new GINEConv(6, 6, 3);
    const inputs: Record<string, Tensor> = {
      input_ids: tensor([[2, 14, 7, 33, 9, 3, 1], [2, 5, 8, 3, 0, 0, 0]], { dtype: 'int64' }),
      attention_mask: tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]], { dtype: 'int64' }),
      x: randn([5, 6]),
      edge_index: tensor([[0, 1, 1, 2, 3, 4, 2], [1, 0, 2, 1, 4, 3, 4]], { dtype: 'int64' }),
      edge_attr: randn([7, 3]),
    };
    const all: Record<string, Tensor> = { ...inputs };
    for (const [k, v] of bert.namedParameters()) all[`bert.${k}`] = v;
    for (const [k, v] of gcn.namedParameters()) all[`gcn.${k}`] = v;
    for (const [k, v] of gine.namedParameters()) all[`gine.${k}`] = v;
    saveSafetensors(join(dir, 'in.safetensors'), all);
    runReference('nn_parity.py', [join(dir, 'in.safetensors'), join(dir, 'out.safetensors'), JSON.stringify({ bert: BERT })]);
    const ref = loadSafetensors(join(dir, 'out.safetensors')).tensors;

    noGrad(() => tidy(() => {
      const out = bert.forward(inputs.input_ids!, inputs.attention_mask!);
      assert.equal(out.hiddenStates.length, BERT.layers + 1);
      out.hiddenStates.forEach((h, i) => {
        // Padded positions are compared too: HF computes them the same way.
        const d = maxAbsDiff(h, ref[`bert.hidden.${i}`]!);
        assert.ok(d <= 1e-5, `hidden state ${i}: max abs diff ${d}`);
      });
      assert.ok(maxAbsDiff(out.pooled, ref['bert.pooled']!) <= 1e-5, 'pooled output');
      const g = gcnNorm(inputs.edge_index!, 5);
      const dg = maxAbsDiff(gcn.forward(inputs.x!, g), ref['gcn.out']!);
      assert.ok(dg <= 1e-5, `GCNConv: max abs diff ${dg}`);
      const de = maxAbsDiff(gine.forward(inputs.x!, inputs.edge_index!, inputs.edge_attr!), ref['gine.out']!);
      assert.ok(de <= 1e-5, `GINEConv: max abs diff ${de}`);
    }));
    for (const t of [...Object.values(inputs), ...Object.values(ref)]) t.dispose();
    bert.dispose(); gcn.dispose(); gine.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
