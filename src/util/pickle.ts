// A pickle reader (protocols 2-5) that never runs anything: a stack machine over the opcodes pickle and
// torch.save emit for plain data, whose GLOBAL, REDUCE/NEWOBJ, BUILD and persistent-id opcodes are handed
// to the caller's hooks. Without hooks that accept them, a pickle of anything but data is refused.
// No tensors here; torch-checkpoint.ts supplies the hooks for tensor state dicts.
import { fail, readU64, type ByteReader } from './bytes.js';

/** A Python tuple (lists are arrays, dicts Maps, sets Sets, bytes Buffers, None null). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A float that happens to be integral (1.0), kept apart from ints so that messages say 'float'. */
export class Float64Box {
  constructor(readonly value: number) {}
}

/** A value the hooks make (a global, a persistent object) names its Python type for messages. */
export interface PythonObject {
  readonly pythonType: string;
}

/** What the machine cannot decide itself; each hook may refuse by throwing. */
export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the object `module.name` stands for. */
  global(module: string, name: string): unknown;
  /** REDUCE / NEWOBJ / NEWOBJ_EX (kwargs dropped): the result of calling `fn` (a value `global` gave) with `args`. */
  call(fn: unknown, args: unknown, what: string): unknown;
  /** BUILD: sets `state` on `obj`. */
  build(obj: unknown, state: unknown, what: string): void;
  /** BINPERSID: the object a persistent id stands for. */
  persistentLoad(pid: unknown): unknown;
}

/** The Python type of an unpickled value, for messages. */
export function pyType(v: unknown): string {
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
  if (v instanceof Float64Box) return 'float';
  if (typeof v === 'object' && v !== null && 'pythonType' in v) return String((v as PythonObject).pythonType);
  return typeof v;
}

export function asInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return fail(`expected an integer for ${what}, got ${pyType(v)}`);
}
export function asString(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return fail(`expected a string for ${what}, got ${pyType(v)}`);
}
export function asInts(v: unknown, what: string): number[] {
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

/**
 * Runs one pickle from `r` to its STOP and returns the object. `what` names the pickle in messages.
 * Nothing is ever executed: globals, calls, BUILD and persistent ids go to `hooks`.
 */
export function unpickle(r: ByteReader, what: string, hooks: PickleHooks): unknown {
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
        stack.push(hooks.global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`${what}: STACK_GLOBAL needs two strings at ${where(at)}`);
        stack.push(hooks.global(module as string, name as string));
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x52: { const args = pop(), fn = pop(); stack.push(hooks.call(fn, args, what)); break; } // REDUCE
      case 0x81: { const args = pop(), cls = pop(); stack.push(hooks.call(cls, args, what)); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(), cls = pop(); stack.push(hooks.call(cls, args, what)); break; } // NEWOBJ_EX (kwargs ignored)
      case 0x62: hooks.build(top(), pop(), what); break; // BUILD: the state is popped first (argument order)
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
