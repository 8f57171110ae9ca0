// Reads PyTorch checkpoints (torch.save files such as Hugging Face's pytorch_model.bin) without Python.
//
// Two on-disk formats exist:
//  - zip (torch >= 1.6 default): a ZIP archive holding `<dir>/data.pkl`, a pickle whose persistent ids
//    ('storage', StorageType, key, location, numel) name raw little-endian storages `<dir>/data/<key>`;
//    an optional `<dir>/byteorder` record says 'little' or 'big'.
//  - legacy (torch < 1.6, _use_new_zipfile_serialization=False): five things back to back: a pickled
//    magic number, a pickled protocol version (1001), a pickled sys_info dict, the main pickle (persistent
//    ids ('storage', StorageType, root_key, location, numel, view_metadata)), a pickle of the list of
//    storage keys, then per key an 8-byte little-endian element count followed by the raw bytes.
//
// The pickles are read by util/pickle.ts, a stack machine that never runs anything; the hooks here
// resolve globals only against an allow-list of the names torch.save uses for tensor state dicts
// (OrderedDict, the tensor/parameter rebuild functions, storage types, dtypes), and interpret REDUCE/NEWOBJ
// on them rather than calling anything. Anything else (os.system, builtins.eval, a model class...) is
// refused with an error naming it. The zip container is read by util/zip.ts.
import { openSync, closeSync } from 'node:fs';
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';
import { DTYPE_CODES, type DType } from './dtype.js';
import { BufferReader, FileSource, FormatError, StreamReader, fail, readU64, show } from '../util/bytes.js';
import { PyTuple, asInt, asInts, asString, pyType, unpickle, type PickleHooks } from '../util/pickle.js';
import { isZipSignature, readZipDirectory, readZipEntry } from '../util/zip.js';

/** A non-tensor leaf of the checkpoint (an epoch number, a learning rate, a name...), not loaded. */
export interface SkippedEntry {
  name: string;
  /** The Python type of the value: int, float, str, bytes, bool, None, set, torch.device. */
  type: string;
}

export interface TorchCheckpoint {
  /** The tensors, flattened: nested dicts and lists give dotted names ('model.encoder.weight', 'lists.0'). */
  tensors: Record<string, Tensor>;
  /** Non-tensor leaves, which are ignored. */
  skipped: SkippedEntry[];
  format: 'zip' | 'legacy';
}

// ---------------------------------------------------------------------------------------------------
// The torch objects of a state dict, and the pickle hooks that build them

/** A torch.device value ('cuda:0'); only ever a skipped leaf. */
class PyDevice {
  readonly pythonType = 'torch.device';
  constructor(readonly spec: string) {}
}

/** Element types of storages; int8/int16 have no orma dtype and are widened to int32. */
type SourceType = DType | 'int8' | 'int16';
const SOURCE_BYTES: Record<SourceType, number> = {
  float32: 4, float64: 8, int64: 8, bool: 1, int32: 4, bfloat16: 2, float16: 2, uint8: 1, int8: 1, int16: 2,
};

type GlobalKind =
  | { kind: 'OrderedDict' }
  | { kind: 'rebuild_tensor'; version: 1 | 2 | 3 }
  | { kind: 'rebuild_parameter'; withState: boolean }
  | { kind: 'rebuild_from_type' }
  | { kind: 'tensor_type' }
  | { kind: 'Size' }
  | { kind: 'bytes' }
  | { kind: 'set' }
  | { kind: 'device' }
  | { kind: 'storage'; type: SourceType }
  | { kind: 'dtype'; type: SourceType };

/** A resolved global from the allow-list. */
class PyGlobal {
  constructor(readonly name: string, readonly spec: GlobalKind) {}
  get pythonType(): string {
    return this.name;
  }
}

const STORAGES: Record<string, SourceType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', UntypedStorage: 'uint8',
};
const DTYPE_GLOBALS: Record<string, SourceType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

