// Element types. Their numeric codes come from the addon (kDtypes in native/src/table.cc).
import { codeTable } from './native.js';

export type DType = 'float32' | 'float64' | 'int64' | 'bool' | 'int32' | 'bfloat16' | 'float16' | 'uint8';

export const DTYPE_CODES: Readonly<Record<DType, number>> = codeTable('dtype', [
  'float32', 'float64', 'int64', 'bool', 'int32', 'bfloat16', 'float16', 'uint8',
] as const satisfies readonly DType[]);
/** Every dtype, by code. */
export const DTYPES: readonly DType[] = (Object.keys(DTYPE_CODES) as DType[]).sort((a, b) => DTYPE_CODES[a] - DTYPE_CODES[b]);

export function dtypeFromCode(code: number): DType {
  const d = DTYPES[code];
  if (d === undefined || DTYPE_CODES[d] !== code) throw new Error(`unknown dtype code ${code}`);
  return d;
}

/** The JS typed array that holds one dtype's raw elements (16-bit floats as raw bits). */
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array
  : D extends 'float64' ? Float64Array
  : D extends 'int64' ? BigInt64Array
  : D extends 'int32' ? Int32Array
  : D extends 'bool' | 'uint8' ? Uint8Array
  : Uint16Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export function typedArrayFor(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'bool': case 'uint8': return new Uint8Array(buffer);
    default: return new Uint16Array(buffer);
  }
}

/** The dtype a typed array holds when no dtype is given. */
export function dtypeOfArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  throw new Error('cannot infer a dtype from a Uint16Array: pass dtype bfloat16 or float16');
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'bfloat16' || d === 'float16';
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float64: 8, int64: 8, bool: 1, int32: 4, bfloat16: 2, float16: 2, uint8: 1,
};
