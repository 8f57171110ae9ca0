// Float64 finite-difference checks of every differentiable op of the Tensor class and functional.ts.
// Test inputs stay away from kinks (|x| ≥ 0.2 for abs/relu, distinct values for max/min/topk/sort).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, tensor, tidy, cat, stack, where, linear, einsum, layerNorm, dropout, embedding, crossEntropy, mseLoss, normalize,
  liveTensorCount, noGrad, manualSeed,
} from '../../src/tensor/index.js';
import { assertGradcheck, gradcheck, seededUniform } from '../helpers/gradcheck.js';

let seedCounter = 1;
/** float64 tensor with values uniform in [lo, hi), requiring grad. */
function r(shape: number[], lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = seededUniform(n, 1000 + seedCounter++);
  return tensor(u.map((v) => lo + ((v + 1) / 2) * (hi - lo)), { dtype: 'float64', shape, requiresGrad: true });
}
/** Values with |x| in [0.2, 1.2): no kink of abs/relu/sign nearby. */
function away(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = seededUniform(n, 5000 + seedCounter++);
  return tensor(u.map((v) => (v < 0 ? -0.2 + v : 0.2 + v)), { dtype: 'float64', shape, requiresGrad: true });
}
/** A permutation of distinct, well-separated values (no ties for max/sort/topk). */
function distinct(shape: number[], offset = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => offset + 0.1 * i - 0.05 * n);
  const u = seededUniform(n, 9000 + seedCounter++);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a]! - u[b]!);
  return tensor(Float64Array.from(order.map((i) => vals[i]!)), { dtype: 'float64', shape, requiresGrad: true });
}
function long(data: number[] | number[][], shape?: number[]): Tensor {
  return tensor(data as number[], { dtype: 'int64', ...(shape ? { shape } : {}) });
}
function bool(data: boolean[], shape: number[]): Tensor {
  return tensor(data, { shape });
}

type Case = [name: string, make: () => { fn: (...xs: Tensor[]) => Tensor; inputs: Tensor[]; seed?: number }];

