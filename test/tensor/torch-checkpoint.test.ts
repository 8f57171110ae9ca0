// loadTorchCheckpoint: PyTorch checkpoints (zip and legacy torch.save formats) read without Python.
// Fixtures come from test/reference/make_torch_checkpoints.py (torch 1.13); the expected values are
// what torch.load returns, flattened and written as safetensors by the same script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import type { Tensor } from '../../src/tensor/index.js';
import { throwsWith } from '../helpers/assert.js';

const tmp = mkdtempSync(join(tmpdir(), 'orma-torch-ckpt-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Whether /usr/bin/python3 has torch, found without importing it (an import costs seconds). */
function hasTorch(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"]);
  return r.status === 0;
}

// Regenerating the fixtures takes a few seconds (torch's import), so it starts before the engine loads
// and runs alongside the other tests; the last test waits for it.
const REGEN = join(tmp, 'regen');
const regenerated: Promise<void> | undefined = hasTorch() ? new Promise((resolve, reject) => {
  const script = fileURLToPath(new URL('../../../test/reference/make_torch_checkpoints.py', import.meta.url));
  const child = spawn('/usr/bin/python3', [script, REGEN], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', reject);
  child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`make_torch_checkpoints.py failed (exit ${code}):\n${stderr}`))));
}) : undefined;
regenerated?.catch(() => {}); // reported by the test that awaits it

const { loadTorchCheckpoint, isTorchCheckpoint, loadSafetensors, liveTensorCount } = await import('../../src/tensor/index.js');

const FIX = fileURLToPath(new URL('../../../test/fixtures/torch/', import.meta.url));
const fx = (name: string) => join(FIX, name);
function disposeAll(ts: Record<string, Tensor>): void {
  for (const t of Object.values(ts)) t.dispose();
}

