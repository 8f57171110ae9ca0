// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then raw little-endian data.
// Readable by Python's safetensors and by Hugging Face loaders.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';
import { DTYPE_CODES, type DType } from './dtype.js';
import { writeFileAtomic } from '../util/fs.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int64: 'I64', bool: 'BOOL', int32: 'I32', bfloat16: 'BF16', float16: 'F16', uint8: 'U8' };
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));
const ELEMENT_BYTES: Record<string, number> = { F32: 4, F64: 8, I64: 8, BOOL: 1, I32: 4, BF16: 2, F16: 2, U8: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

/** Writes tensors (and string metadata) to `path` atomically. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    const bytes = new Uint8Array(native.toArray(t.handle));
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);  // keep the data 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(path, [head, Buffer.from(json, 'utf8'), ...chunks]);
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads a safetensors file; a truncated or corrupt file gives an Error naming the file and the problem. */
export function loadSafetensors(path: string): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const corrupt = (why: string) => new Error(`${path}: not a valid safetensors file (${why})`);
    if (size < 8) throw corrupt(`only ${size} bytes`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE());
    if (headerLen > MAX_HEADER || 8 + headerLen > size) throw corrupt(`header length ${headerLen} exceeds the file size ${size}; truncated?`);
    const headBuf = Buffer.alloc(headerLen);
    readSync(fd, headBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headBuf.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw corrupt(`header is not JSON: ${(err as Error).message}`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw corrupt('header is not a JSON object');
    const dataStart = 8 + headerLen;
    const dataLen = size - dataStart;
    const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    const tensors: Record<string, Tensor> = {};
    try {
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const e = raw as HeaderEntry;
        if (e === null || typeof e !== 'object') throw corrupt(`tensor '${name}' has no {dtype, shape, data_offsets} entry`);
        if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
          throw corrupt(`tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
        }
        const dtype = FROM_ST[e.dtype];
        if (!dtype) throw corrupt(`tensor '${name}' has unsupported dtype ${String(e.dtype)}`);
        const [begin, end] = e.data_offsets ?? [];
        const numel = (e.shape ?? []).reduce((a, b) => a * b, 1);
        if (!Number.isInteger(begin) || !Number.isInteger(end) || begin! < 0 || end! > dataLen || end! - begin! !== numel * ELEMENT_BYTES[e.dtype]!) {
          throw corrupt(`tensor '${name}' has data_offsets [${begin}, ${end}] that do not fit its shape [${e.shape}] or the ${dataLen} data bytes (truncated?)`);
        }
        const bytes = Buffer.alloc(end! - begin!);
        readSync(fd, bytes, 0, bytes.length, dataStart + begin!);
        tensors[name] = wrap(native.fromArray(bytes, e.shape, DTYPE_CODES[dtype]));
      }
    } catch (err) {
      for (const t of Object.values(tensors)) t.dispose();
      throw err;
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}
