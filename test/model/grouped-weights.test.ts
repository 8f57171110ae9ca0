// The native pooled-weights op of the grouped scores (native/src/grouped.cc) against its tensor-op
// reference (scores.ts groupedKeyVectorsOps): values and gradients in float64 and float32, with padded
// queries, padded keys, a one-key molecule and a molecule without keys (in float32 the tensor ops' gradient
// is NaN for that one: Z² = (1e-30)² underflows; the native op's is 0); and a float64 gradcheck of the op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { einsum, groupedPoolWeights, layerNorm, manualSeed, randn, setDefaultDtype, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { groupedKeyVectorsOps } from '../../src/model/scores.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

const maxAbs = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();
const ln0 = (x: Tensor) => layerNorm(x, [x.size(-1)], null, null, 1e-5);

/** v [bt, bm, D] through the native op, as scores.ts groupedKeyVectors makes it. */
function nativeVectors(sim: Tensor, qm: Tensor, keys: Tensor, kMask: Tensor): Tensor {
  const gram = keys.matmul(keys.transpose(1, 2));
  return ln0(einsum('abk,bkd->abd', groupedPoolWeights(sim, gram.unsqueeze(0), qm, kMask.unsqueeze(0)), keys));
}

function inputs(withEmpty: boolean) {
  const masks = [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0], ...(withEmpty ? [[0, 0, 0, 0]] : [])];
  const q = randn([3, 5, 6]).requiresGrad_(true), k = randn([masks.length, 4, 6]).requiresGrad_(true);
  const qm = tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).unsqueeze(1);
  return { q, k, qm, kMask: tensor(masks) };
}

for (const dtype of ['float64', 'float32'] as const) {
  test(`native grouped pooled weights equal the tensor ops, values and gradients (${dtype})`, () => {
    setDefaultDtype(dtype);
    try {
      tidy(() => {
        manualSeed(3);
        const { q, k, qm, kMask } = inputs(dtype === 'float64');
        const weights = randn([3, kMask.size(0), 6]);   // a loss that weights every output
        const run = (f: typeof nativeVectors) => {
          const v = f(einsum('and,bkd->abnk', q, k), qm, k, kMask);
          v.mul(weights).sum().backward();
          const out = { v: v.detach(), dq: q.grad!.clone(), dk: k.grad!.clone() };
          q.zeroGrad(); k.zeroGrad();
          return out;
        };
        const a = run(nativeVectors), b = run(groupedKeyVectorsOps);
        const tol = dtype === 'float64' ? 1e-10 : 2e-4;
        assert.ok(maxAbs(a.v, b.v) < tol, `values differ by ${maxAbs(a.v, b.v)}`);
        assert.ok(maxAbs(a.dq, b.dq) < tol, `query gradients differ by ${maxAbs(a.dq, b.dq)}`);
        assert.ok(maxAbs(a.dk, b.dk) < tol, `key gradients differ by ${maxAbs(a.dk, b.dk)}`);
        if (dtype === 'float64') assert.equal(a.v.select(1, 3).abs().max().item(), 0);   // no keys: LN₀ of 0
      });
    } finally {
      setDefaultDtype('float32');
    }
  });
}

test('native grouped pooled weights: a molecule without keys has finite float32 gradients', () => tidy(() => {
  manualSeed(3);
  const { q, k, qm, kMask } = inputs(true);
  nativeVectors(einsum('and,bkd->abnk', q, k), qm, k, kMask).mul(randn([3, 4, 6])).sum().backward();
  assert.equal(q.grad!.isnan().sum().item() + k.grad!.isnan().sum().item(), 0);
}));

test('native grouped pooled weights: float64 finite-difference gradients in sim and gram', () => {
  setDefaultDtype('float64');
  try {
    tidy(() => {
      manualSeed(5);
      const sim = randn([3, 4, 3]), keys = randn([3, 3, 5]);
      const gram = keys.matmul(keys.transpose(1, 2));
      const qm = tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]]), km = tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0]]);
      assertGradcheck((s, g) => groupedPoolWeights(s!, g!, qm, km), [sim, gram], { wrt: [0, 1] }, 'groupedPoolWeights');
    });
  } finally {
    setDefaultDtype('float32');
  }
});

test('native grouped pooled weights reject integer similarities with the op named', () => tidy(() => {
  const sim = randn([2, 3, 4]).mul(10).to('int32');
  assert.throws(() => groupedPoolWeights(sim, randn([2, 4, 4]), randn([2, 3]), randn([2, 4])), /groupedPoolWeights.*float32 or float64/);
}));