const cases: Case[] = [
  // ---- views ----
  ['reshape', () => ({ fn: (x) => x.reshape(4, 6), inputs: [r([2, 3, 4])] })],
  ['reshape (non-contiguous input)', () => ({ fn: (x) => x.transpose(0, 1).reshape(-1), inputs: [r([3, 4])] })],
  ['view', () => ({ fn: (x) => x.view(6, 4), inputs: [r([2, 3, 4])] })],
  ['transpose', () => ({ fn: (x) => x.transpose(0, 2), inputs: [r([2, 3, 4])] })],
  ['mT', () => ({ fn: (x) => x.mT, inputs: [r([2, 3, 4])] })],
  ['permute', () => ({ fn: (x) => x.permute(2, 0, 1), inputs: [r([2, 3, 4])] })],
  ['narrow', () => ({ fn: (x) => x.narrow(1, 1, 2), inputs: [r([2, 4])] })],
  ['slice with step', () => ({ fn: (x) => x.slice(1, 1, 5, 2), inputs: [r([2, 6])] })],
  ['slice negative start, open end', () => ({ fn: (x) => x.slice(0, -2), inputs: [r([4, 3])] })],
  ['select', () => ({ fn: (x) => x.select(1, -1), inputs: [r([2, 3, 2])] })],
  ['unsqueeze', () => ({ fn: (x) => x.unsqueeze(1).mul(x.unsqueeze(0)), inputs: [r([3])] })],
  ['squeeze', () => ({ fn: (x) => x.squeeze(1), inputs: [r([2, 1, 3])] })],
  ['flatten', () => ({ fn: (x) => x.flatten(1), inputs: [r([2, 3, 2])] })],
  ['expand', () => ({ fn: (x) => x.expand(2, 3, 4), inputs: [r([3, 1])] })],
  ['expandAs', () => ({ fn: (x, y) => x.expandAs(y).mul(y), inputs: [r([1, 3]), r([2, 3])] })],
  ['split', () => ({ fn: (x) => { const [a, b] = x.split([1, 2], 1); return cat([b!.mul(3), a!.exp()], 1); }, inputs: [r([2, 3])] })],
  ['cat', () => ({ fn: (a, b) => cat([a, b], 1), inputs: [r([2, 2]), r([2, 3])] })],
  ['cat dim 0, three inputs', () => ({ fn: (a, b, c) => cat([a, b, c.mul(2)]), inputs: [r([1, 2]), r([2, 2]), r([1, 2])] })],
  ['stack', () => ({ fn: (a, b) => stack([a, b], 0), inputs: [r([2, 3]), r([2, 3])] })],
  ['stack dim -1', () => ({ fn: (a, b) => stack([a, b.exp()], -1), inputs: [r([2, 3]), r([2, 3])] })],
  ['contiguous', () => ({ fn: (x) => x.transpose(0, 1).contiguous(), inputs: [r([2, 3])] })],
  ['clone', () => ({ fn: (x) => x.clone().mul(x), inputs: [r([2, 3])] })],
  ['tril', () => ({ fn: (x) => x.tril(), inputs: [r([4, 4])] })],
  ['tril(-1) batched', () => ({ fn: (x) => x.tril(-1), inputs: [r([2, 3, 3])] })],
  // ---- indexing ----
  ['indexSelect with repeats', () => ({ fn: (x) => x.indexSelect(0, long([2, 0, 2])), inputs: [r([3, 2])] })],
  ['indexSelect dim 1', () => ({ fn: (x) => x.indexSelect(1, long([1, 1, 0])), inputs: [r([2, 3])] })],
  ['gather', () => ({ fn: (x) => x.gather(1, long([[0, 2, 2], [1, 0, 1]])), inputs: [r([2, 3])] })],
  ['maskedFill', () => ({ fn: (x) => x.maskedFill(bool([true, false, false, true, true, false], [2, 3]), 0.5).mul(x), inputs: [r([2, 3])] })],
  ['maskedFill broadcast mask', () => ({ fn: (x) => x.maskedFill(bool([false, true, false], [1, 3]), -2), inputs: [r([2, 3])] })],
  ['where', () => ({ fn: (a, b) => where(bool([true, false, true, false, false, true], [2, 3]), a, b), inputs: [r([2, 3]), r([2, 3])] })],
  ['where broadcast', () => ({ fn: (a, b) => where(bool([true, false, true], [3]), a, b), inputs: [r([2, 3]), r([2, 1])] })],
  ['scatterAdd', () => ({ fn: (s, src) => s.scatterAdd(0, long([[0, 1, 2], [2, 1, 0], [0, 0, 0]]), src), inputs: [r([3, 3]), r([3, 3])] })],
  ['indexAdd', () => ({ fn: (s, src) => s.indexAdd(0, long([2, 0, 2, 1]), src), inputs: [r([3, 2]), r([4, 2])] })],
  ['scatterReduce sum', () => ({ fn: (s, src) => s.scatterReduce(0, long([0, 2, 0, 1]), src, 'sum'), inputs: [r([3]), r([4])] })],
  ['scatterReduce mean includeSelf', () => ({ fn: (s, src) => s.scatterReduce(0, long([0, 2, 0, 0]), src, 'mean'), inputs: [r([3]), r([4])] })],
  ['scatterReduce mean excludeSelf', () => ({ fn: (s, src) => s.scatterReduce(0, long([0, 2, 0, 0]), src, 'mean', false), inputs: [r([3]), r([4])] })],
  ['scatterReduce amax', () => ({ fn: (s, src) => s.scatterReduce(0, long([0, 2, 0, 1, 1]), src, 'amax'), inputs: [distinct([3]), distinct([5], 0.03)] })],
  ['scatterReduce amax excludeSelf 2-D', () => ({ fn: (s, src) => s.scatterReduce(1, long([[0, 0, 1], [1, 1, 1]]), src, 'amax', false), inputs: [distinct([2, 2]), distinct([2, 3], 0.02)] })],
  ['maskedSelect', () => ({ fn: (x) => x.maskedSelect(bool([true, false, true, true, false, true], [2, 3])), inputs: [r([2, 3])] })],
  ['topk values', () => ({ fn: (x) => x.topk(2, 1).values, inputs: [distinct([3, 4])] })],
  ['topk smallest', () => ({ fn: (x) => x.topk(2, 0, false).values, inputs: [distinct([4, 2])] })],
  ['sort values', () => ({ fn: (x) => x.sort(-1, true).values, inputs: [distinct([2, 4])] })],
  // ---- math ----
  ['add broadcast + alpha', () => ({ fn: (a, b) => a.add(b, 0.5), inputs: [r([2, 3]), r([3])] })],
  ['add scalar', () => ({ fn: (a) => a.add(2.5).mul(a), inputs: [r([2, 3])] })],
  ['sub broadcast + alpha', () => ({ fn: (a, b) => a.sub(b, 2), inputs: [r([2, 1]), r([1, 3])] })],
  ['sub scalar', () => ({ fn: (a) => a.sub(1.5, 2).mul(a), inputs: [r([3])] })],
  ['rsub', () => ({ fn: (a) => a.rsub(3).mul(a), inputs: [r([2, 3])] })],
  ['mul broadcast', () => ({ fn: (a, b) => a.mul(b), inputs: [r([2, 3, 1]), r([3, 4])] })],
  ['mul scalar', () => ({ fn: (a) => a.mul(-1.7), inputs: [r([4])] })],
  ['div broadcast', () => ({ fn: (a, b) => a.div(b), inputs: [r([2, 3]), r([2, 1], 0.5, 2)] })],
  ['div scalar', () => ({ fn: (a) => a.div(0.3), inputs: [r([4])] })],
  ['pow tensor^tensor', () => ({ fn: (a, b) => a.pow(b), inputs: [r([2, 3], 0.5, 2), r([3], -1.5, 1.5)] })],
  ['pow scalar exponent', () => ({ fn: (a) => a.pow(2.5), inputs: [r([2, 3], 0.3, 2)] })],
  ['pow integer exponent, negative base', () => ({ fn: (a) => a.pow(3), inputs: [r([5])] })],
  ['maximum', () => ({ fn: (a, b) => a.maximum(b), inputs: [distinct([2, 3]), distinct([2, 3], 0.04)] })],
  ['minimum broadcast', () => ({ fn: (a, b) => a.minimum(b), inputs: [distinct([2, 3]), distinct([3], 0.03)] })],
  ['clamp', () => ({ fn: (a) => a.clamp(-0.5, 0.5), inputs: [tensor([-0.9, -0.3, 0.1, 0.45, 0.8, -0.7], { dtype: 'float64', requiresGrad: true })] })],
  ['clampMin', () => ({ fn: (a) => a.clampMin(0.1), inputs: [tensor([-0.9, -0.3, 0.2, 0.45, 0.8], { dtype: 'float64', requiresGrad: true })] })],
  ['clamp max only', () => ({ fn: (a) => a.clamp(null, 0), inputs: [away([6])] })],
  ['matmul 2-D', () => ({ fn: (a, b) => a.matmul(b), inputs: [r([3, 4]), r([4, 2])] })],
  ['matmul batched broadcast', () => ({ fn: (a, b) => a.matmul(b), inputs: [r([2, 3, 4]), r([4, 5])] })],
  ['matmul broadcast batch dims', () => ({ fn: (a, b) => a.matmul(b), inputs: [r([2, 1, 3, 4]), r([3, 4, 2])] })],
  ['matmul vector-matrix', () => ({ fn: (a, b) => a.matmul(b), inputs: [r([4]), r([4, 2])] })],
  ['matmul matrix-vector', () => ({ fn: (a, b) => a.matmul(b), inputs: [r([3, 4]), r([4])] })],
  ['matmul transposed operand', () => ({ fn: (a, b) => a.matmul(b.mT), inputs: [r([3, 4]), r([2, 4])] })],
  ['bmm', () => ({ fn: (a, b) => a.bmm(b), inputs: [r([2, 3, 4]), r([2, 4, 2])] })],
  ['linear with bias', () => ({ fn: (x, w, b) => linear(x, w, b), inputs: [r([3, 4]), r([2, 4]), r([2])] })],
  ['linear without bias, 3-D input', () => ({ fn: (x, w) => linear(x, w), inputs: [r([2, 3, 4]), r([5, 4])] })],
  ['einsum batched matmul', () => ({ fn: (a, b) => einsum('bij,bjk->bik', a, b), inputs: [r([2, 3, 4]), r([2, 4, 2])] })],
  ['einsum diagonal', () => ({ fn: (a) => einsum('ii->i', a), inputs: [r([3, 3])] })],
  ['linear with transposed (non-contiguous) weight', () => ({ fn: (x, w) => linear(x, w.mT), inputs: [r([2, 3]), r([3, 4])] })],
  ['matmul with an expanded operand', () => ({ fn: (a, b) => a.expand(2, 3, 4).matmul(b), inputs: [r([3, 4]), r([2, 4, 2])] })],
  ['einsum row dot', () => ({ fn: (a, b) => einsum('ij,ij->i', a, b), inputs: [r([3, 4]), r([3, 4])] })],
  ['einsum outer + trace-like', () => ({ fn: (a, b) => einsum('i,j->ij', a, b), inputs: [r([3]), r([2])] })],
  // ---- unary ----
  ['exp', () => ({ fn: (x) => x.exp(), inputs: [r([2, 3])] })],
  ['log', () => ({ fn: (x) => x.log(), inputs: [r([2, 3], 0.3, 3)] })],
  ['log1p', () => ({ fn: (x) => x.log1p(), inputs: [r([2, 3], -0.5, 3)] })],
  ['sqrt', () => ({ fn: (x) => x.sqrt(), inputs: [r([2, 3], 0.2, 3)] })],
  ['rsqrt', () => ({ fn: (x) => x.rsqrt(), inputs: [r([2, 3], 0.3, 3)] })],
  ['abs', () => ({ fn: (x) => x.abs(), inputs: [away([2, 3])] })],
  ['neg', () => ({ fn: (x) => x.neg(), inputs: [r([2, 3])] })],
  ['reciprocal', () => ({ fn: (x) => x.reciprocal(), inputs: [away([2, 3])] })],
  ['square', () => ({ fn: (x) => x.square(), inputs: [r([2, 3])] })],
  ['sin', () => ({ fn: (x) => x.sin(), inputs: [r([2, 3], -3, 3)] })],
  ['cos', () => ({ fn: (x) => x.cos(), inputs: [r([2, 3], -3, 3)] })],
  ['relu', () => ({ fn: (x) => x.relu(), inputs: [away([2, 3])] })],
  ['gelu (erf)', () => ({ fn: (x) => x.gelu(), inputs: [r([2, 3], -3, 3)] })],
  ['gelu (tanh)', () => ({ fn: (x) => x.gelu('tanh'), inputs: [r([2, 3], -3, 3)] })],
  ['tanh', () => ({ fn: (x) => x.tanh(), inputs: [r([2, 3], -2, 2)] })],
  ['sigmoid', () => ({ fn: (x) => x.sigmoid(), inputs: [r([2, 3], -3, 3)] })],
  // piecewise constant: zero gradient (inputs away from the jumps)
  ['sign, floor, ceil, round have zero gradients', () => ({ fn: (x) => stack([x.sign(), x.floor(), x.ceil(), x.round()]).add(x), inputs: [tensor([-1.3, -0.2, 0.3, 1.7, 2.2], { dtype: 'float64', requiresGrad: true })] })],
  // ---- reductions ----
  ['sum dim', () => ({ fn: (x) => x.sum(1), inputs: [r([2, 3, 2])] })],
  ['sum dims keepdim', () => ({ fn: (x) => x.sum([0, 2], true).mul(x), inputs: [r([2, 3, 2])] })],
  ['sum all', () => ({ fn: (x) => x.sum().mul(x.sum()), inputs: [r([2, 3])] })],
  ['mean dim', () => ({ fn: (x) => x.mean(-1), inputs: [r([2, 3])] })],
  ['mean dims keepdim', () => ({ fn: (x) => x.mean([0, 1], true).mul(x), inputs: [r([2, 3, 2])] })],
  ['mean all', () => ({ fn: (x) => x.mean().exp(), inputs: [r([2, 3])] })],
  ['max dim values', () => ({ fn: (x) => x.max(1).values, inputs: [distinct([3, 4])] })],
  ['max dim keepdim', () => ({ fn: (x) => x.max(0, true).values.mul(x), inputs: [distinct([3, 2])] })],
  ['min dim values', () => ({ fn: (x) => x.min(-1).values, inputs: [distinct([3, 4])] })],
  ['max all', () => ({ fn: (x) => x.max(), inputs: [distinct([3, 4])] })],
  ['min all', () => ({ fn: (x) => x.min(), inputs: [distinct([3, 4])] })],
  ['logsumexp', () => ({ fn: (x) => x.logsumexp(1), inputs: [r([2, 4], -3, 3)] })],
  ['logsumexp dims keepdim', () => ({ fn: (x) => x.logsumexp([0, 2], true), inputs: [r([2, 3, 2], -3, 3)] })],
  ['norm L2 dim', () => ({ fn: (x) => x.norm(2, 1), inputs: [r([3, 4])] })],
  ['norm L2 all', () => ({ fn: (x) => x.norm(), inputs: [r([3, 4])] })],
  ['norm L1 dim keepdim', () => ({ fn: (x) => x.norm(1, 0, true), inputs: [away([3, 4])] })],
  ['norm p=3', () => ({ fn: (x) => x.norm(3, -1), inputs: [away([2, 4])] })],
  ['var unbiased', () => ({ fn: (x) => x.var(1), inputs: [r([3, 4])] })],
  ['var population keepdim', () => ({ fn: (x) => x.var([0, 1], true, 0), inputs: [r([3, 4])] })],
  ['cumsum', () => ({ fn: (x) => x.cumsum(1), inputs: [r([2, 4])] })],
  // ---- nn ----
  ['softmax', () => ({ fn: (x) => x.softmax(-1), inputs: [r([3, 4], -2, 2)] })],
  ['softmax dim 0', () => ({ fn: (x) => x.softmax(0), inputs: [r([3, 4], -2, 2)] })],
  ['logSoftmax', () => ({ fn: (x) => x.logSoftmax(1), inputs: [r([3, 4], -2, 2)] })],
  ['layerNorm affine', () => ({ fn: (x, w, b) => layerNorm(x, [4], w, b), inputs: [r([2, 3, 4]), r([4], 0.5, 1.5), r([4])] })],
  ['layerNorm weight only', () => ({ fn: (x, w) => layerNorm(x, [3], w), inputs: [r([2, 3]), r([3], 0.5, 1.5)] })],
  ['layerNorm no affine, 2 normalized dims', () => ({ fn: (x) => layerNorm(x, [3, 4], null, null, 1e-3), inputs: [r([2, 3, 4])] })],
  ['dropout eval', () => ({ fn: (x) => dropout(x, 0.3, false), inputs: [r([3, 4])] })],
  ['dropout train (fixed seed)', () => ({ fn: (x) => dropout(x, 0.4, true).mul(x), inputs: [r([4, 5])], seed: 77 })],
  ['embedding', () => ({ fn: (w) => embedding(w, long([[1, 3], [3, 0]])), inputs: [r([4, 3])] })],
  // The padding row is deliberately cut from the gradient (checked exactly below), so only the other rows are checked here.
  ['embedding paddingIdx (other rows)', () => ({ fn: (w) => embedding(cat([tensor([[0.3, -0.4]], { dtype: 'float64' }), w]), long([1, 0, 2, 0, 2]), 0), inputs: [r([2, 2])] })],
  ['crossEntropy mean', () => ({ fn: (x) => crossEntropy(x, long([0, 2, 1])), inputs: [r([3, 4], -2, 2)] })],
  ['crossEntropy sum + ignoreIndex', () => ({ fn: (x) => crossEntropy(x, long([0, -100, 3, 1]), { reduction: 'sum' }), inputs: [r([4, 4], -2, 2)] })],
  ['crossEntropy none + custom ignoreIndex', () => ({ fn: (x) => crossEntropy(x, long([0, 2, 3]), { reduction: 'none', ignoreIndex: 2 }), inputs: [r([3, 4], -2, 2)] })],
  ['crossEntropy labelSmoothing', () => ({ fn: (x) => crossEntropy(x, long([0, 2, 1]), { labelSmoothing: 0.1 }), inputs: [r([3, 4], -2, 2)] })],
  ['crossEntropy weight', () => ({ fn: (x) => crossEntropy(x, long([0, 2, 1, 2]), { weight: tensor([0.5, 2, 1], { dtype: 'float64' }) }), inputs: [r([4, 3], -2, 2)] })],
  ['crossEntropy weight + ignore + smoothing', () => ({ fn: (x) => crossEntropy(x, long([0, 2, 1, 1]), { weight: tensor([0.5, 2, 1], { dtype: 'float64' }), ignoreIndex: 1, labelSmoothing: 0.2 }), inputs: [r([4, 3], -2, 2)] })],
  ['crossEntropy [N, C, L]', () => ({ fn: (x) => crossEntropy(x, long([[0, 2], [1, 1]])), inputs: [r([2, 3, 2], -2, 2)] })],
  ['mseLoss mean', () => ({ fn: (a, b) => mseLoss(a, b), inputs: [r([2, 3]), r([2, 3])] })],
  ['mseLoss sum', () => ({ fn: (a, b) => mseLoss(a, b, 'sum'), inputs: [r([2, 3]), r([2, 3])] })],
  ['mseLoss none', () => ({ fn: (a, b) => mseLoss(a, b, 'none'), inputs: [r([2, 3]), r([2, 3])] })],
  ['normalize', () => ({ fn: (x) => normalize(x), inputs: [r([3, 4])] })],
  ['normalize dim 0, p=1', () => ({ fn: (x) => normalize(x, 0, 1), inputs: [away([3, 4])] })],
];

