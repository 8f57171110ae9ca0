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
// The pickles are read by a small stack machine that never runs anything: globals resolve only against an
// allow-list of the names torch.save uses for tensor state dicts (OrderedDict, the tensor/parameter
// rebuild functions, storage types, dtypes), and REDUCE/NEWOBJ on them is interpreted, not called.
// Anything else (os.system, builtins.eval, a model class...) is refused with an error naming it.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';
import { DTYPE_CODES, type DType } from './dtype.js';

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

/** A problem with the file; the top level prefixes the file name. */
class FormatError extends Error {}
/** A name from the file, printable in a message (control characters escaped). */
const show = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const fail = (msg: string): never => {
  throw new FormatError(msg);
};

// ---------------------------------------------------------------------------------------------------
// File access with bounds checks

class FileSource {
  readonly size: number;
  constructor(readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  /** Exactly n bytes at pos, or an error saying the file is too short. */
  read(pos: number, n: number, what: string): Buffer {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(n) || pos < 0 || n < 0 || pos + n > this.size) {
      fail(`truncated or corrupt: ${what} needs bytes ${pos}..${pos + n} but the file has ${this.size} bytes`);
    }
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buf, done, n - done, pos + done);
      if (got <= 0) fail(`truncated: could not read ${what} (bytes ${pos}..${pos + n})`);
      done += got;
    }
    return buf;
  }
}

/** Sequential bytes for the pickle machine. */
interface ByteReader {
  pos: number;
  take(n: number): Buffer;
}

class BufferReader implements ByteReader {
  pos = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}
  take(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.buf.length) {
      fail(`truncated: ${this.what} ends after ${this.buf.length} bytes, but byte ${this.pos} asks for ${n} more`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Reads a file sequentially through a 1 MiB window (the legacy format's pickles have no stated length). */
class StreamReader implements ByteReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;
  what = 'the file';
  constructor(private readonly src: FileSource, public pos: number) {}
  take(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.src.size) {
      fail(`truncated: ${this.what} runs past the end of the file (byte ${this.pos} asks for ${n} more bytes, the file has ${this.src.size})`);
    }
    const rel = this.pos - this.chunkStart;
    if (rel < 0 || rel + n > this.chunk.length) {
      this.chunkStart = this.pos;
      this.chunk = this.src.read(this.pos, Math.min(Math.max(n, 1 << 20), this.src.size - this.pos), this.what);
    }
    const start = this.pos - this.chunkStart;
    this.pos += n;
    return this.chunk.subarray(start, start + n);
  }
}

// ---------------------------------------------------------------------------------------------------
// Python values as the pickle machine builds them

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A float that happens to be integral (1.0), kept apart from ints so that skipped leaves say 'float'. */
class Float64Box {
  constructor(readonly value: number) {}
}

/** A torch.device value ('cuda:0'); only ever a skipped leaf. */
class PyDevice {
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
  constructor(
    readonly storage: StorageRef,
    readonly type: SourceType,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof PyGlobal) return v.name;
  if (v instanceof StorageRef) return 'storage';
  if (v instanceof TensorRef) return 'tensor';
  if (v instanceof Float64Box) return 'float';
  if (v instanceof PyDevice) return 'torch.device';
  return typeof v;
}

function asInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return fail(`expected an integer for ${what}, got ${pyType(v)}`);
}
function asString(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return fail(`expected a string for ${what}, got ${pyType(v)}`);
}
function asInts(v: unknown, what: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : fail(`expected a tuple for ${what}, got ${pyType(v)}`);
  return (items as unknown[]).map((x, i) => {
    const n = asInt(x, `${what}[${i}]`);
    if (n < 0) fail(`${what}[${i}] is negative (${n})`);
    return n;
  });
}

// ---------------------------------------------------------------------------------------------------
// The pickle machine (protocols 2-5, the opcodes torch.save and pickle emit for state dicts)

