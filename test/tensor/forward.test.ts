// Forward values: creation, conversion, non-differentiable ops, and the argument wiring of the
// differentiable ops whose options are easy to mix up (checked against hand-computed values).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tensor, scalar, zeros, ones, full, empty, arange, eye, randn, rand, randint, randperm, manualSeed, tidy, cat, stack, where,
  crossEntropy, layerNorm, normalize, mseLoss, linear, einsum, embedding, liveTensorCount, DTYPES, type DType,
} from '../../src/tensor/index.js';
import { native } from '../../src/tensor/native.js';
import { wrap } from '../../src/tensor/tensor.js';

function close(actual: number[], expected: number[], tol = 1e-6, msg = ''): void {
  assert.equal(actual.length, expected.length, `${msg} length ${actual.length} vs ${expected.length}`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${msg} [${i}] ${a} vs ${expected[i]}`));
}
const long = (d: number[], shape?: number[]) => tensor(d, { dtype: 'int64', ...(shape ? { shape } : {}) });
const f64 = (d: number[], shape?: number[]) => tensor(d, { dtype: 'float64', ...(shape ? { shape } : {}) });

test('arange: integer default, float steps, negative steps', () => tidy(() => {
  const a = arange(5);
  assert.equal(a.dtype, 'int64');
  assert.deepEqual(a.toNumbers(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(2, 8, 3).toNumbers(), [2, 5]);
  assert.deepEqual(arange(0, 1, 0.25, { dtype: 'float32' }).toNumbers(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(arange(3, 0, -1).toNumbers(), [3, 2, 1]);
  assert.deepEqual(arange(0).shape, [0]);
  // fractional arguments default to float32, as torch.arange (an int64 default truncated the step to 0)
  assert.equal(arange(0, 1, 0.25).dtype, 'float32');
  assert.deepEqual(arange(0, 1, 0.25).toNumbers(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(arange(2.5).toNumbers(), [0, 1, 2]);
  assert.equal(arange(2.5).dtype, 'float32');
}));

test('eye, zeros, ones, full, empty: shapes, dtypes, values', () => tidy(() => {
  assert.deepEqual(eye(3).toNumbers(), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(eye(2, { dtype: 'float64' }).dtype, 'float64');
  const z = zeros([2, 3]);
  assert.deepEqual(z.shape, [2, 3]);
  assert.equal(z.dtype, 'float32');
  assert.deepEqual(z.toNumbers(), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ones([2], { dtype: 'int64' }).toArray(), new BigInt64Array([1n, 1n]));
  assert.deepEqual(full([2, 2], 2.5, { dtype: 'float64' }).toNumbers(), [2.5, 2.5, 2.5, 2.5]);
  assert.deepEqual(full([3], 1, { dtype: 'bool' }).toNumbers(), [1, 1, 1]);
  assert.deepEqual(empty([0, 4]).shape, [0, 4]);
  assert.deepEqual(zeros([]).shape, []);
  assert.equal(zeros([]).numel, 1);
  assert.equal(ones([3], { requiresGrad: true }).requiresGrad, true);
  assert.throws(() => zeros([2, -1]), /zeros: invalid shape \[2, -1\]/);
  assert.throws(() => ones([1.5]), /ones: invalid shape/);
}));

test('tensor() from nested arrays: shape inference, default dtypes', () => tidy(() => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toNumbers(), [1, 2, 3, 4, 5, 6]);
  const b = tensor([[true, false], [false, true]]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toNumbers(), [1, 0, 0, 1]);
  const i = tensor([[-3, 4]], { dtype: 'int64' });
  assert.deepEqual(i.toArray(), new BigInt64Array([-3n, 4n]));
  assert.deepEqual(tensor([1, 2], { dtype: 'int32' }).toArray(), new Int32Array([1, 2]));
  assert.deepEqual(tensor([7, 255], { dtype: 'uint8' }).toArray(), new Uint8Array([7, 255]));
  assert.deepEqual(tensor([0.1], { dtype: 'float64' }).toArray(), new Float64Array([0.1]));
  const s = scalar(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.throws(() => tensor([1, 2], { dtype: 'bfloat16' }), /bfloat16/);
  // ragged nested arrays are rejected with the offending element, even when the count happens to fit a shape
  assert.throws(() => tensor([[1, 2], [3]]), /ragged: element \[1\] has 1 elements, expected 2/);
  assert.throws(() => tensor([[1, 2], [3], [4, 5, 6]]), /ragged/);
  assert.throws(() => tensor([[1, 2], [3, [4]]] as never), /ragged: element \[1, 1\] is an array/);
  assert.deepEqual(tensor([[]]).shape, [1, 0]);
}));

test('tensor() from typed arrays of every dtype, round trip through toArray', () => tidy(() => {
  const cases: [DType, ArrayBufferView & ArrayLike<number | bigint>][] = [
    ['float32', new Float32Array([1.5, -2, 3e-8, 7])],
    ['float64', new Float64Array([Math.PI, -1e300, 5e-324, 0])],
    ['int64', new BigInt64Array([2n ** 62n, -5n, 0n, 9007199254740993n])],
    ['int32', new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 5])],
    ['uint8', new Uint8Array([0, 1, 254, 255])],
    ['bool', new Uint8Array([1, 0, 1, 1])],
    ['bfloat16', new Uint16Array([0x3f80, 0xc000, 0x0000, 0x4049])],  // 1, -2, 0, 3.140625
    ['float16', new Uint16Array([0x3c00, 0xc000, 0x0000, 0x4248])],   // 1, -2, 0, 3.140625
  ];
  assert.deepEqual(new Set(cases.map((c) => c[0])), new Set(DTYPES));
  for (const [dtype, data] of cases) {
    const t = tensor(data as never, { dtype, shape: [2, 2] });
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(Array.from(t.toArray() as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>), dtype);
  }
  // Inferred dtypes
  assert.equal(tensor(new BigInt64Array([1n])).dtype, 'int64');
  assert.equal(tensor(new Float64Array([1])).dtype, 'float64');
  assert.equal(tensor(new Uint8Array([1])).dtype, 'uint8');
  // toNumbers gives 16-bit floats' values, not their bits
  assert.deepEqual(tensor(new Uint16Array([0x3f80, 0xc000]), { dtype: 'bfloat16' }).toNumbers(), [1, -2]);
  assert.deepEqual(tensor(new Uint16Array([0x3c00, 0x4248]), { dtype: 'float16' }).toNumbers(), [1, 3.140625]);
  // 16-bit floats convert to float32 exactly
  assert.deepEqual(tensor(new Uint16Array([0x3f80, 0x4049]), { dtype: 'bfloat16' }).float().toNumbers(), [1, 3.140625]);
  assert.deepEqual(tensor(new Uint16Array([0x3c00, 0x4248]), { dtype: 'float16' }).float().toNumbers(), [1, 3.140625]);
  // A view into a bigger buffer (byteOffset) copies the right bytes
  const big = new Float32Array([9, 9, 1, 2, 3, 9]);
  assert.deepEqual(tensor(big.subarray(2, 5)).toNumbers(), [1, 2, 3]);
  // int64 precision: toNumbers is exact below 2^53, toArray exact always
  assert.equal((tensor(new BigInt64Array([9007199254740993n])).toArray() as BigInt64Array)[0], 9007199254740993n);
}));

test('item, toNumbers, dtype conversion with to()', () => tidy(() => {
  assert.equal(tensor([[2.5]]).item(), 2.5);
  assert.equal(tensor([7], { dtype: 'int64' }).item(), 7);
  assert.equal(tensor([true]).item(), 1);
  assert.throws(() => tensor([1, 2]).item(), /item/);
  const x = tensor([1.7, -1.7, 2.5]);
  assert.deepEqual(x.to('int64').toArray(), new BigInt64Array([1n, -1n, 2n]));
  assert.deepEqual(x.to('int32').toNumbers(), [1, -1, 2]);
  assert.deepEqual(x.to('bool').toNumbers(), [1, 1, 1]);
  assert.equal(x.double().dtype, 'float64');
  close(x.double().toNumbers(), [1.7, -1.7, 2.5], 1e-6);
  assert.equal(x.to('cpu').dtype, 'float32');
  assert.equal(x.to('float64', 'cpu').dtype, 'float64');
  assert.equal(x.device, 'cpu');
  assert.deepEqual(tensor([0, 2, 0]).bool().toNumbers(), [0, 1, 0]);
  assert.deepEqual(tensor([true, false]).float().toNumbers(), [1, 0]);
  assert.deepEqual(tensor([1, 2]).long().dtype, 'int64');
}));

test('shape caching: shape, ndim, numel, size(); views get their own shape', () => tidy(() => {
  const x = zeros([2, 3, 4]);
  assert.equal(x.shape, x.shape, 'shape is cached');
  assert.equal(x.ndim, 3);
  assert.equal(x.numel, 24);
  assert.equal(x.size(-1), 4);
  assert.equal(x.size(0), 2);
  assert.throws(() => x.size(3), /size\(3\): dim out of range for shape \[2, 3, 4\]/);
  assert.deepEqual(x.reshape(6, 4).shape, [6, 4]);
  assert.deepEqual(x.transpose(0, 2).shape, [4, 3, 2]);
  assert.deepEqual(x.shape, [2, 3, 4]);
  assert.equal(x.transpose(0, 1).isContiguous(), false);
  assert.equal(x.transpose(0, 1).contiguous().isContiguous(), true);
  assert.match(x.toString(), /Tensor\(float32\[2, 3, 4\], cpu\)/);
}));

test('comparisons with tensors (broadcast) and scalars', () => tidy(() => {
  const a = tensor([1, 2, 3]), b = tensor([3, 2, 1]);
  assert.deepEqual(a.eq(b).toNumbers(), [0, 1, 0]);
  assert.deepEqual(a.ne(b).toNumbers(), [1, 0, 1]);
  assert.deepEqual(a.lt(b).toNumbers(), [1, 0, 0]);
  assert.deepEqual(a.le(b).toNumbers(), [1, 1, 0]);
  assert.deepEqual(a.gt(b).toNumbers(), [0, 0, 1]);
  assert.deepEqual(a.ge(b).toNumbers(), [0, 1, 1]);
  assert.deepEqual(a.eq(2).toNumbers(), [0, 1, 0]);
  assert.deepEqual(a.ne(2).toNumbers(), [1, 0, 1]);
  assert.deepEqual(a.lt(2).toNumbers(), [1, 0, 0]);
  assert.deepEqual(a.le(2).toNumbers(), [1, 1, 0]);
  assert.deepEqual(a.gt(2).toNumbers(), [0, 0, 1]);
  assert.deepEqual(a.ge(2).toNumbers(), [0, 1, 1]);
  assert.equal(a.gt(2).dtype, 'bool');
  assert.deepEqual(a.unsqueeze(1).lt(b).shape, [3, 3]);
  assert.deepEqual(tensor([1, 2], { dtype: 'int64' }).eq(2).toNumbers(), [0, 1]);
}));

test('logical ops, any/all, isnan/isfinite, sign/floor/ceil/round', () => tidy(() => {
  const p = tensor([true, true, false, false]), q = tensor([true, false, true, false]);
  assert.deepEqual(p.logicalAnd(q).toNumbers(), [1, 0, 0, 0]);
  assert.deepEqual(p.logicalOr(q).toNumbers(), [1, 1, 1, 0]);
  assert.deepEqual(p.logicalNot().toNumbers(), [0, 0, 1, 1]);
  assert.equal(p.any(), true);
  assert.equal(p.all(), false);
  assert.equal(tensor([false, false]).any(), false);
  assert.equal(tensor([true, true]).all(), true);
  const x = tensor([NaN, Infinity, -1.5, 2.5]);
  assert.deepEqual(x.isnan().toNumbers(), [1, 0, 0, 0]);
  assert.deepEqual(x.isfinite().toNumbers(), [0, 0, 1, 1]);
  const y = tensor([-1.5, 0, 2.5, 0.4]);
  assert.deepEqual(y.sign().toNumbers(), [-1, 0, 1, 1]);
  assert.deepEqual(y.floor().toNumbers(), [-2, 0, 2, 0]);
  assert.deepEqual(y.ceil().toNumbers(), [-1, 0, 3, 1]);
  assert.deepEqual(y.round().toNumbers(), [-2, 0, 2, 0]);  // half to even, as torch
}));

test('argmax/argmin, max/min with indices, argsort, sort, topk', () => tidy(() => {
  const x = tensor([[3, 9, 1], [7, 2, 8]]);
  assert.deepEqual(x.argmax(1).toNumbers(), [1, 2]);
  assert.deepEqual(x.argmin(1).toNumbers(), [2, 1]);
  assert.deepEqual(x.argmax(0, true).shape, [1, 3]);
  assert.deepEqual(x.argmax(0).toNumbers(), [1, 0, 1]);
  const m = x.max(1);
  assert.deepEqual(m.values.toNumbers(), [9, 8]);
  assert.deepEqual(m.indices.toNumbers(), [1, 2]);
  assert.deepEqual(x.min(0).indices.toNumbers(), [0, 1, 0]);
  assert.equal(x.max().item(), 9);
  assert.equal(x.min().item(), 1);
  assert.deepEqual(x.argsort(1).toNumbers(), [2, 0, 1, 1, 0, 2]);
  assert.deepEqual(x.argsort(1, true).toNumbers(), [1, 0, 2, 2, 0, 1]);
  const s = x.sort(0, true);
  assert.deepEqual(s.values.toNumbers(), [7, 9, 8, 3, 2, 1]);
  assert.deepEqual(s.indices.toNumbers(), [1, 0, 1, 0, 1, 0]);
  const t = x.topk(2);
  assert.deepEqual(t.values.toNumbers(), [9, 3, 8, 7]);
  assert.deepEqual(t.indices.toNumbers(), [1, 0, 2, 0]);
  assert.deepEqual(x.topk(1, 1, false).values.toNumbers(), [1, 2]);
  assert.equal(t.indices.dtype, 'int64');
}));

test('nonzero, maskedSelect, oneHot, where, maskedFill', () => tidy(() => {
  const x = tensor([[0, 1.5], [2, 0]]);
  const nz = x.nonzero();
  assert.deepEqual(nz.shape, [2, 2]);
  assert.deepEqual(nz.toNumbers(), [0, 1, 1, 0]);
  assert.deepEqual(x.maskedSelect(x.gt(0)).toNumbers(), [1.5, 2]);
  const oh = long([2, 0]).oneHot(3);
  assert.equal(oh.dtype, 'int64');
  assert.deepEqual(oh.toNumbers(), [0, 0, 1, 1, 0, 0]);
  assert.deepEqual(where(tensor([true, false]), tensor([1, 2]), tensor([3, 4])).toNumbers(), [1, 4]);
  assert.deepEqual(x.maskedFill(x.eq(0), -1).toNumbers(), [-1, 1.5, 2, -1]);
}));

test('randperm, randint, rand, randn: ranges and statistics', () => tidy(() => {
  manualSeed(1234);
  const p = randperm(50).toNumbers();
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  const ri = randint(3, 7, [1000]);
  assert.equal(ri.dtype, 'int64');
  const rv = ri.toNumbers();
  assert.ok(rv.every((v) => v >= 3 && v < 7) && new Set(rv).size === 4);
  const u = rand([10000]).toNumbers();
  assert.ok(u.every((v) => v >= 0 && v < 1));
  const n = randn([20000], { dtype: 'float64' });
  assert.ok(Math.abs(n.mean().item()) < 0.05, `mean ${n.mean().item()}`);
  assert.ok(Math.abs(n.var(0).item() - 1) < 0.05, `var ${n.var(0).item()}`);
}));

test('manualSeed: same seed gives the same randn/rand/randperm/dropout; another seed differs', () => tidy(() => {
  const draw = () => [randn([8]).toNumbers(), rand([4]).toNumbers(), randperm(10).toNumbers()];
  manualSeed(42);
  const a = draw();
  manualSeed(42);
  const b = draw();
  manualSeed(43);
  const c = draw();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], c[0]);
}));

test('in-place initialisers fill_, normal_, uniform_, copy_', () => tidy(() => {
  manualSeed(77);
  const x = zeros([1000], { dtype: 'float64' });
  x.fill_(3);
  assert.ok(x.toNumbers().every((v) => v === 3));
  x.uniform_(-2, -1);
  assert.ok(x.toNumbers().every((v) => v >= -2 && v < -1));
  x.normal_(5, 0.1);
  assert.ok(Math.abs(x.mean().item() - 5) < 0.05);
  const y = zeros([3]);
  y.copy_(tensor([1, 2, 3]));
  assert.deepEqual(y.toNumbers(), [1, 2, 3]);
  y.copy_(tensor([7]));  // broadcast
  assert.deepEqual(y.toNumbers(), [7, 7, 7]);
  const w = zeros([2], { requiresGrad: true });
  w.fill_(1);  // allowed on a leaf: no autograd record
  assert.equal(w.requiresGrad, true);
}));

test('view/index op wiring: slice, narrow, select, split, squeeze, flatten, expand, tril, cat, stack', () => tidy(() => {
  const x = arange(12).reshape(3, 4);
  assert.deepEqual(x.slice(1, 1, 4, 2).toNumbers(), [1, 3, 5, 7, 9, 11]);
  assert.deepEqual(x.slice(0, -1).toNumbers(), [8, 9, 10, 11]);
  assert.deepEqual(x.narrow(1, 2, 2).toNumbers(), [2, 3, 6, 7, 10, 11]);
  assert.deepEqual(x.select(0, 1).toNumbers(), [4, 5, 6, 7]);
  assert.deepEqual(x.select(1, -1).toNumbers(), [3, 7, 11]);
  const [a, b] = x.split([1, 3], 1);
  assert.deepEqual(a!.toNumbers(), [0, 4, 8]);
  assert.deepEqual(b!.shape, [3, 3]);
  assert.deepEqual(zeros([2, 1, 3]).squeeze(1).shape, [2, 3]);
  assert.deepEqual(zeros([2, 3, 4]).flatten(1).shape, [2, 12]);
  assert.deepEqual(zeros([2, 3, 4]).flatten().shape, [24]);
  assert.deepEqual(tensor([1, 2]).unsqueeze(1).expand(2, 3).toNumbers(), [1, 1, 1, 2, 2, 2]);
  assert.deepEqual(x.slice(1, 0, 3).tril().toNumbers(), [0, 0, 0, 4, 5, 0, 8, 9, 10]);
  assert.deepEqual(x.permute(1, 0).select(0, 1).toNumbers(), [1, 5, 9]);
  assert.deepEqual(cat([x.slice(0, 0, 1), x.slice(0, 2)]).toNumbers(), [0, 1, 2, 3, 8, 9, 10, 11]);
  assert.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toNumbers(), [1, 3, 2, 4]);
  assert.deepEqual(x.view(2, 6).shape, [2, 6]);
}));

test('scatter/index ops: values', () => tidy(() => {
  const s = zeros([3], { dtype: 'float64' });
  const idx = long([0, 2, 0, 2]);
  const src = f64([1, 2, 3, 4]);
  assert.deepEqual(s.scatterAdd(0, idx, src).toNumbers(), [4, 0, 6]);
  assert.deepEqual(s.indexAdd(0, idx, src).toNumbers(), [4, 0, 6]);
  const base = f64([10, 20, 30]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'sum').toNumbers(), [14, 20, 36]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'mean').toNumbers(), [14 / 3, 20, 12]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'mean', false).toNumbers(), [2, 20, 3]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'amax', false).toNumbers(), [3, 20, 4]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'amin').toNumbers(), [1, 20, 2]);
  assert.deepEqual(base.scatterReduce(0, idx, src, 'prod', false).toNumbers(), [3, 20, 8]);
  assert.deepEqual(f64([1, 2, 3, 4], [2, 2]).gather(1, long([1, 1, 0, 1], [2, 2])).toNumbers(), [2, 2, 3, 4]);
  assert.deepEqual(f64([1, 2, 3, 4], [2, 2]).indexSelect(1, long([1, 0, 1])).toNumbers(), [2, 1, 2, 4, 3, 4]);
}));

test('math wiring: add/sub alpha, rsub, div, pow, clamp, cumsum, var, norm, logsumexp, matmul, linear, einsum', () => tidy(() => {
  const a = f64([1, 2, 3]), b = f64([4, 5, 6]);
  assert.deepEqual(a.add(b, 2).toNumbers(), [9, 12, 15]);
  assert.deepEqual(a.sub(b, 2).toNumbers(), [-7, -8, -9]);
  assert.deepEqual(a.sub(1, 2).toNumbers(), [-1, 0, 1]);
  assert.deepEqual(a.add(1, 3).toNumbers(), [4, 5, 6]);
  assert.deepEqual(a.rsub(10).toNumbers(), [9, 8, 7]);
  assert.deepEqual(b.div(a).toNumbers(), [4, 2.5, 2]);
  assert.deepEqual(a.div(2).toNumbers(), [0.5, 1, 1.5]);
  assert.deepEqual(a.pow(2).toNumbers(), [1, 4, 9]);
  assert.deepEqual(f64([2, 3]).pow(f64([3, 2])).toNumbers(), [8, 9]);
  assert.deepEqual(f64([-2, 0.5, 3]).clamp(-1, 1).toNumbers(), [-1, 0.5, 1]);
  assert.deepEqual(f64([-2, 0.5, 3]).clamp(null, 1).toNumbers(), [-2, 0.5, 1]);
  assert.deepEqual(f64([-2, 0.5, 3]).clampMin(0).toNumbers(), [0, 0.5, 3]);
  assert.deepEqual(a.maximum(f64([2, 2, 2])).toNumbers(), [2, 2, 3]);
  assert.deepEqual(a.minimum(f64([2, 2, 2])).toNumbers(), [1, 2, 2]);
  assert.deepEqual(a.cumsum(0).toNumbers(), [1, 3, 6]);
  const m = f64([1, 2, 3, 4, 5, 7], [2, 3]);
  close(m.var(1).toNumbers(), [1, 7 / 3], 1e-12);
  close(m.var(1, false, 0).toNumbers(), [2 / 3, 14 / 9], 1e-12);
  close(m.var(1, false, 2).toNumbers(), [2, 14 / 3], 1e-12);
  close(m.var([0, 1]).toNumbers(), [(104 - 22 * 22 / 6) / 5], 1e-12);
  assert.deepEqual(m.var(1, true).shape, [2, 1]);
  close(m.norm().toNumbers(), [Math.sqrt(104)], 1e-12);
  close(m.norm(1, 1).toNumbers(), [6, 16], 1e-12);
  close(m.norm(2, 0, true).toNumbers(), [Math.sqrt(17), Math.sqrt(29), Math.sqrt(58)], 1e-12);
  assert.deepEqual(m.norm(2, 0, true).shape, [1, 3]);
  close(m.logsumexp(1).toNumbers(), [Math.log(Math.E + Math.E ** 2 + Math.E ** 3), Math.log(Math.E ** 4 + Math.E ** 5 + Math.E ** 7)], 1e-12);
  close(m.sum(0).toNumbers(), [5, 7, 10]);
  close(m.mean(1, true).toNumbers(), [2, 16 / 3], 1e-12);
  const w = f64([1, 0, -1, 2, 1, 0], [2, 3]);
  close(m.matmul(w.mT).toNumbers(), [-2, 4, -3, 13], 1e-12);
  close(linear(m, w, f64([10, 20])).toNumbers(), [8, 24, 7, 33], 1e-12);
  close(einsum('ij,kj->ik', m, w).toNumbers(), [-2, 4, -3, 13], 1e-12);
  close(m.unsqueeze(0).bmm(w.mT.unsqueeze(0)).toNumbers(), [-2, 4, -3, 13], 1e-12);
}));

test('unary values', () => tidy(() => {
  const x = f64([0.5, 2]);
  close(x.exp().toNumbers(), [Math.exp(0.5), Math.exp(2)], 1e-12);
  close(x.log().toNumbers(), [Math.log(0.5), Math.log(2)], 1e-12);
  close(x.log1p().toNumbers(), [Math.log1p(0.5), Math.log1p(2)], 1e-12);
  close(x.sqrt().toNumbers(), [Math.sqrt(0.5), Math.sqrt(2)], 1e-12);
  close(x.rsqrt().toNumbers(), [1 / Math.sqrt(0.5), 1 / Math.sqrt(2)], 1e-12);
  close(x.reciprocal().toNumbers(), [2, 0.5], 1e-12);
  close(x.neg().abs().toNumbers(), [0.5, 2], 1e-12);
  close(x.square().toNumbers(), [0.25, 4], 1e-12);
  close(x.sin().toNumbers(), [Math.sin(0.5), Math.sin(2)], 1e-12);
  close(x.cos().toNumbers(), [Math.cos(0.5), Math.cos(2)], 1e-12);
  close(x.tanh().toNumbers(), [Math.tanh(0.5), Math.tanh(2)], 1e-12);
  close(x.sigmoid().toNumbers(), [1 / (1 + Math.exp(-0.5)), 1 / (1 + Math.exp(-2))], 1e-12);
  close(f64([-1, 2]).relu().toNumbers(), [0, 2]);
  // gelu(1) exact = 0.8413447460685429; tanh approximation = 0.8411919906082768
  close(f64([1]).gelu().toNumbers(), [0.8413447460685429], 1e-12);
  close(f64([1]).gelu('tanh').toNumbers(), [0.8411919906082768], 1e-12);
}));

test('nn function values: softmax, layerNorm, normalize, mseLoss, embedding, crossEntropy (all options)', () => tidy(() => {
  const x = f64([1, 2, 3, 1, 1, 1], [2, 3]);
  const e = [Math.E, Math.E ** 2, Math.E ** 3], se = e[0]! + e[1]! + e[2]!;
  close(x.softmax(1).toNumbers(), [e[0]! / se, e[1]! / se, e[2]! / se, 1 / 3, 1 / 3, 1 / 3], 1e-12);
  close(x.logSoftmax(1).toNumbers(), [1 - Math.log(se), 2 - Math.log(se), 3 - Math.log(se), -Math.log(3), -Math.log(3), -Math.log(3)], 1e-12);
  // layerNorm of [1,2,3]: mean 2, var 2/3
  const sd = Math.sqrt(2 / 3 + 1e-5);
  close(layerNorm(x, [3]).toNumbers(), [-1 / sd, 0, 1 / sd, 0, 0, 0], 1e-9);
  close(layerNorm(x, [3], f64([1, 2, 3]), f64([0, 1, 0])).toNumbers(), [-1 / sd, 1, 3 / sd, 0, 1, 0], 1e-9);
  const sd2 = Math.sqrt(2 / 3 + 0.5);
  close(layerNorm(x, [3], null, null, 0.5).slice(0, 0, 1).toNumbers(), [-1 / sd2, 0, 1 / sd2], 1e-9);
  close(normalize(f64([3, 4, 0, 0], [2, 2])).toNumbers(), [0.6, 0.8, 0, 0], 1e-12);
  close(normalize(f64([3, 4, 0, 0], [2, 2]), 0).toNumbers(), [1, 1, 0, 0], 1e-12);
  close(normalize(f64([3, -1], [1, 2]), -1, 1).toNumbers(), [0.75, -0.25], 1e-12);
  close(mseLoss(f64([1, 2]), f64([2, 4])).toNumbers(), [2.5]);
  close(mseLoss(f64([1, 2]), f64([2, 4]), 'sum').toNumbers(), [5]);
  close(mseLoss(f64([1, 2]), f64([2, 4]), 'none').toNumbers(), [1, 4]);
  close(embedding(f64([1, 2, 3, 4, 5, 6], [3, 2]), long([2, 0])).toNumbers(), [5, 6, 1, 2]);

  const logits = f64([1, 2, 3, 0, 0, 1, 2, 0, -1], [3, 3]);
  const logp = logits.logSoftmax(1).toNumbers();
  const lp = (n: number, c: number) => logp[n * 3 + c]!;
  const t = long([2, 0, 1]);
  const nll = [-lp(0, 2), -lp(1, 0), -lp(2, 1)];
  close(crossEntropy(logits, t, { reduction: 'none' }).toNumbers(), nll, 1e-12);
  close(crossEntropy(logits, t).toNumbers(), [(nll[0]! + nll[1]! + nll[2]!) / 3], 1e-12);
  close(crossEntropy(logits, t, { reduction: 'sum' }).toNumbers(), [nll[0]! + nll[1]! + nll[2]!], 1e-12);
  // ignoreIndex: the ignored row is excluded from the mean's denominator
  close(crossEntropy(logits, long([2, -100, 1])).toNumbers(), [(nll[0]! + nll[2]!) / 2], 1e-12);
  close(crossEntropy(logits, t, { ignoreIndex: 0 }).toNumbers(), [(nll[0]! + nll[2]!) / 2], 1e-12);
  // weight: mean is Σ w_t·nll / Σ w_t
  const w = [0.5, 2, 1];
  const wsum = w[2]! * nll[0]! + w[0]! * nll[1]! + w[1]! * nll[2]!;
  close(crossEntropy(logits, t, { weight: f64(w) }).toNumbers(), [wsum / (w[2]! + w[0]! + w[1]!)], 1e-12);
  // label smoothing ε: (1-ε)·nll + ε·mean_c(-logp)
  const eps = 0.1;
  const smooth = [0, 1, 2].map((n) => (1 - eps) * nll[n]! + eps * -(lp(n, 0) + lp(n, 1) + lp(n, 2)) / 3);
  close(crossEntropy(logits, t, { labelSmoothing: eps, reduction: 'none' }).toNumbers(), smooth, 1e-12);
  close(crossEntropy(logits, t, { labelSmoothing: eps }).toNumbers(), [(smooth[0]! + smooth[1]! + smooth[2]!) / 3], 1e-12);
}));

test('native nllLoss (not yet wrapped in TS) agrees with crossEntropy on log-probabilities', () => tidy(() => {
  const logits = f64([1, 2, 3, 0, 0, 1, 2, 0, -1], [3, 3]);
  const t = long([2, 0, 1]);
  const w = f64([0.5, 2, 1]);
  const logp = logits.logSoftmax(1);
  for (const [reduction, code] of [['none', 0], ['mean', 1], ['sum', 2]] as const) {
    const nll = wrap(native.nllLoss(logp.handle, t.handle, 0, code, w.handle));
    const ce = crossEntropy(logits, t, { reduction, ignoreIndex: 0, weight: w });
    close(nll.toNumbers(), ce.toNumbers(), 1e-12, reduction);
  }
}));

test('forward ops create no stray tensors', () => {
  const before = liveTensorCount();
  tidy(() => { crossEntropy(tensor([[1, 2]]), long([1])).item(); zeros([3]).max(0); });
  assert.equal(liveTensorCount(), before);
});
