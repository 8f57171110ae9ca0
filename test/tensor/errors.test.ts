// Bad calls become JS Errors that name the op (or the file) and the shapes; the process survives them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  tensor, zeros, ones, randn, tidy, cat, stack, where, embedding, crossEntropy, dropout, einsum, linear, saveSafetensors, loadSafetensors,
  liveTensorCount,
} from '../../src/tensor/index.js';
import { throwsWith } from '../helpers/assert.js';

const long = (d: number[] | number[][], shape?: number[]) => tensor(d, { dtype: 'int64', ...(shape ? { shape } : {}) });

test('shape errors name the op and the shapes of the tensor arguments', () => tidy(() => {
  const a = zeros([2, 3]), b = zeros([4, 5]);
  throwsWith(() => a.matmul(b), /^matmul: /, /2x3 and 4x5/, /Float\[2, 3\], Float\[4, 5\]/);
  throwsWith(() => zeros([2, 3, 4]).bmm(zeros([2, 5, 4])), /^bmm: /, /Float\[2, 3, 4\], Float\[2, 5, 4\]/);
  throwsWith(() => cat([a, b], 0), /^cat: /, /Float\[2, 3\], Float\[4, 5\]/);
  throwsWith(() => stack([a, zeros([3, 2])]), /^stack: /, /Float\[2, 3\], Float\[3, 2\]/);
  throwsWith(() => a.view(4, 2), /^view: /, /\[4, 2\]/, /Float\[2, 3\]/);
  throwsWith(() => a.reshape(5), /^reshape: /, /\[5\]/, /Float\[2, 3\]/);
  throwsWith(() => a.transpose(0, 1).view(6), /^view: /, /Float\[3, 2\]/);
  throwsWith(() => a.add(b), /^add: /, /Float\[2, 3\], Float\[4, 5\]/);
  throwsWith(() => a.mul(zeros([4])), /^mul: /, /Float\[2, 3\], Float\[4\]/);
  throwsWith(() => a.expand(4, 4), /^expand: /, /Float\[2, 3\]/);
  throwsWith(() => a.split([1, 1], 0).length === 2 && a.split([1, 1], 1), /^split: /, /Float\[2, 3\]/);
  throwsWith(() => linear(a, zeros([4, 2])), /^linear: /, /Float\[2, 3\], Float\[4, 2\]/);
  throwsWith(() => einsum('ij,jk->ik', a, b), /^einsum: /);
  throwsWith(() => a.sum(2), /^sum: /, /Dimension out of range/);
  throwsWith(() => a.transpose(0, 5), /^transpose: /);
  throwsWith(() => a.squeeze(3), /^squeeze: /);
  throwsWith(() => a.narrow(1, 2, 3), /^narrow: /);
  throwsWith(() => a.select(0, 2), /^select: /, /index 2 out of range/);
  throwsWith(() => tensor(new Float32Array(3), { shape: [2, 2] }), /^fromArray: /, /shape \[2, 2\]/, /16 bytes/, /has 12/);
  throwsWith(() => tensor(new BigInt64Array(2), { dtype: 'int32', shape: [2] }), /^fromArray: /, /8 bytes/, /has 16/);
}));

test('index errors: out of range, wrong dtype; the process survives', () => tidy(() => {
  const x = zeros([3, 4]);
  throwsWith(() => x.indexSelect(0, long([0, 3])), /^indexSelect: /, /out of range/, /Float\[3, 4\], Long\[2\]/);
  throwsWith(() => x.indexSelect(0, long([-1])), /^indexSelect: /);
  throwsWith(() => x.indexSelect(0, tensor([0, 1])), /^indexSelect: /, /int32 or int64/, /Float\[2\]/);
  throwsWith(() => x.gather(1, long([[4]])), /^gather: /, /out of bounds/);
  throwsWith(() => x.gather(1, tensor([[0]])), /^gather: /, /int64/);
  throwsWith(() => x.scatterAdd(0, long([[3, 0, 0, 0]]), ones([1, 4])), /^scatterAdd: /, /out of bounds/);
  throwsWith(() => x.indexAdd(0, long([7]), ones([1, 4])), /^indexAdd: /);
  throwsWith(() => x.maskedFill(tensor([1, 0, 1, 0]), 1), /^maskedFill: /, /mask must be a bool tensor, got Float/);
  throwsWith(() => x.maskedFill(tensor([1, 0, 1, 0], { dtype: 'int64' }), 1), /^maskedFill: /, /got Long/);
  throwsWith(() => where(tensor([1, 0]), ones([2]), ones([2])), /^where: /);
  throwsWith(() => embedding(randn([4, 2]), long([4])), /^embedding: /, /out of range/);
  throwsWith(() => embedding(randn([4, 2]), tensor([1])), /^embedding: /);
  throwsWith(() => long([3]).oneHot(2), /^oneHot: /);
  throwsWith(() => crossEntropy(randn([2, 3]), long([0, 3])), /^crossEntropy: /, /out of bounds/);
  throwsWith(() => crossEntropy(randn([2, 3]), tensor([0, 1])), /^crossEntropy: /);
  throwsWith(() => crossEntropy(randn([2, 3]), long([0, 1, 2])), /^crossEntropy: /);
  throwsWith(() => x.topk(5, 1), /^topk: /);
  throwsWith(() => tensor([1, 2]).item(), /^item: /);
}));

