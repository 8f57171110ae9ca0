// The op profiler: libtorch records the ops (ours by name too), and the summary's self times subtract children.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupedPoolWeights, profile, randn, summarizeTrace, tidy } from '../../src/tensor/index.js';

test('profile records the ops of forward and backward, with our native op named', () => tidy(() => {
  const sim = randn([2, 3, 5, 4]).requiresGrad_(true), keys = randn([3, 4, 8]);
  const p = profile(() => {
    const gram = keys.matmul(keys.transpose(1, 2)).unsqueeze(0);
    groupedPoolWeights(sim, gram, randn([2, 3, 5]).gt(0).to('float32'), randn([1, 3, 4]).gt(-5).to('float32')).sum().backward();
    return 7;
  });
  assert.equal(p.result, 7);
  const names = p.ops.map((o) => o.name);
  for (const n of ['orma::groupedPoolWeights', 'aten::bmm']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  assert.ok(names.some((n) => n.includes('GroupedPoolWeights') && n !== 'orma::groupedPoolWeights'), 'the backward node');
  assert.ok(p.recordedMs > 0 && p.ops.every((o) => o.selfMs >= -1e-9 && o.selfMs <= o.totalMs + 1e-9));
}));

test('self time is an op\'s time minus its direct children, per thread', () => {
  const e = (name: string, ts: number, dur: number, tid = 1) => ({ name, ph: 'X', ts, dur, tid });
  const { ops, recordedMs } = summarizeTrace([e('einsum', 0, 1000), e('bmm', 100, 600), e('copy', 200, 100), e('einsum', 2000, 500), e('mul', 0, 300, 2)]);
  const by = new Map(ops.map((o) => [o.name, o]));
  assert.deepEqual([by.get('einsum')!.selfMs, by.get('einsum')!.totalMs, by.get('einsum')!.calls], [0.9, 1.5, 2]);
  assert.deepEqual([by.get('bmm')!.selfMs, by.get('copy')!.selfMs, by.get('mul')!.selfMs], [0.5, 0.1, 0.3]);
  assert.equal(recordedMs, 1.8);
  assert.equal(ops[0]!.name, 'einsum');
});