const ALLOWED: Map<string, GlobalKind> = new Map<string, GlobalKind>([
  ['collections.OrderedDict', { kind: 'OrderedDict' }],
  ['torch._utils._rebuild_tensor', { kind: 'rebuild_tensor', version: 1 }],
  ['torch._utils._rebuild_tensor_v2', { kind: 'rebuild_tensor', version: 2 }],
  ['torch._utils._rebuild_tensor_v3', { kind: 'rebuild_tensor', version: 3 }],
  ['torch._utils._rebuild_parameter', { kind: 'rebuild_parameter', withState: false }],
  ['torch._utils._rebuild_parameter_with_state', { kind: 'rebuild_parameter', withState: true }],
  ['torch._tensor._rebuild_from_type_v2', { kind: 'rebuild_from_type' }],
  ['torch._utils._rebuild_from_type_v2', { kind: 'rebuild_from_type' }],
  ['torch.Tensor', { kind: 'tensor_type' }],
  ['torch._tensor.Tensor', { kind: 'tensor_type' }],
  ['torch.nn.parameter.Parameter', { kind: 'tensor_type' }],
  ['torch.Size', { kind: 'Size' }],
  // Plain data that protocol 2 can only express as a call (as in torch.load's weights_only allow-list):
  // bytes are _codecs.encode(text, 'latin1'), sets are builtins.set(list); torch.device('cuda', 0).
  ['_codecs.encode', { kind: 'bytes' }],
  ['builtins.set', { kind: 'set' }],
  ['builtins.frozenset', { kind: 'set' }],
  ['__builtin__.set', { kind: 'set' }],
  ['__builtin__.frozenset', { kind: 'set' }],
  ['torch.device', { kind: 'device' }],
  ...Object.entries(STORAGES).map(([n, t]): [string, GlobalKind] => [`torch.${n}`, { kind: 'storage', type: t }]),
  ...Object.entries(DTYPE_GLOBALS).map(([n, t]): [string, GlobalKind] => [`torch.${n}`, { kind: 'dtype', type: t }]),
]);

function resolveGlobal(module: string, name: string): PyGlobal {
  const full = `${module}.${name}`;
  const spec = ALLOWED.get(full);
  if (!spec) fail(`refusing to load: the checkpoint references ${show(full)}, which is not a tensor state dict`);
  return new PyGlobal(full, spec!);
}

/** One storage as the persistent ids describe it. */
class StorageRef {
  readonly pythonType = 'storage';
  constructor(
    readonly key: string,
    readonly type: SourceType,
    /** Elements of the whole (root) storage. */
    readonly numel: number,
    /** Legacy storage views: the window [viewOffset, viewOffset + viewSize) of the root storage. */
    readonly viewOffset = 0,
    readonly viewSize = numel,
  ) {}
}