test('dropout p out of range', () => tidy(() => {
  const x = ones([4]);
  for (const p of [-0.1, 1, 1.5, NaN]) throwsWith(() => dropout(x, p, true), /^dropout: p must be in \[0, 1\)/);
}));

test('autograd errors: backward of a non-scalar, twice through a freed graph, modified saved tensor, no grad at all', () => tidy(() => {
  const x = randn([2, 3], { dtype: 'float64', requiresGrad: true });
  throwsWith(() => x.mul(2).backward(), /^backward: /, /non-scalar output of shape \[2, 3\]/, /explicit gradient/);
  const y = x.exp().sum();
  y.backward();
  throwsWith(() => y.backward(), /^backward: /, /second time/);
  const z = x.exp();
  const w = z.sum();
  z.fill_(0);  // in-place write to a tensor exp saved for its backward
  throwsWith(() => w.backward(), /^backward: /, /modified by an inplace operation/);
  throwsWith(() => zeros([1]).sum().backward(), /^backward: /, /does not require grad/);
  throwsWith(() => x.mul(2).backward(ones([3])), /^backward: /);
}));

test('safetensors: truncated file, garbage header, bad offsets, unknown dtype, missing file: errors name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-st-'));
  const before = liveTensorCount();
  try {
    const good = join(dir, 'good.safetensors');
    tidy(() => saveSafetensors(good, { a: randn([4, 4]), b: ones([3], { dtype: 'int64' }) }));
    const bytes = readFileSync(good);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const put = (name: string, data: Uint8Array) => { const p = join(dir, name); writeFileSync(p, data); return p; };
    const withHeader = (name: string, header: string, data = Buffer.alloc(0)) => {
      const h = Buffer.from(header, 'utf8');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      return put(name, Buffer.concat([len, h, data]));
    };
    const cases: [string, RegExp][] = [
      [put('tiny.safetensors', bytes.subarray(0, 5)), /only 5 bytes/],
      [put('cut-header.safetensors', bytes.subarray(0, 8 + headerLen - 3)), /exceeds the file size|truncated/],
      [put('cut-data.safetensors', bytes.subarray(0, bytes.length - 10)), /data_offsets|truncated/],
      [withHeader('garbage.safetensors', 'this is not json at all!'), /header is not JSON/],
      [put('huge-len.safetensors', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(16)])), /header length/],
      [withHeader('bad-offsets.safetensors', JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }), Buffer.alloc(12)), /data_offsets \[0, 12\]/],
      [withHeader('neg-offsets.safetensors', JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }), Buffer.alloc(8)), /data_offsets/],
      [withHeader('past-end.safetensors', JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), Buffer.alloc(8)), /data_offsets/],
      [withHeader('dtype.safetensors', JSON.stringify({ t: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }), Buffer.alloc(8)), /unsupported dtype C64/],
      [withHeader('null-header.safetensors', 'null'), /not a valid safetensors file/],
      [withHeader('array-header.safetensors', '[1, 2]'), /not a valid safetensors file/],
      [withHeader('bad-shape.safetensors', JSON.stringify({ t: { dtype: 'F32', shape: [-1, -2], data_offsets: [0, 8] } }), Buffer.alloc(8)), /shape/],
      [withHeader('no-shape.safetensors', JSON.stringify({ t: { dtype: 'F32', data_offsets: [0, 4] } }), Buffer.alloc(4)), /shape/],
      // a good tensor first, then a bad one: the good one must be freed
      [withHeader('second-bad.safetensors', JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 16] } }), Buffer.alloc(8)), /'b'/],
    ];
    for (const [path, why] of cases) {
      const msg = throwsWith(() => loadSafetensors(path), why);
      assert.ok(msg.includes(path), `message names the file: ${msg}`);
    }
    throwsWith(() => loadSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors/);
    assert.equal(liveTensorCount(), before, 'failed loads free what they created');
    // the good file still loads
    const ok = loadSafetensors(good);
    assert.deepEqual(ok.tensors.b!.toNumbers(), [1, 1, 1]);
    for (const t of Object.values(ok.tensors)) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a batch of bad calls the engine still works and nothing leaked', () => {
  const before = liveTensorCount();
  const bad: (() => unknown)[] = [
    () => zeros([2, 3]).matmul(zeros([2, 3])),
    () => cat([zeros([1]), zeros([1, 1])]),
    () => zeros([3]).indexSelect(0, long([9])),
    () => zeros([3]).view(2),
    () => zeros([2]).mul(3).backward(),
    () => tensor(new Float64Array(1), { shape: [3] }),
    () => crossEntropy(zeros([1, 2]), long([5])),
  ];
  for (let round = 0; round < 50; round++) {
    for (const f of bad) assert.throws(() => tidy(f), Error);
  }
  const r = tidy(() => randn([8, 8]).matmul(ones([8, 1])).sum().item());
  assert.ok(Number.isFinite(r));
  assert.equal(liveTensorCount(), before);
});