for (const [name, make] of cases) {
  test(`gradcheck: ${name}`, () => {
    const before = liveTensorCount();
    tidy(() => {
      const { fn, inputs, seed } = make();
      assertGradcheck(fn, inputs, seed === undefined ? {} : { seed }, name);
    });
    assert.equal(liveTensorCount(), before, 'gradcheck leaked tensors');
  });
}

test('gradcheck: dtype conversions pass gradients through (float64 -> float32 -> float64, linear so a large eps is exact)', () => {
  tidy(() => {
    const x = tensor([0.5, -1.25, 2], { dtype: 'float64', requiresGrad: true });
    assertGradcheck((a) => a.to('float32').mul(3).to('float64'), [x], { eps: 1e-2 });
    assertGradcheck((a) => a.float().double().mul(a), [x], { eps: 1e-3, atol: 1e-4 });
  });
});

test('gradcheck catches a wrong gradient and reports the worst element', () => {
  tidy(() => {
    const x = r([2, 3]);
    // x * detach(x): autograd sees d/dx = x, the true derivative is 2x.
    const res = gradcheck((a) => a.mul(a.detach()), [x]);
    assert.equal(res.ok, false);
    assert.ok(res.worst);
    assert.equal(res.worst.input, 0);
    assert.equal(res.worst.index.length, 2);
    assert.ok(Math.abs(res.worst.numeric - 2 * res.worst.analytic) < 1e-6, `numeric ${res.worst.numeric} vs analytic ${res.worst.analytic}`);
    assert.throws(() => assertGradcheck((a) => a.mul(a.detach()), [x]), /gradient mismatch at input 0 index \[\d, \d\]: numeric .* analytic/);
  });
});