class TensorRef {
  readonly pythonType = 'tensor';
  constructor(
    readonly storage: StorageRef,
    readonly type: SourceType,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

/** BUILD sets state on an object: only attributes of dicts (an OrderedDict's _metadata) and tensors, ignored. */
function build(obj: unknown, state: unknown, what: string): void {
  if (obj instanceof Map || obj instanceof TensorRef) return;
  fail(`${what}: cannot set state on a ${pyType(obj)} (BUILD)`);
}

/** REDUCE / NEWOBJ: interprets a call of an allow-listed global. */
function apply(fn: unknown, argsV: unknown, what: string): unknown {
  if (!(fn instanceof PyGlobal)) return fail(`${what}: REDUCE calls a ${pyType(fn)}, not an allowed global`);
  if (!(argsV instanceof PyTuple)) return fail(`${what}: REDUCE arguments of ${fn.name} are a ${pyType(argsV)}, not a tuple`);
  const args = argsV.items;
  const spec = fn.spec;
  switch (spec.kind) {
    case 'OrderedDict': {
      const d = new Map<unknown, unknown>();
      if (args.length > 0) {
        const pairs = args[0];
        const list = pairs instanceof PyTuple ? pairs.items : Array.isArray(pairs) ? pairs : fail(`${what}: collections.OrderedDict called with a ${pyType(pairs)}`);
        for (const p of list as unknown[]) {
          const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : [];
          if (kv.length !== 2) fail(`${what}: OrderedDict item is not a pair`);
          d.set(kv[0], kv[1]);
        }
      }
      return d;
    }
    case 'rebuild_tensor': {
      const need = spec.version === 1 ? 4 : spec.version === 2 ? 6 : 7;
      if (args.length < need) fail(`${what}: ${fn.name} takes ${need} arguments, got ${args.length}`);
      const storage = args[0];
      if (!(storage instanceof StorageRef)) return fail(`${what}: ${fn.name} got a ${pyType(storage)} instead of a storage`);
      let type = storage.type;
      if (spec.version === 3) {
        const dt = args[6];
        if (!(dt instanceof PyGlobal) || dt.spec.kind !== 'dtype') return fail(`${what}: ${fn.name} got a ${pyType(dt)} instead of a dtype`);
        type = dt.spec.type;
      }
      const size = asInts(args[2], 'tensor size');
      const stride = asInts(args[3], 'tensor stride');
      if (size.length !== stride.length) fail(`${what}: tensor size [${size}] and stride [${stride}] differ in length`);
      const offset = asInt(args[1], 'storage offset');
      if (offset < 0) fail(`${what}: negative storage offset ${offset}`);
      return new TensorRef(storage, type, offset, size, stride);
    }
    case 'rebuild_parameter': {
      if (!(args[0] instanceof TensorRef)) return fail(`${what}: ${fn.name} got a ${pyType(args[0])} instead of a tensor`);
      return args[0];
    }
    case 'rebuild_from_type': {
      // _rebuild_from_type_v2(func, new_type, args, state): func(*args), re-typed to new_type.
      const [inner, newType, innerArgs] = args;
      if (!(newType instanceof PyGlobal) || newType.spec.kind !== 'tensor_type') {
        return fail(`refusing to load: the checkpoint rebuilds a tensor as ${pyType(newType)}, which is not a tensor state dict`);
      }
      const t = apply(inner, innerArgs, what);
      if (!(t instanceof TensorRef)) return fail(`${what}: ${fn.name} did not rebuild a tensor`);
      return t;
    }
    case 'Size':
      return new PyTuple(asInts(args[0] ?? new PyTuple([]), 'torch.Size'));
    case 'bytes': {
      const [text, encoding] = args;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
        return fail(`${what}: _codecs.encode is only read as a latin1 bytes literal`);
      }
      return Buffer.from(text, 'latin1');
    }
    case 'set': {
      const items = args[0] === undefined ? [] : args[0] instanceof PyTuple ? args[0].items : Array.isArray(args[0]) ? args[0] : fail(`${what}: ${fn.name} of a ${pyType(args[0])}`);
      return new Set(items as unknown[]);
    }
    case 'device':
      return new PyDevice(args.map((a) => String(a)).join(':'));
    default:
      return fail(`${what}: ${fn.name} cannot be called`);
  }
}

/** The hooks that read a torch.save pickle, with `persistentLoad` for its storages. */
function torchHooks(persistentLoad: (pid: unknown) => unknown): PickleHooks {
  return { global: resolveGlobal, call: apply, build, persistentLoad };
}

// ---------------------------------------------------------------------------------------------------
// Loading

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

interface Parsed {
  root: unknown;
  format: 'zip' | 'legacy';
  /** Raw bytes of a storage (root key), at least numel * element size long. */
  storageBytes: (s: StorageRef) => Buffer;
}

function storageNeeds(s: StorageRef): number {
  return s.numel * SOURCE_BYTES[s.type];
}

/** Records storage refs by key; one key must keep one element type. */
function storageTable() {
  const byKey = new Map<string, StorageRef>();
  return {
    byKey,
    note(s: StorageRef): StorageRef {
      const prev = byKey.get(s.key);
      if (prev && SOURCE_BYTES[prev.type] !== SOURCE_BYTES[s.type]) {
        fail(`storage ${show(s.key)} is used both as ${prev.type} and as ${s.type}`);
      }
      if (!prev || s.numel > prev.numel) byKey.set(s.key, s);
      return s;
    },
  };
}

function parseZip(src: FileSource): Parsed {
  const entries = readZipDirectory(src);
  const pkl = [...entries.keys()].find((n) => n.endsWith('/data.pkl') && n.indexOf('/') === n.length - '/data.pkl'.length);
  if (pkl === undefined) fail('the zip archive has no <dir>/data.pkl record, so it is not a torch.save checkpoint');
  const dir = pkl!.slice(0, -'data.pkl'.length);
  const order = entries.get(`${dir}byteorder`);
  if (order) {
    const v = readZipEntry(src, order).toString('latin1').trim();
    if (v === 'big') fail("the checkpoint was saved on a big-endian machine (byteorder 'big'); only little-endian checkpoints can be read");
    if (v !== 'little') fail(`unknown byteorder record '${show(v)}'`);
  }
  const table = storageTable();
  const persistentLoad = (pid: unknown): unknown => {
    if (!(pid instanceof PyTuple)) return fail(`data.pkl: persistent id is a ${pyType(pid)}, not a tuple`);
    const [tag, type, key, , numel] = pid.items;
    if (asString(tag, 'persistent id tag') !== 'storage') fail(`data.pkl: unsupported persistent id '${show(String(tag))}'`);
    if (!(type instanceof PyGlobal) || type.spec.kind !== 'storage') return fail(`data.pkl: persistent id names ${pyType(type)}, not a storage type`);
    return table.note(new StorageRef(asString(key, 'storage key'), type.spec.type, asInt(numel, 'storage size')));
  };
  const root = unpickle(new BufferReader(readZipEntry(src, entries.get(pkl!)!), show(pkl!)), show(pkl!), torchHooks(persistentLoad));
  return {
    root,
    format: 'zip',
    storageBytes: (s) => {
      const name = `${dir}data/${s.key}`;
      const e = entries.get(name);
      if (!e) return fail(`missing storage record ${show(name)}`);
      const data = readZipEntry(src, e);
      const need = storageNeeds(table.byKey.get(s.key) ?? s);
      if (data.length < need) fail(`storage record ${show(name)} has ${data.length} bytes, but its tensors need ${need}`);
      return data;
    },
  };
}

function parseLegacy(src: FileSource): Parsed {
  const r = new StreamReader(src, 0);
  const headerHooks = torchHooks((): unknown => fail('unexpected persistent id in a header pickle'));
  r.what = 'the magic number pickle';
  const magic = unpickle(r, r.what, headerHooks);
  if (magic !== LEGACY_MAGIC) fail('not a PyTorch checkpoint (no zip archive, and the first pickle is not the legacy magic number)');
  r.what = 'the protocol version pickle';
  const version = unpickle(r, r.what, headerHooks);
  if (version !== 1001) fail(`unsupported legacy protocol version ${String(version)} (expected 1001)`);
  r.what = 'the sys_info pickle';
  const sysInfo = unpickle(r, r.what, headerHooks);
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
    fail('the checkpoint was saved on a big-endian machine; only little-endian checkpoints can be read');
  }
  const table = storageTable();
  const persistentLoad = (pid: unknown): unknown => {
    if (!(pid instanceof PyTuple)) return fail(`the main pickle: persistent id is a ${pyType(pid)}, not a tuple`);
    const tag = asString(pid.items[0], 'persistent id tag');
    if (tag === 'module') fail('the checkpoint pickles a whole nn.Module (with its source code), not a state dict; save model.state_dict() instead');
    if (tag !== 'storage') fail(`the main pickle: unsupported persistent id '${show(tag)}'`);
    const [, type, rootKey, , numel, view] = pid.items;
    if (!(type instanceof PyGlobal) || type.spec.kind !== 'storage') return fail(`the main pickle: persistent id names ${pyType(type)}, not a storage type`);
    const root = table.note(new StorageRef(asString(rootKey, 'storage key'), type.spec.type, asInt(numel, 'storage size')));
    if (view === null || view === undefined) return root;
    if (!(view instanceof PyTuple) || view.items.length !== 3) return fail('the main pickle: bad storage view metadata');
    const offset = asInt(view.items[1], 'storage view offset'), viewSize = asInt(view.items[2], 'storage view size');
    if (offset < 0 || viewSize < 0 || offset + viewSize > root.numel) fail(`storage view [${offset}, ${offset + viewSize}) lies outside storage ${show(root.key)} of ${root.numel} elements`);
    return new StorageRef(root.key, root.type, root.numel, offset, viewSize);
  };
  r.what = 'the main pickle';
  const root = unpickle(r, r.what, torchHooks(persistentLoad));
  r.what = 'the storage key list';
  const keys = unpickle(r, r.what, headerHooks);
  if (!Array.isArray(keys)) fail(`the storage key list is a ${pyType(keys)}`);
  // Each storage: int64 element count, then the elements.
  const located = new Map<string, { pos: number; count: number }>();
  let pos = r.pos;
  for (const k of keys as unknown[]) {
    const key = asString(k, 'storage key');
    const s = table.byKey.get(key) ?? fail(`storage ${show(key)} is in the storage key list but the main pickle never references it`);
    const count = readU64(src.read(pos, 8, `the size of storage ${show(key)}`), `element count of storage ${show(key)}`);
    const bytes = count * SOURCE_BYTES[s.type];
    if (pos + 8 + bytes > src.size) fail(`truncated: storage ${show(key)} needs bytes ${pos + 8}..${pos + 8 + bytes} but the file has ${src.size} bytes`);
    located.set(key, { pos: pos + 8, count });
    pos += 8 + bytes;
  }
  return {
    root,
    format: 'legacy',
    storageBytes: (s) => {
      const loc = located.get(s.key) ?? fail(`missing storage ${show(s.key)}: it is not in the storage key list`);
      const full = table.byKey.get(s.key)!;
      if (loc.count < full.numel) fail(`storage ${show(s.key)} holds ${loc.count} elements, but its tensors need ${full.numel}`);
      return src.read(loc.pos, loc.count * SOURCE_BYTES[s.type], `storage ${show(s.key)}`);
    },
  };
}

