// The on-disk vector index of one library under one model: a folder
//   <root>/<kind>-<key>/manifest.json          what it is (library digest, model fingerprint, featurizer, dim, dtype)
//   <root>/<kind>-<key>/chunk-00000.bin|.json  vectors of rows [i·chunk, (i+1)·chunk) and the rows that failed
// `key` hashes everything the vectors depend on (library bytes, model weights and config, featurizer
// version and options, dtype), so a new model or library gets a new folder and an old one stays valid.
// Building is resumable: a chunk is done when its .json exists (written after its .bin, both atomically),
// so an interrupted build continues at the first missing chunk.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { Progress } from '../util/progress.js';
import type { FeaturizerConfig } from '../model/factory.js';

export const INDEX_FORMAT = 'orma-index', INDEX_VERSION = 1;
export type StoreDtype = 'float16' | 'float32';

export interface IndexManifest {
  format: typeof INDEX_FORMAT;
  version: number;
  kind: 'molecules' | 'texts';
  library: { file: string; sha256: string; rows: number };
  model: { dir: string; fingerprint: string };
  featurizer: FeaturizerConfig;
  dim: number;
  dtype: StoreDtype;
  /** Unit-length vectors (cosine models). */
  normalized: boolean;
  chunkRows: number;
  complete: boolean;
  /** Library rows that could not be embedded (bad SMILES): not searchable. */
  invalid: { row: number; id: string; reason: string }[];
  seconds?: number;
}

export interface VectorIndex {
  dir: string;
  manifest: IndexManifest;
  /** [R, D] vectors of the searchable rows (float32 in memory when it fits, else the stored dtype). */
  matrix: Tensor;
  /** Library row of each matrix row. */
  libraryRow: Int32Array;
  /** Matrix row of each library row, -1 for invalid rows. */
  matrixRow: Int32Array;
  dispose(): void;
}

export interface ChunkResult {
  /** rows × dim float32, row-major; rows that failed may hold anything. */
  vectors: Float32Array;
  invalid: { row: number; reason: string }[];
}

export interface OpenIndexOptions {
  root: string;
  kind: 'molecules' | 'texts';
  library: { file: string; sha256: string; ids: readonly string[] };
  model: { dir: string; fingerprint: string };
  featurizer: FeaturizerConfig;
  dim: number;
  normalized: boolean;
  dtype?: StoreDtype;
  chunkRows?: number;
  /** Embeds library rows [start, end). */
  embed: (start: number, end: number) => ChunkResult;
  progress?: NodeJS.WriteStream | null;
  /** Keep the matrix in float32 in memory below this many elements (default 2^26, 256 MB). */
  float32Below?: number;
}

/** SHA-256 of a model directory's config.json and model.safetensors (streamed). */
export async function modelFingerprint(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['config.json', 'model.safetensors']) {
    h.update(f + '\0');
    await new Promise<void>((resolve, reject) => {
      createReadStream(join(dir, f)).on('data', (c) => h.update(c)).on('end', () => resolve()).on('error', reject);
    });
  }
  return h.digest('hex');
}

