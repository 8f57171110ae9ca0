// The Mol2vec substructure table of the 'mol2vec' atom input (orma-reference.md §3.1): frozen 300-d
// vectors of Morgan identifiers (Jaeger et al. 2018, as restricted to ChEBI-20 by Text2Mol), row 0 the
// UNK vector of identifiers the table lacks. Read for training from the shared folder
// (`token_embeddings.safetensors` + `tokens.txt`, ../shared/data/mol2vec/README.md) and carried by the
// model folder as one file, `mol2vec.safetensors` (`embeddings` float32 [rows, dim], `tokens` int64
// [rows], -1 for UNK), so a trained model never reads ../shared at run time.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors } from '../tensor/index.js';

export const MOL2VEC_FILE = 'mol2vec.safetensors';

export interface Mol2vecTable {
  /** Morgan identifier of rows 1..rows-1 (row 0 is UNK): tokens[r - 1] is row r's identifier. */
  tokens: Uint32Array;
  /** [rows x dim] row-major. */
  vectors: Float32Array;
  rows: number;
  dim: number;
  /** Where the table was first read from (kept through model folders; for logs and model cards). */
  source: string;
}

/** identifier -> row (0, UNK, for identifiers the table lacks: look up with `?? 0`). */
export function mol2vecRowIndex(t: Mol2vecTable): Map<number, number> {
  return new Map(Array.from(t.tokens, (id, i) => [id, i + 1]));
}

/** Reads the shared folder form or a model's `mol2vec.safetensors` (a file, or a folder holding one). */
export function readMol2vecTable(path: string): Mol2vecTable {
  if (!existsSync(path)) throw new Error(`${path}: no Mol2vec table here`);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, MOL2VEC_FILE))) return readModelFile(join(path, MOL2VEC_FILE));
    return readSharedFolder(path);
  }
  return readModelFile(path);
}

function readSharedFolder(dir: string): Mol2vecTable {
  const tokensPath = join(dir, 'tokens.txt'), vectorsPath = join(dir, 'token_embeddings.safetensors');
  if (!existsSync(tokensPath) || !existsSync(vectorsPath)) throw new Error(`${dir}: not a Mol2vec table folder (expected tokens.txt and token_embeddings.safetensors, or ${MOL2VEC_FILE})`);
  const lines = readFileSync(tokensPath, 'utf8').split('\n').filter((l) => l !== '');
  if (lines[0] !== 'UNK') throw new Error(`${tokensPath}: line 1 must be UNK (row 0), got ${JSON.stringify(lines[0])}`);
  const tokens = new Uint32Array(lines.length - 1);
  lines.slice(1).forEach((l, i) => {
    const id = Number(l);
    if (!/^\d+$/.test(l) || id > 0xffffffff) throw new Error(`${tokensPath}:${i + 2}: not an unsigned 32-bit identifier: ${JSON.stringify(l)}`);
    tokens[i] = id;
  });
  const { vectors, rows, dim } = readEmbeddings(vectorsPath);
  if (rows !== lines.length) throw new Error(`${vectorsPath}: ${rows} rows, but ${tokensPath} lists ${lines.length} tokens`);
  return { tokens, vectors, rows, dim, source: dir };
}

function readModelFile(path: string): Mol2vecTable {
  const { vectors, rows, dim, ids, source } = readEmbeddings(path, true);
  if (ids!.length !== rows || ids![0] !== -1) throw new Error(`${path}: 'tokens' must have one entry per row, -1 (UNK) first`);
  return { tokens: Uint32Array.from(ids!.slice(1)), vectors, rows, dim, source: source ?? path };
}

function readEmbeddings(path: string, withTokens = false): { vectors: Float32Array; rows: number; dim: number; ids?: number[]; source?: string } {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const e = tensors.embeddings;
    if (!e || e.dtype !== 'float32' || e.ndim !== 2) throw new Error(`${path}: expected a float32 tensor 'embeddings' of shape [rows, dim]`);
    const out = { vectors: Float32Array.from(e.toArray() as Float32Array), rows: e.shape[0]!, dim: e.shape[1]! };
    if (!withTokens) return out;
    const t = tensors.tokens;
    if (!t || t.dtype !== 'int64' || t.ndim !== 1) throw new Error(`${path}: expected an int64 tensor 'tokens'`);
    return { ...out, ids: t.toNumbers(), source: metadata.source };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** The model folder's `mol2vec.safetensors`, as bytes (safetensors layout: u64 header length, JSON header, data). */
export function encodeMol2vecTable(t: Mol2vecTable): Uint8Array {
  const tokens = new BigInt64Array(t.rows);
  tokens[0] = -1n;
  t.tokens.forEach((id, i) => { tokens[i + 1] = BigInt(id); });
  const vectorBytes = t.vectors.byteLength, tokenBytes = tokens.byteLength;
  let json = JSON.stringify({
    __metadata__: { format: 'orma-mol2vec', source: t.source },
    embeddings: { dtype: 'F32', shape: [t.rows, t.dim], data_offsets: [0, vectorBytes] },
    tokens: { dtype: 'I64', shape: [t.rows], data_offsets: [vectorBytes, vectorBytes + tokenBytes] },
  });
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), Buffer.from(t.vectors.buffer, t.vectors.byteOffset, vectorBytes), Buffer.from(tokens.buffer)]);
}