const OP_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Two's-complement little-endian integer (LONG1/LONG4); a bigint when beyond 2^53. */
function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readU64(b: Buffer, what: string): number {
  const v = b.readBigUInt64LE(0);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is impossibly large`);
  return Number(v);
}

/**
 * Runs one pickle from `r` to its STOP and returns the object. `persistentLoad` interprets BINPERSID ids.
 * Nothing is ever executed: REDUCE/NEWOBJ/BUILD only act on allow-listed globals (see `apply`).
 */
function unpickle(r: ByteReader, what: string, persistentLoad: (pid: unknown) => unknown): unknown {
  const start = r.pos;
  /** Where an opcode is: its byte within this pickle, and its file offset when the pickle does not start the buffer. */
  const where = (at: number) => (start === 0 ? `byte ${at}` : `byte ${at - start} (file offset ${at})`);
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const pop = (): unknown => (stack.length ? stack.pop() : fail(`${what}: stack underflow at ${where(r.pos)}`));
  const top = (): unknown => (stack.length ? stack[stack.length - 1] : fail(`${what}: empty stack at ${where(r.pos)}`));
  const popMark = (): unknown[] => {
    const items = stack;
    stack = metastack.pop() ?? fail(`${what}: MARK missing at ${where(r.pos)}`);
    return items;
  };
  const u8 = () => r.take(1)[0]!;
  const str = (n: number) => r.take(n).toString('utf8');
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof Map)) fail(`${what}: SETITEM(S) on a ${pyType(d)} at ${where(r.pos)}`);
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l)) fail(`${what}: APPEND(S) on a ${pyType(l)} at ${where(r.pos)}`);
    for (const x of items) (l as unknown[]).push(x);
  };
  const getMemo = (i: number) => (memo.has(i) ? memo.get(i) : fail(`${what}: memo entry ${i} read before it was written (${where(r.pos)})`));

  for (;;) {
    const at = r.pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`${what}: pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: r.take(8); break; // FRAME: a length hint only
      case 0x2e: return pop(); // STOP
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: stack.push(r.take(4).readInt32LE(0)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(r.take(2).readUInt16LE(0)); break; // BININT2
      case 0x8a: stack.push(decodeLong(r.take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = r.take(4).readInt32LE(0);
        if (n < 0 || n > 4096) fail(`${what}: LONG4 of ${n} bytes at ${where(at)}; a state dict has no such integers`);
        stack.push(decodeLong(r.take(n)));
        break;
      }
      case 0x47: { // BINFLOAT, big-endian
        const v = r.take(8).readDoubleBE(0);
        stack.push(Number.isInteger(v) ? new Float64Box(v) : v);
        break;
      }
      case 0x58: stack.push(str(r.take(4).readUInt32LE(0))); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(readU64(r.take(8), 'BINUNICODE8 length'))); break;
      case 0x54: { // BINSTRING (Python 2 str), read as text like torch.load's encoding='utf-8'
        const n = r.take(4).readInt32LE(0);
        if (n < 0) fail(`${what}: negative BINSTRING length at ${where(at)}`);
        stack.push(str(n));
        break;
      }
      case 0x55: stack.push(str(u8())); break; // SHORT_BINSTRING
      case 0x42: stack.push(Buffer.from(r.take(r.take(4).readUInt32LE(0)))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(r.take(u8()))); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: stack.push(Buffer.from(r.take(readU64(r.take(8), 'BINBYTES8 length')))); break; // BINBYTES8, BYTEARRAY8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST (pop the mark before reading `stack`)
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`${what}: ADDITEMS on a ${pyType(s)} at ${where(at)}`);
        for (const x of items) (s as Set<unknown>).add(x);
        break;
      }
      case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(r.take(4).readUInt32LE(0), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(getMemo(u8())); break; // BINGET
      case 0x6a: stack.push(getMemo(r.take(4).readUInt32LE(0))); break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = readLine(r, what), name = readLine(r, what);
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`${what}: STACK_GLOBAL needs two strings at ${where(at)}`);
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x52: { const args = pop(), fn = pop(); stack.push(apply(fn, args, what)); break; } // REDUCE
      case 0x81: { const args = pop(), cls = pop(); stack.push(apply(cls, args, what)); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(), cls = pop(); stack.push(apply(cls, args, what)); break; } // NEWOBJ_EX (kwargs ignored)
      case 0x62: build(top(), pop(), what); break; // BUILD: the state is popped first (argument order)
      default: {
        const name = OP_NAMES[op];
        fail(name
          ? `${what}: unsupported pickle opcode ${name} (0x${op.toString(16)}) at ${where(at)}; torch.save does not write it for state dicts`
          : `${what}: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at ${where(at)} (corrupt, or not a pickle)`);
      }
    }
  }
}