export function indexKey(o: Pick<OpenIndexOptions, 'kind' | 'library' | 'model' | 'featurizer' | 'dtype' | 'normalized'>): string {
  const what = { v: INDEX_VERSION, kind: o.kind, library: o.library.sha256, model: o.model.fingerprint, featurizer: o.featurizer, dtype: o.dtype ?? 'float16', normalized: o.normalized };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

const chunkName = (i: number) => `chunk-${String(i).padStart(5, '0')}`;

function toStored(v: Float32Array, rows: number, dim: number, dtype: StoreDtype): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const half = noGrad(() => tidy(() => tensor(v, { shape: [rows, dim] }).to('float16').contiguous().toArray())) as Uint16Array;
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/** Opens the index of a library, embedding the chunks that are missing first (with a progress line). */
export async function openIndex(o: OpenIndexOptions): Promise<VectorIndex> {
  const dtype = o.dtype ?? 'float16', chunkRows = o.chunkRows ?? 2048;
  const dir = join(o.root, `${o.kind}-${indexKey({ ...o, dtype })}`);
  mkdirSync(dir, { recursive: true });
  const N = o.library.ids.length, D = o.dim, bytes = dtype === 'float16' ? 2 : 4;
  const chunks = Math.ceil(N / chunkRows);
  const manifestPath = join(dir, 'manifest.json');
  let manifest: IndexManifest | null = null;
  if (existsSync(manifestPath)) {
    try { manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as IndexManifest; } catch { manifest = null; }
  }
  const chunkDone = (i: number) => {
    const rows = Math.min(chunkRows, N - i * chunkRows);
    const bin = join(dir, chunkName(i) + '.bin');
    return existsSync(join(dir, chunkName(i) + '.json')) && existsSync(bin) && statSync(bin).size === rows * D * bytes;
  };
  if (!manifest?.complete || manifest.chunkRows !== chunkRows) {
    const base: IndexManifest = {
      format: INDEX_FORMAT, version: INDEX_VERSION, kind: o.kind, library: { file: o.library.file, sha256: o.library.sha256, rows: N },
      model: o.model, featurizer: o.featurizer, dim: D, dtype, normalized: o.normalized, chunkRows, complete: false, invalid: [],
    };
    writeFileAtomic(manifestPath, JSON.stringify(base, null, 2) + '\n');
    const todo = Array.from({ length: chunks }, (_, i) => i).filter((i) => !chunkDone(i));
    const missingRows = todo.reduce((n, i) => n + Math.min(chunkRows, N - i * chunkRows), 0);
    const t0 = performance.now();
    const progress = todo.length ? new Progress({ label: `index ${o.kind}`, total: missingRows, unit: o.kind, stream: o.progress ?? null }) : null;
    for (const i of todo) {
      const start = i * chunkRows, end = Math.min(N, start + chunkRows);
      const r = o.embed(start, end);
      writeFileAtomic(join(dir, chunkName(i) + '.bin'), toStored(r.vectors, end - start, D, dtype));
      writeFileAtomic(join(dir, chunkName(i) + '.json'), JSON.stringify({ rows: end - start, invalid: r.invalid }) + '\n');
      progress?.tick(end - start);
      await new Promise((res) => setImmediate(res));   // let signals and I/O through between chunks
    }
    progress?.finish();
    const invalid: IndexManifest['invalid'] = [];
    for (let i = 0; i < chunks; i++) {
      const meta = JSON.parse(readFileSync(join(dir, chunkName(i) + '.json'), 'utf8')) as { invalid: { row: number; reason: string }[] };
      for (const x of meta.invalid) invalid.push({ row: x.row, id: o.library.ids[x.row]!, reason: x.reason });
    }
    manifest = { ...base, complete: true, invalid, seconds: (performance.now() - t0) / 1000 };
    writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  }
  return loadIndex(dir, manifest, o.float32Below ?? 1 << 26);
}

function loadIndex(dir: string, manifest: IndexManifest, float32Below: number): VectorIndex {
  const N = manifest.library.rows, D = manifest.dim, chunkRows = manifest.chunkRows;
  const bad = new Set(manifest.invalid.map((x) => x.row));
  const R = N - bad.size;
  const libraryRow = new Int32Array(R), matrixRow = new Int32Array(N).fill(-1);
  const f16 = manifest.dtype === 'float16';
  const flat = f16 ? new Uint16Array(R * D) : new Float32Array(R * D);
  let r = 0;
  for (let i = 0; i * chunkRows < N; i++) {
    let buf: Uint8Array = readFileSync(join(dir, chunkName(i) + '.bin'));
    if (buf.byteOffset % 4 !== 0) buf = new Uint8Array(buf);   // typed views need aligned offsets (small files share Node's pool)
    const view = f16 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2) : new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const rows = Math.min(chunkRows, N - i * chunkRows);
    for (let j = 0; j < rows; j++) {
      const row = i * chunkRows + j;
      if (bad.has(row)) continue;
      flat.set(view.subarray(j * D, (j + 1) * D), r * D);
      libraryRow[r] = row;
      matrixRow[row] = r++;
    }
  }
  const matrix = noGrad(() => {
    const t = tensor(flat, { dtype: manifest.dtype, shape: [R, D] });
    if (!f16 || R * D >= float32Below) return t;
    const wide = t.to('float32');
    t.dispose();
    return wide;
  });
  return { dir, manifest, matrix, libraryRow, matrixRow, dispose: () => matrix.dispose() };
}