test('gradcheck rejects float32 inputs and a missing requiresGrad', () => {
  tidy(() => {
    assert.throws(() => gradcheck((a) => a.exp(), [tensor([1, 2], { requiresGrad: true })]), /float64/);
    assert.throws(() => gradcheck((a) => a.exp(), [tensor([1, 2], { dtype: 'float64' })]), /no input requires grad/);
  });
});

test('dropout in eval mode is the identity; in train mode zeroes and rescales', () => {
  tidy(() => {
    const x = r([50, 40], 0.5, 1.5);
    assert.deepEqual(dropout(x, 0.3, false).toNumbers(), x.toNumbers());
    manualSeed(5);
    const y = noGrad(() => dropout(x, 0.25, true));
    const xs = x.toNumbers(), ys = y.toNumbers();
    let zeros = 0;
    ys.forEach((v, i) => {
      if (v === 0) zeros++;
      else assert.ok(Math.abs(v - xs[i]! / 0.75) < 1e-12);
    });
    const frac = zeros / ys.length;
    assert.ok(frac > 0.2 && frac < 0.3, `dropped fraction ${frac}`);
  });
});

test('embedding: the paddingIdx row gets an exactly zero gradient, others accumulate', () => {
  tidy(() => {
    const w = r([4, 2]);
    embedding(w, long([1, 0, 1, 3, 0]), 0).sum().backward();
    assert.deepEqual(w.grad!.toNumbers(), [0, 0, 2, 2, 0, 0, 1, 1]);
  });
});

