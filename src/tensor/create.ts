// Creating tensors: constants, ranges, random values (seeded via manualSeed) and JS data.
import { native } from './native.js';
import { wrap, type Device, type Tensor } from './tensor.js';
import { DTYPE_CODES, dtypeOfArray, type AnyTypedArray, type DType } from './dtype.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: CreateOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad_(true);
  return t;
}

let defaultFloat: DType = 'float32';

/** The floating dtype of new tensors when none is given (as torch.set_default_dtype); float64 for gradient checks. */
export function setDefaultDtype(d: 'float32' | 'float64'): void {
  defaultFloat = d;
}
export function getDefaultDtype(): DType {
  return defaultFloat;
}

function code(o: CreateOptions | undefined, fallback?: DType): number {
  return DTYPE_CODES[o?.dtype ?? fallback ?? defaultFloat];
}

function checkShape(shape: number[], fn: string): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${fn}: invalid shape [${shape.join(', ')}]`);
  }
  return shape;
}

export function zeros(shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.zeros(checkShape(shape, 'zeros'), code(o), o?.device)), o);
}
export function ones(shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.ones(checkShape(shape, 'ones'), code(o), o?.device)), o);
}
export function empty(shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.empty(checkShape(shape, 'empty'), code(o), o?.device)), o);
}
export function full(shape: number[], value: number, o?: CreateOptions): Tensor {
  return finish(wrap(native.full(checkShape(shape, 'full'), value, code(o), o?.device)), o);
}
/** Values start, start+step, ... below end; int64 when every argument is an integer, else float32 (as torch.arange). */
export function arange(start: number, end?: number, step = 1, o?: CreateOptions): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  // An int64 default for fractional arguments truncated them: arange(0, 1, 0.25) failed with "step must be nonzero".
  const integral = Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step);
  return finish(wrap(native.arange(s, e, step, code(o, integral ? 'int64' : 'float32'), o?.device)), o);
}
export function eye(n: number, o?: CreateOptions): Tensor {
  return finish(wrap(native.eye(n, code(o), o?.device)), o);
}
/** Standard normal samples from the global generator (see manualSeed). */
export function randn(shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.randn(checkShape(shape, 'randn'), code(o), o?.device)), o);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.rand(checkShape(shape, 'rand'), code(o), o?.device)), o);
}
/** Integers uniform in [low, high). */
export function randint(low: number, high: number, shape: number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.randint(low, high, checkShape(shape, 'randint'), code(o, 'int64'), o?.device)), o);
}
export function randperm(n: number, o?: CreateOptions): Tensor {
  return wrap(native.randperm(n, code(o, 'int64'), o?.device));
}

type Nested = number | boolean | Nested[];

/**
 * A tensor from JS data: a typed array (with `shape`), or nested arrays of numbers/booleans.
 * number[] data defaults to the default dtype (float32), boolean[] to bool; pass `dtype` for integers.
 */
export function tensor(data: AnyTypedArray | Nested, o: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const dtype = o.dtype ?? dtypeOfArray(data);
    const shape = o.shape ?? [data.length];
    return finish(wrap(native.fromArray(data, checkShape(shape, 'tensor'), DTYPE_CODES[dtype], o.device)), o);
  }
  const shape = o.shape ?? inferShape(data);
  const flat: (number | boolean)[] = [];
  flattenInto(data, flat);
  if (!o.shape) checkRectangular(data, shape, 0, []);
  const dtype = o.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : defaultFloat);
  return finish(wrap(native.fromArray(toTypedArray(flat, dtype), shape, DTYPE_CODES[dtype], o.device)), o);
}

/** A 0-dim tensor holding one number. */
export function scalar(value: number, o?: CreateOptions): Tensor {
  return tensor(value, { ...o, shape: [] });
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
    if (cur === undefined) break;
  }
  return shape;
}

/** Nested arrays must be rectangular: every array at depth d has shape[d] elements, numbers only at the last level. */
function checkRectangular(data: Nested, shape: number[], depth: number, at: number[]): void {
  const where = () => `tensor(): nested arrays are ragged: element [${at.join(', ')}] `;
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new Error(`${where()}is an array, expected a number (shape [${shape.join(', ')}] from the first elements)`);
    return;
  }
  if (!Array.isArray(data)) throw new Error(`${where()}is a number, expected an array of ${shape[depth]}`);
  if (data.length !== shape[depth]) throw new Error(`${where()}has ${data.length} elements, expected ${shape[depth]} (shape [${shape.join(', ')}] from the first elements)`);
  data.forEach((d, i) => checkRectangular(d, shape, depth + 1, [...at, i]));
}

function flattenInto(data: Nested, out: (number | boolean)[]): void {
  if (Array.isArray(data)) for (const d of data) flattenInto(d, out);
  else out.push(data);
}

function toTypedArray(flat: (number | boolean)[], dtype: DType): AnyTypedArray {
  const nums = flat.map(Number);
  switch (dtype) {
    case 'float32': return Float32Array.from(nums);
    case 'float64': return Float64Array.from(nums);
    case 'int64': return BigInt64Array.from(nums, (v) => BigInt(Math.trunc(v)));
    case 'int32': return Int32Array.from(nums);
    case 'bool': case 'uint8': return Uint8Array.from(nums);
    default: throw new Error(`tensor(): build ${dtype} tensors from float32 data with .to('${dtype}')`);
  }
}