function bytesOf(t: Tensor): Buffer {
  const a = t.toArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Same names, dtypes, shapes and bit-identical data. */
function assertSameTensors(got: Record<string, Tensor>, want: Record<string, Tensor>, what: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: names`);
  for (const [name, w] of Object.entries(want)) {
    const g = got[name]!;
    assert.equal(g.dtype, w.dtype, `${what}: dtype of ${name}`);
    assert.deepEqual(g.shape, w.shape, `${what}: shape of ${name}`);
    assert.ok(bytesOf(g).equals(bytesOf(w)), `${what}: data of ${name}`);
  }
}


const esc = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

// ---- tiny pickle builder for hand-made legacy checkpoints ----
const op = (...b: number[]) => Buffer.from(b);
const uni = (s: string) => { const b = Buffer.from(s, 'utf8'); const h = Buffer.alloc(5); h[0] = 0x58; h.writeUInt32LE(b.length, 1); return Buffer.concat([h, b]); };
const glob = (m: string, n: string) => Buffer.concat([op(0x63), Buffer.from(`${m}\n${n}\n`)]);
const int1 = (n: number) => op(0x4b, n);
const MAGIC = op(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e);
const VERSION = op(0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e);
const SYS_INFO = op(0x80, 0x02, 0x7d, 0x2e);
function legacyFile(name: string, ...parts: Buffer[]): string {
  const p = join(tmp, name);
  writeFileSync(p, Buffer.concat([MAGIC, VERSION, SYS_INFO, ...parts]));
  return p;
}

const BERT_ORDER = [
  'bert.embeddings.word_embeddings.weight', 'bert.embeddings.position_ids', 'bert.embeddings.LayerNorm.weight',
  'bert.embeddings.LayerNorm.bias', 'bert.encoder.layer.0.attention.self.query.weight',
  'bert.encoder.layer.0.output.dense.weight', 'shared.base', 'shared.view', 'strided.every_other', 'scalar.temperature',
  'empty.weight', 'mask.bool', 'ids.int32', 'ids.uint8', 'ids.int8', 'ids.int16', 'big.int64', 'cls.bias',
];

test('BERT-like state dict: zip, legacy, protocol 4, DEFLATE and ZIP64 files all equal what torch.load returns', () => {
  const want = loadSafetensors(fx('bert_expected.safetensors')).tensors;
  const before = liveTensorCount();
  for (const [file, format] of [['bert_zip.pt', 'zip'], ['bert_legacy.pt', 'legacy'], ['bert_zip_p4.pt', 'zip'],
    ['bert_zip_deflate.pt', 'zip'], ['bert_zip64.pt', 'zip']] as const) {
    const ck = loadTorchCheckpoint(fx(file));
    assert.equal(ck.format, format, file);
    assert.deepEqual(Object.keys(ck.tensors), BERT_ORDER, `${file}: state dict order`);
    assert.deepEqual(ck.skipped, [], file);
    assertSameTensors(ck.tensors, want, file);
    disposeAll(ck.tensors);
  }
  assert.equal(liveTensorCount(), before);
  disposeAll(want);
});

test('strides, shared storages, 0-dim, empty, dtypes: the values themselves', () => {
  for (const file of ['bert_zip.pt', 'bert_legacy.pt']) {
    const { tensors: t } = loadTorchCheckpoint(fx(file));
    // shared.view is base[2:8].view(2, 3) on the same storage as shared.base = arange(12) * 0.5
    assert.deepEqual(t['shared.base']!.toNumbers(), Array.from({ length: 12 }, (_, i) => i * 0.5));
    assert.deepEqual(t['shared.view']!.shape, [2, 3]);
    assert.deepEqual(t['shared.view']!.toNumbers(), [1, 1.5, 2, 2.5, 3, 3.5]);
    // arange(20).view(4, 5)[1:, ::2]: offset 5, strides (5, 2)
    assert.equal(t['strided.every_other']!.dtype, 'float64');
    assert.deepEqual(t['strided.every_other']!.toNumbers(), [5, 7, 9, 10, 12, 14, 15, 17, 19]);
    // a transposed [3, 5] -> [5, 3] with strides (1, 5), now contiguous
    const dense = t['bert.encoder.layer.0.output.dense.weight']!;
    assert.deepEqual(dense.shape, [5, 3]);
    assert.ok(dense.isContiguous());
    assert.deepEqual(t['scalar.temperature']!.shape, []);
    assert.equal(t['scalar.temperature']!.item(), Math.fround(0.07));
    assert.deepEqual(t['empty.weight']!.shape, [0, 4]);
    assert.deepEqual(t['mask.bool']!.toNumbers(), [1, 0, 1, 0, 0, 1]);
    assert.equal(t['mask.bool']!.dtype, 'bool');
    assert.deepEqual(t['ids.int32']!.toNumbers(), [1, -2, 2147483647]);
    assert.deepEqual(t['ids.uint8']!.toNumbers(), [0, 7, 255]);
    assert.equal(t['ids.int8']!.dtype, 'int32');
    assert.deepEqual(t['ids.int8']!.toNumbers(), [-128, 0, 127]);
    assert.deepEqual(t['ids.int16']!.toNumbers(), [-32768, 5, 32767]);
    assert.deepEqual(Array.from(t['big.int64']!.toArray() as BigInt64Array), [-(2n ** 40n), 2n ** 53n - 1n, 3n]);
    assert.equal(t['bert.embeddings.LayerNorm.bias']!.dtype, 'float16');
    assert.equal(t['bert.encoder.layer.0.attention.self.query.weight']!.dtype, 'bfloat16');
    assert.equal(t['cls.bias']!.dtype, 'float32'); // an nn.Parameter
    // the copies are independent: freeing one view leaves the other intact
    t['shared.base']!.dispose();
    assert.deepEqual(t['shared.view']!.toNumbers(), [1, 1.5, 2, 2.5, 3, 3.5]);
    disposeAll(t);
  }
});

test('nested checkpoints flatten with dotted names and report non-tensor leaves (zip, legacy, protocol 5)', () => {
  const want = loadSafetensors(fx('nested_expected.safetensors')).tensors;
  for (const file of ['nested_zip.pt', 'nested_legacy.pt', 'nested_legacy_p5.pt']) {
    const ck = loadTorchCheckpoint(fx(file));
    assert.deepEqual(Object.keys(ck.tensors), [
      'model.encoder.weight', 'model.encoder.bias', 'model.head.proj.weight', 'optimizer.state.0.exp_avg', 'lists.0', 'lists.1.0',
    ], file);
    assertSameTensors(ck.tensors, want, file);
    assert.deepEqual(ck.skipped, [
      { name: 'optimizer.state.0.step', type: 'int' },
      { name: 'optimizer.param_groups.0.lr', type: 'float' },
      { name: 'optimizer.param_groups.0.params.0', type: 'int' },
      { name: 'optimizer.param_groups.0.params.1', type: 'int' },
      { name: 'epoch', type: 'int' },
      { name: 'name', type: 'str' },
      { name: 'ratio', type: 'float' },
      { name: 'flag', type: 'None' },
      { name: 'lists.1.1', type: 'str' },
      { name: 'blob', type: 'bytes' },
      { name: 'tags', type: 'set' },
      { name: 'device', type: 'torch.device' },
    ], file);
    disposeAll(ck.tensors);
  }
  disposeAll(want);
});

test('a hand-made legacy checkpoint: storage views (view_metadata), STACK_GLOBAL, torch.Size, _rebuild_tensor', () => {
  // {'a': _rebuild_tensor_v2(<view (1, 2) of storage k>, 0, (2,), (1,), False, OrderedDict()),
  //  'b': _rebuild_tensor(<storage k>, 1, torch.Size((3,)), (1,))}; storage k = [1, 2, 3, 4]
  const pid = (view: Buffer) => Buffer.concat([op(0x28), uni('storage'), glob('torch', 'FloatStorage'), uni('k'), uni('cpu'), int1(4), view, op(0x74, 0x51)]);
  const main = (aSize: number) => Buffer.concat([
    op(0x80, 0x02, 0x7d),
    uni('a'), glob('torch._utils', '_rebuild_tensor_v2'), op(0x28),
    pid(Buffer.concat([uni('v'), int1(1), int1(2), op(0x87)])),
    int1(0), int1(aSize), op(0x85), int1(1), op(0x85), op(0x89), glob('collections', 'OrderedDict'), op(0x29, 0x52), op(0x74, 0x52, 0x73),
    uni('b'), op(0x8c, 0x0c), Buffer.from('torch._utils'), op(0x8c, 0x0f), Buffer.from('_rebuild_tensor'), op(0x93), op(0x28),
    pid(op(0x4e)), int1(1), glob('torch', 'Size'), int1(3), op(0x85, 0x85, 0x52), int1(1), op(0x85), op(0x74, 0x52, 0x73),
    op(0x2e),
  ]);
  const keys = Buffer.concat([op(0x80, 0x02, 0x5d), uni('k'), op(0x61, 0x2e)]);
  const count = Buffer.alloc(8);
  count.writeBigUInt64LE(4n);
  const data = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  const path = legacyFile('views.pt', main(2), keys, count, data);
  assert.ok(isTorchCheckpoint(path));
  const { tensors } = loadTorchCheckpoint(path);
  assert.deepEqual(tensors.a!.toNumbers(), [2, 3]);
  assert.deepEqual(tensors.b!.toNumbers(), [2, 3, 4]);
  disposeAll(tensors);
  // a tensor reaching past its storage view (3 elements from a 2-element view) is an error, not a read out of bounds
  const bad = legacyFile('view-overrun.pt', main(3), keys, count, data);
  throwsWith(() => loadTorchCheckpoint(bad), esc(bad), /tensor 'a' .* reaches past the end of storage k/);
});

test('a hand-made legacy checkpoint: Python 2 strings, floats and longs, _rebuild_tensor_v3 on an untyped storage, _rebuild_from_type_v2, _rebuild_parameter', () => {
  const sbs = (t: string) => Buffer.concat([op(0x55, t.length), Buffer.from(t, 'latin1')]); // SHORT_BINSTRING
  const hooks = Buffer.concat([glob('collections', 'OrderedDict'), op(0x29, 0x52)]);
  const float = Buffer.alloc(9);
  float[0] = 0x47;
  float.writeDoubleBE(1, 1);
  const main = Buffer.concat([
    op(0x80, 0x02, 0x7d, 0x28), // EMPTY_DICT, MARK (for SETITEMS)
    // 'h': _rebuild_tensor_v3(<UntypedStorage u, 4 bytes>, 0, (2,), (1,), False, OrderedDict(), torch.float16)
    sbs('h'), glob('torch._utils', '_rebuild_tensor_v3'), op(0x28),
    op(0x28), sbs('storage'), glob('torch', 'UntypedStorage'), sbs('u'), sbs('cpu'), int1(4), op(0x4e, 0x74, 0x51),
    int1(0), int1(2), op(0x85), int1(1), op(0x85), op(0x89), hooks, glob('torch', 'float16'), op(0x74, 0x52),
    // 'p': _rebuild_from_type_v2(_rebuild_parameter, torch.nn.parameter.Parameter, (<tensor on f>, True, OrderedDict()), {})
    sbs('p'), glob('torch._tensor', '_rebuild_from_type_v2'), op(0x28), glob('torch._utils', '_rebuild_parameter'),
    glob('torch.nn.parameter', 'Parameter'), op(0x28),
    glob('torch._utils', '_rebuild_tensor_v2'), op(0x28),
    op(0x28), sbs('storage'), glob('torch', 'FloatStorage'), sbs('f'), sbs('cpu'), int1(1), op(0x4e, 0x74, 0x51),
    int1(0), op(0x29), op(0x29), op(0x89), hooks, op(0x74, 0x52), // a 0-dim tensor: size (), stride ()
    op(0x88), hooks, op(0x74), op(0x7d, 0x74, 0x52),
    sbs('lr'), float, // 1.0, a float even though integral
    sbs('big'), op(0x8a, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x01), // 2^64
    sbs('neg'), op(0x8a, 0x01, 0xff), // -1
    op(0x75, 0x2e), // SETITEMS, STOP
  ]);
  const keys = Buffer.concat([op(0x80, 0x02, 0x5d, 0x28), sbs('u'), sbs('f'), op(0x65, 0x2e)]);
  const u = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x00, 0x3c, 0x00, 0xc0])]);
  const f = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(new Float32Array([2.5]).buffer)]);
  const path = legacyFile('py2.pt', main, keys, u, f);
  const ck = loadTorchCheckpoint(path);
  assert.deepEqual(Object.keys(ck.tensors), ['h', 'p']);
  assert.equal(ck.tensors.h!.dtype, 'float16');
  assert.deepEqual(Array.from(ck.tensors.h!.toArray() as Uint16Array), [0x3c00, 0xc000]);
  assert.deepEqual(ck.tensors.p!.shape, []);
  assert.equal(ck.tensors.p!.item(), 2.5);
  assert.deepEqual(ck.skipped, [{ name: 'lr', type: 'float' }, { name: 'big', type: 'int' }, { name: 'neg', type: 'int' }]);
  disposeAll(ck.tensors);
});

test('malicious pickles are refused, naming the global, and nothing runs', () => {
  const pwned = '/tmp/orma-torch-checkpoint-pwned';
  rmSync(pwned, { force: true });
  // a zip checkpoint whose data.pkl calls os.system (pickled as posix.system on Linux)
  throwsWith(() => loadTorchCheckpoint(fx('evil_zip.pt')), esc(fx('evil_zip.pt')),
    /refusing to load: the checkpoint references posix\.system, which is not a tensor state dict/);
  // legacy, GLOBAL os.system
  const sys = legacyFile('evil-global.pt', op(0x80, 0x02), glob('os', 'system'), uni(`touch ${pwned}`), op(0x85, 0x52, 0x2e));
  throwsWith(() => loadTorchCheckpoint(sys), esc(sys), /references os\.system, which is not a tensor state dict/);
  // legacy, protocol 4, STACK_GLOBAL builtins.eval
  const ev = legacyFile('evil-stack-global.pt', op(0x80, 0x04, 0x8c, 0x08), Buffer.from('builtins'), op(0x8c, 0x04), Buffer.from('eval'),
    op(0x93), uni('__import__("os").system("true")'), op(0x85, 0x52, 0x2e));
  throwsWith(() => loadTorchCheckpoint(ev), esc(ev), /references builtins\.eval/);
  // a pickled model class (torch.save(model)) and the protocol-0 INST and EXT1 routes to globals
  const model = legacyFile('model.pt', op(0x80, 0x02), glob('torch.nn.modules.linear', 'Linear'), op(0x29, 0x81, 0x2e));
  throwsWith(() => loadTorchCheckpoint(model), /references torch\.nn\.modules\.linear\.Linear/);
  const inst = legacyFile('inst.pt', op(0x80, 0x02, 0x28, 0x69), Buffer.from('os\nsystem\n'), op(0x2e));
  throwsWith(() => loadTorchCheckpoint(inst), /unsupported pickle opcode INST/);
  const ext = legacyFile('ext.pt', op(0x80, 0x02, 0x82, 0x01, 0x2e));
  throwsWith(() => loadTorchCheckpoint(ext), /unsupported pickle opcode EXT1/);
  // REDUCE of something that is not an allowed global
  const call = legacyFile('call.pt', op(0x80, 0x02), uni('os.system'), op(0x29, 0x52, 0x2e));
  throwsWith(() => loadTorchCheckpoint(call), /REDUCE calls a str, not an allowed global/);
  // storage types outside the allow-list are globals like any other
  const cplx = legacyFile('complex.pt', op(0x80, 0x02), glob('torch', 'ComplexFloatStorage'), op(0x2e));
  throwsWith(() => loadTorchCheckpoint(cplx), /references torch\.ComplexFloatStorage/);
  assert.equal(existsSync(pwned), false);
});

test('truncated files give clear errors naming the file, wherever they are cut, and leak no tensors', () => {
  const before = liveTensorCount();
  for (const file of ['bert_legacy.pt', 'bert_zip.pt', 'nested_legacy_p5.pt']) {
    const full = readFileSync(fx(file));
    const path = join(tmp, `cut-${file}`);
    // ~40 cut points per file (each costs a file write): the magic number byte by byte, then spread out
    const cuts = new Set<number>();
    for (let n = 0; n < 16; n++) cuts.add(n);
    for (let n = 0; n < full.length; n += Math.ceil(full.length / 25)) cuts.add(n);
    for (const n of cuts) {
      writeFileSync(path, full.subarray(0, n));
      throwsWith(() => loadTorchCheckpoint(path), esc(path),
        /truncated|not a PyTorch checkpoint|no end-of-central-directory|corrupt/);
    }
    writeFileSync(path, full.subarray(0, full.length - 1));
    throwsWith(() => loadTorchCheckpoint(path), esc(path), file === 'bert_zip.pt' ? /no end-of-central-directory record \(truncated\?\)/ : /truncated: storage \S+ needs bytes/);
  }
  const legacy = readFileSync(fx('bert_legacy.pt'));
  const mid = join(tmp, 'cut-mid.pt');
  writeFileSync(mid, legacy.subarray(0, 400));
  throwsWith(() => loadTorchCheckpoint(mid), /truncated: the main pickle runs past the end of the file/);
  assert.equal(liveTensorCount(), before);
});

test('corrupt and unsupported files: missing storage (tensors already built are freed), big-endian, unknown opcode, not a checkpoint', () => {
  const before = liveTensorCount();
  throwsWith(() => loadTorchCheckpoint(fx('bert_zip_missing.pt')), esc(fx('bert_zip_missing.pt')), /missing storage record bert_zip\/data\/16/);
  assert.equal(liveTensorCount(), before);
  throwsWith(() => loadTorchCheckpoint(fx('bert_zip_bigendian.pt')), /big-endian/);
  const unknown = legacyFile('unknown-op.pt', op(0x80, 0x02, 0xff));
  throwsWith(() => loadTorchCheckpoint(unknown), esc(unknown), /the main pickle: unknown pickle opcode 0xff at byte 2 \(file offset 27\)/);
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'hello, not a checkpoint\n');
  throwsWith(() => loadTorchCheckpoint(text), esc(text), /not a PyTorch checkpoint/);
  throwsWith(() => loadTorchCheckpoint(fx('bert_expected.safetensors')), /not a PyTorch checkpoint/);
  throwsWith(() => loadTorchCheckpoint(join(tmp, 'absent.pt')), /absent\.pt: cannot open the checkpoint/);
  // a zip that is not a torch.save archive
  const zip = readFileSync(fx('bert_zip.pt'));
  const renamed = join(tmp, 'renamed.zip');
  writeFileSync(renamed, Buffer.from(zip.toString('latin1').replaceAll('bert_zip/data.pkl', 'bert_zip/data.pkx'), 'latin1'));
  throwsWith(() => loadTorchCheckpoint(renamed), /no <dir>\/data\.pkl record/);
  assert.equal(isTorchCheckpoint(renamed), false);
  assert.equal(liveTensorCount(), before);
});

test('corrupted bytes (seeded random flips in the pickles and headers): an Error or a load, never a crash, hang or leak', () => {
  const before = liveTensorCount();
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let errors = 0, loads = 0;
  for (const file of ['bert_legacy.pt', 'bert_zip.pt']) {
    const full = readFileSync(fx(file));
    // the legacy pickles are the first ~1.9 kB; in the zip, data.pkl starts the file
    const span = 1900;
    const path = join(tmp, `flip-${file}`);
    for (let i = 0; i < 50; i++) {
      const b = Buffer.from(full);
      for (let k = 1 + rand(3); k > 0; k--) b[rand(span)] = rand(256);
      writeFileSync(path, b);
      try {
        disposeAll(loadTorchCheckpoint(path).tensors);
        loads++;
      } catch (e) {
        assert.ok(e instanceof Error);
        assert.ok(e.message.startsWith(path), e.message);
        errors++;
      }
    }
  }
  assert.ok(errors > 10 && errors + loads === 100, `${errors} errors, ${loads} loads`);
  assert.equal(liveTensorCount(), before);
});

test('isTorchCheckpoint recognises both formats and nothing else', () => {
  for (const f of readdirSync(FIX)) {
    assert.equal(isTorchCheckpoint(fx(f)), f.endsWith('.pt'), f);
  }
  assert.equal(isTorchCheckpoint(join(tmp, 'absent.pt')), false);
});

test('regenerated with /usr/bin/python3 + torch: fresh checkpoints load to the committed expected values', { skip: !regenerated && 'no torch in /usr/bin/python3' }, async () => {
  await regenerated;
  for (const [name, files] of [['bert', ['bert_zip.pt', 'bert_legacy.pt', 'bert_zip_p4.pt', 'bert_zip_deflate.pt', 'bert_zip64.pt']],
    ['nested', ['nested_zip.pt', 'nested_legacy.pt', 'nested_legacy_p5.pt']]] as const) {
    const want = loadSafetensors(fx(`${name}_expected.safetensors`)).tensors;
    const fresh = loadSafetensors(join(REGEN, `${name}_expected.safetensors`)).tensors;
    assertSameTensors(fresh, want, `${name}_expected.safetensors`);
    for (const f of files) {
      const ck = loadTorchCheckpoint(join(REGEN, f));
      assertSameTensors(ck.tensors, want, `regenerated ${f}`);
      disposeAll(ck.tensors);
    }
    disposeAll(want);
    disposeAll(fresh);
  }
});