test('gradients accumulate over two backward passes and zeroGrad clears them', () => {
  tidy(() => {
    const x = r([3]);
    x.mul(2).sum().backward();
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [5, 5, 5]);
    x.zeroGrad();
    assert.equal(x.grad, null);
  });
});

test('backward with an explicit gradient and retainGraph', () => {
  tidy(() => {
    const x = r([2]);
    const y = x.mul(x);
    y.backward(tensor([1, 10], { dtype: 'float64' }), true);
    const xs = x.toNumbers();
    const g1 = x.grad!.toNumbers();
    assert.ok(Math.abs(g1[0]! - 2 * xs[0]!) < 1e-12 && Math.abs(g1[1]! - 20 * xs[1]!) < 1e-12);
    y.sum().backward();
    const g2 = x.grad!.toNumbers();
    assert.ok(Math.abs(g2[0]! - 4 * xs[0]!) < 1e-12);
  });
});

test('noGrad results do not require grad; detach cuts the graph', () => {
  tidy(() => {
    const x = r([2]);
    assert.equal(noGrad(() => x.mul(2)).requiresGrad, false);
    assert.equal(x.mul(2).requiresGrad, true);
    assert.equal(x.mul(2).isLeaf, false);
    assert.equal(x.detach().requiresGrad, false);
    assert.equal(x.isLeaf, true);
  });
});