/** Flattens nested dicts/lists into (name, tensor) entries and skipped leaves. */
function flatten(root: unknown): { entries: [string, TensorRef][]; skipped: SkippedEntry[] } {
  if (!(root instanceof Map || root instanceof TensorRef || Array.isArray(root) || root instanceof PyTuple)) {
    fail(`the checkpoint holds a ${pyType(root)}, not a state dict of tensors`);
  }
  const entries: [string, TensorRef][] = [];
  const skipped: SkippedEntry[] = [];
  const names = new Set<string>();
  const onPath = new Set<unknown>();
  const join = (prefix: string, k: string) => (prefix ? `${prefix}.${k}` : k);
  const walk = (v: unknown, name: string): void => {
    if (v instanceof TensorRef) {
      if (names.has(name)) fail(`two tensors flatten to the same name '${show(name)}'`);
      names.add(name);
      entries.push([name, v]);
      return;
    }
    const isDict = v instanceof Map;
    if (isDict || Array.isArray(v) || v instanceof PyTuple) {
      if (onPath.has(v)) return; // a self-referencing container
      onPath.add(v);
      if (isDict) {
        for (const [k, x] of v as Map<unknown, unknown>) {
          if (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint') walk(x, join(name, String(k)));
          else if (typeof k === 'boolean') walk(x, join(name, k ? 'True' : 'False'));
          else skipped.push({ name: join(name, `<${pyType(k)} key>`), type: pyType(x) });
        }
      } else {
        const items = v instanceof PyTuple ? v.items : (v as unknown[]);
        items.forEach((x, i) => walk(x, join(name, String(i))));
      }
      onPath.delete(v);
      return;
    }
    skipped.push({ name, type: pyType(v) });
  };
  walk(root, '');
  return { entries, skipped };
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d]!;
  }
  return true;
}