function readLine(r: ByteReader, what: string): string {
  const bytes: number[] = [];
  for (;;) {
    const b = r.take(1)[0]!;
    if (b === 0x0a) return Buffer.from(bytes).toString('utf8');
    bytes.push(b);
    if (bytes.length > 512) fail(`${what}: GLOBAL name longer than 512 bytes at byte ${r.pos}`);
  }
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

// ---------------------------------------------------------------------------------------------------
// ZIP archives (stored or deflated entries; ZIP64)

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function readZipDirectory(src: FileSource): Map<string, ZipEntry> {
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = src.read(src.size - tailLen, tailLen, 'the end of the zip archive');
  let e = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) { e = i; break; }
  }
  if (e < 0) fail('not a complete zip archive: no end-of-central-directory record (truncated?)');
  let count = tail.readUInt16LE(e + 10);
  let cdSize = tail.readUInt32LE(e + 12);
  let cdOffset = tail.readUInt32LE(e + 16);
  const eocdPos = src.size - tailLen + e;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: a locator just before the classic record points at the ZIP64 end-of-central-directory record.
    if (eocdPos < 20) fail('zip archive: ZIP64 fields without a ZIP64 locator');
    const loc = src.read(eocdPos - 20, 20, 'the ZIP64 locator');
    if (loc.readUInt32LE(0) !== 0x07064b50) fail('zip archive: ZIP64 fields without a ZIP64 locator');
    const rec = src.read(readU64(loc.subarray(8), 'ZIP64 record offset'), 56, 'the ZIP64 end-of-central-directory record');
    if (rec.readUInt32LE(0) !== 0x06064b50) fail('zip archive: bad ZIP64 end-of-central-directory record');
    count = readU64(rec.subarray(32), 'ZIP64 entry count');
    cdSize = readU64(rec.subarray(40), 'ZIP64 central directory size');
    cdOffset = readU64(rec.subarray(48), 'ZIP64 central directory offset');
  }
  const cd = src.read(cdOffset, cdSize, 'the zip central directory');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) fail(`zip archive: corrupt central directory (entry ${i} of ${count})`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) fail(`zip archive: corrupt central directory (entry ${i} of ${count})`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x), len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const next = (field: string) => {
          if (q + 8 > x + 4 + len) fail(`zip archive: short ZIP64 extra field in ${show(name)}`);
          const v = readU64(cd.subarray(q), field);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('ZIP64 size');
        if (compressedSize === 0xffffffff) compressedSize = next('ZIP64 compressed size');
        if (localOffset === 0xffffffff) localOffset = next('ZIP64 offset');
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, flags, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function readZipEntry(src: FileSource, e: ZipEntry): Buffer {
  const n = show(e.name);
  if (e.flags & 1) fail(`zip record ${n} is encrypted`);
  const head = src.read(e.localOffset, 30, `the local header of ${n}`);
  if (head.readUInt32LE(0) !== 0x04034b50) fail(`zip archive: bad local header for ${n}`);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  const raw = src.read(start, e.compressedSize, `zip record ${n}`);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateRawSync(raw);
    } catch (err) {
      return fail(`zip record ${n}: corrupt DEFLATE data (${(err as Error).message})`);
    }
  } else return fail(`zip record ${n} uses compression method ${e.method}; only stored (0) and DEFLATE (8) are supported`);
  if (data.length !== e.size) fail(`zip record ${n} has ${data.length} bytes, its header says ${e.size}`);
  return data;
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
  const root = unpickle(new BufferReader(readZipEntry(src, entries.get(pkl!)!), show(pkl!)), show(pkl!), persistentLoad);
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
  const noPersistent = (): unknown => fail('unexpected persistent id in a header pickle');
  r.what = 'the magic number pickle';
  const magic = unpickle(r, r.what, noPersistent);
  if (magic !== LEGACY_MAGIC) fail('not a PyTorch checkpoint (no zip archive, and the first pickle is not the legacy magic number)');
  r.what = 'the protocol version pickle';
  const version = unpickle(r, r.what, noPersistent);
  if (version !== 1001) fail(`unsupported legacy protocol version ${String(version)} (expected 1001)`);
  r.what = 'the sys_info pickle';
  const sysInfo = unpickle(r, r.what, noPersistent);
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
  const root = unpickle(r, r.what, persistentLoad);
  r.what = 'the storage key list';
  const keys = unpickle(r, r.what, noPersistent);
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
  if (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50) return 'zip';
  if (head[0] !== 0x80) return undefined;
  try {
    return unpickle(new BufferReader(head, 'header'), 'header', () => fail('')) === LEGACY_MAGIC ? 'legacy' : undefined;
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
