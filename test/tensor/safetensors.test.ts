// safetensors: round trips of every dtype, the on-disk layout, and interop with a plain-Python parser/writer
// (test/reference/safetensors_reference.py; skipped without /usr/bin/python3 + torch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, tensor, arange, randn, tidy, dispose, saveSafetensors, loadSafetensors, liveTensorCount, manualSeed } from '../../src/tensor/index.js';

const PYTHON = '/usr/bin/python3';
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const script = fileURLToPath(new URL('../../../test/reference/safetensors_reference.py', import.meta.url));
const ST: Record<string, string> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL', bfloat16: 'BF16', float16: 'F16' };

interface Described { dtype: string; shape: number[]; values: (number | string)[] }

function describe(t: Tensor): Described {
  const dtype = ST[t.dtype]!;
  let values: (number | string)[];
  if (dtype === 'I64') values = Array.from(t.toArray() as BigInt64Array, (v) => v.toString());
  else if (dtype === 'BF16' || dtype === 'F16') values = tidy(() => t.to('float64').toNumbers());
  else values = t.toNumbers();
  return { dtype, shape: t.shape, values };
}

/** Tensors of every dtype with edge values (and a non-contiguous one, an empty one and a 0-dim one). */
function sample(): Record<string, Tensor> {
  manualSeed(3);
  return {
    f32: randn([2, 3]),
    f32_transposed: arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3).transpose(0, 1),
    f64: tensor([Math.PI, -0, 5e-324, -1.5e308], { dtype: 'float64', shape: [2, 2] }),
    i64: tensor(new BigInt64Array([9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n])),
    i32: tensor(new Int32Array([-7, 2 ** 31 - 1])),
    u8: tensor(new Uint8Array([0, 128, 255])),
    bool: tensor([true, false, false, true], { shape: [2, 2] }),
    bf16: tensor(new Uint16Array([0x3f80, 0xc049, 0x7f7f]), { dtype: 'bfloat16' }),
    f16: tensor(new Uint16Array([0x3c00, 0xc248, 0x7bff, 0x0001]), { dtype: 'float16' }),
    scalar: tensor(new Float32Array([2.5]), { shape: [] }),
    empty: tensor(new Float32Array(0), { shape: [0, 3] }),
  };
}

test('save/load round trip: every dtype, non-contiguous, empty and 0-dim tensors, metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-st-'));
  const before = liveTensorCount();
  try {
    tidy(() => {
      const ts = sample();
      const path = join(dir, 'all.safetensors');
      saveSafetensors(path, ts, { format: 'pt', note: 'ünïcode ✓' });
      const back = loadSafetensors(path);
      assert.deepEqual(back.metadata, { format: 'pt', note: 'ünïcode ✓' });
      assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(ts).sort());
      for (const [name, t] of Object.entries(ts)) {
        assert.equal(back.tensors[name]!.dtype, t.dtype, name);
        assert.deepEqual(describe(back.tensors[name]!), describe(t), name);
      }
      assert.deepEqual(back.tensors.f32_transposed!.toNumbers(), [0, 3, 1, 4, 2, 5]);
      assert.ok(Object.is(back.tensors.f64!.toNumbers()[1], -0), '-0 survives');
      // overwriting an existing file is fine and leaves no temporary files behind
      saveSafetensors(path, { only: ts.u8! });
      assert.deepEqual(Object.keys(loadSafetensors(path).tensors), ['only']);
      assert.deepEqual(readdirSync(dir), ['all.safetensors']);
    });
    assert.equal(liveTensorCount(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on-disk layout: 8-byte header length, 8-aligned JSON header, contiguous data_offsets covering the data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-st-'));
  try {
    tidy(() => {
      const path = join(dir, 'x.safetensors');
      saveSafetensors(path, sample());
      const bytes = readFileSync(path);
      const n = Number(bytes.readBigUInt64LE(0));
      assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      assert.equal(header.__metadata__, undefined, 'no empty __metadata__');
      const entries = Object.values(header).sort((a, b) => a.data_offsets[0] - b.data_offsets[0]);
      let offset = 0;
      for (const e of entries) {
        assert.equal(e.data_offsets[0], offset);
        offset = e.data_offsets[1];
      }
      assert.equal(offset, bytes.length - 8 - n, 'the data section is exactly the tensors');
      assert.deepEqual(header.i64!.shape, [3]);
      assert.equal(header.bf16!.dtype, 'BF16');
      // little-endian raw data
      const i32 = header.i32!;
      assert.equal(bytes.readInt32LE(8 + n + i32.data_offsets[0]), -7);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file saved by orma reads in Python (struct + json + torch.frombuffer) with identical values', (t) => {
  if (!torchAvailable) { t.skip(`${PYTHON} with torch is not available`); return; }
  const dir = mkdtempSync(join(tmpdir(), 'orma-st-'));
  try {
    tidy(() => {
      const ts = sample();
      const path = join(dir, 'from-ts.safetensors');
      saveSafetensors(path, ts, { producer: 'orma' });
      const r = spawnSync(PYTHON, [script, 'read', path], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const py = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: Record<string, Described> };
      assert.deepEqual(py.metadata, { producer: 'orma' });
      for (const [name, tensor] of Object.entries(ts)) assert.deepEqual(py.tensors[name], describe(tensor), name);  // -0 included
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file written by plain Python (unsorted names, unaligned data, empty and 0-dim tensors) loads in orma', (t) => {
  if (!torchAvailable) { t.skip(`${PYTHON} with torch is not available`); return; }
  const dir = mkdtempSync(join(tmpdir(), 'orma-st-'));
  const before = liveTensorCount();
  try {
    const path = join(dir, 'from-py.safetensors');
    const r = spawnSync(PYTHON, [script, 'write', path], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: Record<string, Described> };
    const loaded = loadSafetensors(path);
    assert.deepEqual(loaded.metadata, py.metadata);
    assert.deepEqual(Object.keys(loaded.tensors).sort(), Object.keys(py.tensors).sort());
    assert.equal(Object.keys(py.tensors).length, 10);
    for (const [name, d] of Object.entries(py.tensors)) assert.deepEqual(describe(loaded.tensors[name]!), d, name);
    dispose(loaded.tensors);
    assert.equal(liveTensorCount(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