/** The tensor's elements, row-major, as raw bytes of its source type. */
function gather(t: TensorRef, storage: Buffer, name: string): Buffer {
  const es = SOURCE_BYTES[t.type];
  const numel = t.size.reduce((a, b) => a * b, 1);
  if (numel === 0) return Buffer.alloc(0);
  const s = t.storage;
  let last = t.offset;
  for (let d = 0; d < t.size.length; d++) last += (t.size[d]! - 1) * t.stride[d]!;
  const windowBytes = Math.min(s.viewSize * SOURCE_BYTES[s.type], storage.length - s.viewOffset * SOURCE_BYTES[s.type]);
  if ((last + 1) * es > windowBytes) {
    fail(`tensor '${show(name)}' (size [${t.size}], stride [${t.stride}], offset ${t.offset}) reaches past the end of storage ${show(s.key)}`);
  }
  const base = s.viewOffset * SOURCE_BYTES[s.type] + t.offset * es;
  if (isContiguous(t.size, t.stride)) return storage.subarray(base, base + numel * es);
  // Copy a strided tensor: runs along the last dim when it is contiguous, else element by element.
  const out = Buffer.allocUnsafe(numel * es);
  const nd = t.size.length;
  const inner = t.size[nd - 1]!;
  const innerStride = t.stride[nd - 1]!;
  const idx = new Array<number>(nd - 1).fill(0);
  let dst = 0;
  for (;;) {
    let src = base;
    for (let d = 0; d < nd - 1; d++) src += idx[d]! * t.stride[d]! * es;
    if (innerStride === 1) {
      storage.copy(out, dst, src, src + inner * es);
      dst += inner * es;
    } else {
      for (let i = 0; i < inner; i++, dst += es) storage.copy(out, dst, src + i * innerStride * es, src + i * innerStride * es + es);
    }
    let d = nd - 2;
    while (d >= 0 && ++idx[d]! === t.size[d]) idx[d--] = 0;
    if (d < 0) break;
  }
  return out;
}

function toTensor(t: TensorRef, bytes: Buffer): Tensor {
  let data: ArrayBufferView = bytes;
  let dtype: DType;
  if (t.type === 'int8' || t.type === 'int16') {
    const n = bytes.length / SOURCE_BYTES[t.type];
    const wide = new Int32Array(n);
    for (let i = 0; i < n; i++) wide[i] = t.type === 'int8' ? bytes.readInt8(i) : bytes.readInt16LE(2 * i);
    data = wide;
    dtype = 'int32';
  } else dtype = t.type;
  return wrap(native.fromArray(data, t.size, DTYPE_CODES[dtype]));
}

function openChecked<T>(path: string, fn: (src: FileSource) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot open the checkpoint (${(err as Error).message})`);
  }
  try {
    return fn(new FileSource(fd));
  } catch (err) {
    if (err instanceof FormatError) throw new Error(`${path}: ${err.message}`);
    const msg = (err as Error).message ?? String(err);
    throw msg.startsWith(path) ? err : new Error(`${path}: ${msg}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

function sniff(src: FileSource): 'zip' | 'legacy' | undefined {
  if (src.size < 4) return undefined;
  const head = src.read(0, Math.min(src.size, 64), 'the file header');
  if (isZipSignature(head)) return 'zip';
  if (head[0] !== 0x80) return undefined;
  try {
    return unpickle(new BufferReader(head, 'header'), 'header', torchHooks(() => fail(''))) === LEGACY_MAGIC ? 'legacy' : undefined;
  } catch {
    return undefined;
  }
}

/** True when `path` looks like a torch.save file: a zip with a <dir>/data.pkl record, or the legacy magic. */
export function isTorchCheckpoint(path: string): boolean {
  try {
    return openChecked(path, (src) => {
      const kind = sniff(src);
      if (kind !== 'zip') return kind === 'legacy';
      return [...readZipDirectory(src).keys()].some((n) => n.endsWith('/data.pkl') && n.indexOf('/') === n.length - '/data.pkl'.length);
    });
  } catch {
    return false;
  }
}

/**
 * Loads the tensors of a PyTorch checkpoint (torch.save, zip or legacy format) as a flat state dict on
 * the CPU. Nested dicts and lists are flattened with dotted names; non-tensor values go to `skipped`.
 * int8/int16 tensors become int32. Tensors sharing a storage become independent copies; strided
 * (e.g. transposed) tensors are made contiguous. Refuses pickles that reference anything but tensor
 * state-dict machinery, and never runs code from the file. Errors name the file and the problem; tensors
 * built before an error are freed. Like any new tensor, the result belongs to the current scope (see tidy).
 */
export function loadTorchCheckpoint(path: string): TorchCheckpoint {
  return openChecked(path, (src) => {
    const kind = sniff(src);
    if (kind === undefined) {
      fail(src.size < 4 ? `not a PyTorch checkpoint (only ${src.size} bytes)` : 'not a PyTorch checkpoint (neither a zip archive nor the legacy pickle format)');
    }
    const parsed = kind === 'zip' ? parseZip(src) : parseLegacy(src);
    const { entries, skipped } = flatten(parsed.root);
    // Read each storage once, build every tensor on it, and let the bytes go.
    const byStorage = new Map<string, [string, TensorRef][]>();
    for (const e of entries) {
      const list = byStorage.get(e[1].storage.key);
      if (list) list.push(e);
      else byStorage.set(e[1].storage.key, [e]);
    }
    const built = new Map<string, Tensor>();
    try {
      for (const list of byStorage.values()) {
        const needsData = list.some(([, t]) => t.size.every((d) => d > 0));
        const bytes = needsData ? parsed.storageBytes(list[0]![1].storage) : Buffer.alloc(0);
        for (const [name, t] of list) built.set(name, toTensor(t, gather(t, bytes, name)));
      }
    } catch (err) {
      for (const t of built.values()) t.dispose();
      throw err;
    }
    const tensors: Record<string, Tensor> = {};
    for (const [name] of entries) tensors[name] = built.get(name)!;
    return { tensors, skipped, format: parsed.format };
  });
}
