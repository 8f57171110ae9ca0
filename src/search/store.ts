// The on-disk vector index of one library under one model: a folder
//   <root>/<kind>-<key>/manifest.json          what it is (library digest, model fingerprint, featurizer, dim, dtype)
//   <root>/<kind>-<key>/chunk-00000.bin|.json  vectors of rows [i·chunk, (i+1)·chunk) and the rows that failed
// `key` hashes everything the vectors depend on (library bytes, model weights and config, featurizer
// version and options, dtype), so a new model or library gets a new folder and an old one stays valid.
// Building is resumable: a chunk is done when its .json exists (written after its .bin, both atomically),
// so an interrupted build continues at the first missing chunk.
// A text index also gets a token cache (token-cache.ts: <index>/tokens/, what stage 2's fused score needs
// from each text), written from the same encoder pass as the chunks and recorded in the manifest.
//
// Stage 1 searches one of two stores of those vectors (openStage1):
//   'exact'  the chunks loaded as one in-memory matrix, searched by blocked matrix products (exact.ts);
//   'lance'  a LanceDB table built from the chunks (lance.ts), searched flat or through an ANN index, for
//            libraries too large for the first. `orma index --store lance` builds it; a search never does.
// 'auto' picks by library size (defaultStore below).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { formatDuration, Progress } from '../util/progress.js';
import type { FeaturizerConfig } from '../model/factory.js';
import { exactTopK } from './exact.js';
import { removeTokenCache, TokenCache, TokenCacheWriter, type RecordSink, type TokenCacheIdentity, type TokenCacheSummary } from './token-cache.js';
import { annParams, estimateIndexSeconds, LanceStore, readLanceManifest, storesOfLibrary, StoreError, writeLanceStore, type AnnChoice, type AnnParams, type AnnSearch, type StoreIdentity, type TopRows, type VectorBatch } from './lance.js';

export const INDEX_FORMAT = 'orma-index', INDEX_VERSION = 1;
export type StoreDtype = 'float16' | 'float32';
export type StoreKind = 'exact' | 'lance';
export type StoreChoice = 'auto' | StoreKind;
export type TokenCacheMode = 'build' | 'auto' | 'off';

// The default store by library size (searchable vectors), from `orma bench store` (docs/scale.md):
// below EXACT_MAX_ROWS the in-memory blocked matrix product is exact and needs no build step beyond the
// embedding. It reads every vector per query, so its time grows linearly: 1M 256-dim float16 vectors
// took 172 ms p50 on a quiet 2-core machine, so 100,000 take ~17 ms, the stage-1 budget of 20 ms.
// Past that, LanceDB with IVF_HNSW_SQ answers in ~12 ms at 1M (recall@10 0.91 before the rerank,
// 0.98 with ef 200; lance.ts) whatever the size, once built (3m40s for 1M).
export const EXACT_MAX_ROWS = 100_000;

/** The stage-1 store 'auto' means for a library of `rows` searchable vectors. */
export function defaultStore(rows: number): StoreKind {
  return rows < EXACT_MAX_ROWS ? 'exact' : 'lance';
}

/** `normalized`: unit-length vectors (cosine models). */
export interface IndexManifest extends StoreIdentity {
  format: typeof INDEX_FORMAT;
  version: number;
  dtype: StoreDtype;
  chunkRows: number;
  complete: boolean;
  /** Library rows that could not be embedded (bad SMILES): not searchable. */
  invalid: { row: number; id: string; reason: string }[];
  seconds?: number;
  /** The text index's token cache (tokens/), when it has a complete one. */
  tokens?: TokenCacheSummary;
}

/** A library's stage-1 store, opened: the k best library rows by dot product with a query vector. */
export interface Stage1Index {
  store: StoreKind;
  /** The index folder. */
  dir: string;
  kind: 'molecules' | 'texts';
  /** Library rows, and those that can be found (the others could not be embedded). */
  rows: number;
  searchable: number;
  invalid: { row: number; id: string; reason: string }[];
  dim: number;
  dtype: StoreDtype;
  /** The LanceDB store's ANN index (null: flat), for store 'lance'. */
  ann?: AnnParams | null;
  /** Seconds the build took (embedding; for 'lance' also writing the table and training the index). */
  seconds: number;
  /** A text index's token cache (stage 2 reads candidates' vectors from it), or null: stage 2 encodes them. */
  tokens: TokenCache | null;
  /** The k best library rows (ties by row); `subset` (library rows) restricts the search, exactly. */
  topK(query: Float32Array, k: number, o?: { subset?: Int32Array } & AnnSearch): Promise<TopRows>;
  dispose(): void;
}

export interface VectorIndex extends Stage1Index {
  store: 'exact';
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
  /**
   * Embeds library rows [start, end). With `tokens` (texts, while a token cache is built), also hands each
   * text's token-cache record to it, from the same encoder pass.
   */
  embed: (start: number, end: number, tokens?: RecordSink) => ChunkResult;
  /**
   * The token cache of a text index (ignored for molecules). 'build' (`orma index`): build it when missing
   * or incomplete, reusing a complete one only after checking every record; 'auto' (a search): build it
   * only alongside embedding the index itself (never a pass of its own), use a complete one; 'off': neither.
   * Default 'off'. `vocab`: SHA-256 of the model's vocab.txt.
   */
  tokenCache?: { mode: TokenCacheMode; vocab: string };
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

export const chunkName = (i: number) => `chunk-${String(i).padStart(5, '0')}`;
export const DEFAULT_CHUNK_ROWS = 2048;

/** manifest.json of an index folder, or null when there is none or it is unreadable (then rebuilt). */
export function readIndexManifest(dir: string): IndexManifest | null {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return null;
  try { return JSON.parse(readFileSync(path, 'utf8')) as IndexManifest; } catch { return null; }
}

/** Whether chunk i of an index folder is complete (its .json written, its .bin of the right size). */
export function chunkComplete(dir: string, i: number, o: { rows: number; chunkRows: number; dim: number; dtype: StoreDtype }): boolean {
  const rows = Math.min(o.chunkRows, o.rows - i * o.chunkRows);
  const bin = join(dir, chunkName(i) + '.bin');
  return existsSync(join(dir, chunkName(i) + '.json')) && existsSync(bin) && statSync(bin).size === rows * o.dim * (o.dtype === 'float16' ? 2 : 4);
}

export function toStored(v: Float32Array, rows: number, dim: number, dtype: StoreDtype): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const half = noGrad(() => tidy(() => tensor(v, { shape: [rows, dim] }).to('float16').contiguous().toArray())) as Uint16Array;
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/** The index folder of a library under a model. */
export function indexDir(o: Pick<OpenIndexOptions, 'root' | 'kind' | 'library' | 'model' | 'featurizer' | 'dtype' | 'normalized'>): string {
  return join(o.root, `${o.kind}-${indexKey({ ...o, dtype: o.dtype ?? 'float16' })}`);
}

/** Opens the index of a library, embedding the chunks that are missing first (with a progress line). */
export async function openIndex(o: OpenIndexOptions): Promise<VectorIndex> {
  const { dir, manifest, tokens } = await ensureChunks(o);
  return loadIndex(dir, manifest, o.float32Below ?? 1 << 26, tokens);
}

function tokenIdentity(o: OpenIndexOptions): TokenCacheIdentity | null {
  if (o.kind !== 'texts' || !o.tokenCache || o.tokenCache.mode === 'off') return null;
  return { ...identity(o), vocab: o.tokenCache.vocab };
}

/** A text index's complete token cache (checked against the model and library), or null. */
function openTokens(o: OpenIndexOptions, dir: string): TokenCache | null {
  const want = tokenIdentity(o);
  return want ? TokenCache.open(dir, want) : null;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 2 : 0)} MiB`;

/**
 * Embeds the chunks of the library that are missing (and, for a text index, builds its token cache as
 * `tokenCache` says) and returns the complete manifest and the open token cache.
 */
async function ensureChunks(o: OpenIndexOptions): Promise<{ dir: string; manifest: IndexManifest; tokens: TokenCache | null }> {
  const dtype = o.dtype ?? 'float16';
  const dir = indexDir(o);
  mkdirSync(dir, { recursive: true });
  const manifest0 = readIndexManifest(dir);
  let manifest = manifest0;
  // without a chunk size, an existing index keeps its own (a search never re-embeds one built with --chunk-rows)
  const chunkRows = o.chunkRows ?? manifest0?.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const N = o.library.ids.length, D = o.dim;
  const chunks = Math.ceil(N / chunkRows);
  const manifestPath = join(dir, 'manifest.json');
  const chunkDone = (i: number) => chunkComplete(dir, i, { rows: N, chunkRows, dim: D, dtype });
  const mode = o.kind === 'texts' ? o.tokenCache?.mode ?? 'off' : 'off';
  const wantTokens = tokenIdentity(o);
  let tokens: TokenCache | null = null;
  if (wantTokens) {
    try {
      tokens = TokenCache.open(dir, wantTokens);
      if (tokens && mode === 'build') tokens.verify();   // `orma index` reuses a cache only once every record checks out
    } catch (err) {
      tokens?.close();
      tokens = null;
      if (mode !== 'build') throw err;
      o.progress?.write(`index texts: rebuilding the token cache: ${(err as Error).message.split('; rebuild')[0]}\n`);
      removeTokenCache(dir);
    }
  }
  const indexComplete = manifest?.complete === true && manifest.chunkRows === chunkRows;
  let writer = wantTokens && !tokens && !(mode === 'auto' && indexComplete) ? TokenCacheWriter.open(dir, wantTokens, chunkRows) : null;
  if (writer && mode === 'auto' && Array.from({ length: chunks - writer.chunks }, (_, j) => writer!.chunks + j).some(chunkDone)) {
    // a search builds the token cache only alongside the embedding it has to do anyway, never as a pass of
    // its own over chunks that exist: those fall back to encoding candidates (`orma index` adds the cache)
    writer.close();
    writer = null;
  }
  if (indexComplete && !writer) {
    const summary = tokens?.summary;
    if (summary && JSON.stringify(manifest!.tokens) !== JSON.stringify(summary)) {
      manifest = { ...manifest!, tokens: summary };
      writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    }
    return { dir, manifest: manifest!, tokens };
  }
  try {
    const base: IndexManifest = indexComplete ? manifest! : {
      format: INDEX_FORMAT, version: INDEX_VERSION, kind: o.kind, library: { file: o.library.file, sha256: o.library.sha256, rows: N },
      model: o.model, featurizer: o.featurizer, dim: D, dtype, normalized: o.normalized, chunkRows, complete: false, invalid: [],
    };
    if (!indexComplete) writeFileAtomic(manifestPath, JSON.stringify(base, null, 2) + '\n');
    const todo = Array.from({ length: chunks }, (_, i) => i).filter((i) => !chunkDone(i) || (writer !== null && i >= writer.chunks));
    const missingRows = todo.reduce((n, i) => n + Math.min(chunkRows, N - i * chunkRows), 0);
    const t0 = performance.now();
    const label = indexComplete ? `index ${o.kind} (token cache)` : writer ? `index ${o.kind} (+ token cache)` : `index ${o.kind}`;
    const progress = todo.length ? new Progress({ label, total: missingRows, unit: o.kind, stream: o.progress ?? null }) : null;
    for (const i of todo) {
      const start = i * chunkRows, end = Math.min(N, start + chunkRows);
      const needVectors = !chunkDone(i);
      const sink = writer && i >= writer.chunks ? writer.sink(i) : undefined;
      const r = o.embed(start, end, sink);
      // the cache's chunk first: a build killed in between then redoes only the chunk files, which a
      // search's build (mode 'auto') continues, rather than leaving a chunk the cache lacks
      if (sink) writer!.commit(i);
      if (needVectors) {
        writeFileAtomic(join(dir, chunkName(i) + '.bin'), toStored(r.vectors, end - start, D, dtype));
        writeFileAtomic(join(dir, chunkName(i) + '.json'), JSON.stringify({ rows: end - start, invalid: r.invalid }) + '\n');
      }
      progress?.tick(end - start);
      await new Promise((res) => setImmediate(res));   // let signals and I/O through between chunks
    }
    progress?.finish();
    let summary = tokens?.summary;
    if (writer) {
      summary = writer.finish(N);
      writer = null;
      tokens = openTokens(o, dir);
      o.progress?.write(`index texts: token cache ${mib(summary.bytes)} (${summary.texts} texts, ${summary.tokens} tokens) in ${join(dir, 'tokens')}\n`);
    }
    if (indexComplete) {
      manifest = { ...base, ...(summary ? { tokens: summary } : {}) };
    } else {
      const invalid: IndexManifest['invalid'] = [];
      for (let i = 0; i < chunks; i++) {
        const meta = JSON.parse(readFileSync(join(dir, chunkName(i) + '.json'), 'utf8')) as { invalid: { row: number; reason: string }[] };
        for (const x of meta.invalid) invalid.push({ row: x.row, id: o.library.ids[x.row]!, reason: x.reason });
      }
      manifest = { ...base, complete: true, invalid, seconds: (performance.now() - t0) / 1000, ...(summary ? { tokens: summary } : {}) };
    }
    writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    return { dir, manifest, tokens };
  } catch (err) {
    tokens?.close();
    throw err;
  } finally {
    writer?.close();
  }
}

function loadIndex(dir: string, manifest: IndexManifest, float32Below: number, tokens: TokenCache | null): VectorIndex {
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
  return {
    store: 'exact', dir, manifest, matrix, libraryRow, matrixRow, kind: manifest.kind, rows: N, searchable: R, invalid: manifest.invalid,
    dim: D, dtype: manifest.dtype, seconds: manifest.seconds ?? 0, tokens,
    topK: async (query, k, o = {}) => {
      const subset = o.subset ? Int32Array.from(Array.from(o.subset, (r) => matrixRow[r] ?? -1).filter((r) => r >= 0)) : undefined;
      if (subset && subset.length === 0) return { rows: [], scores: [] };
      const top = exactTopK(matrix, query, k, { subset });
      return { rows: top.rows.map((r) => libraryRow[r]!), scores: top.scores };
    },
    dispose: () => { matrix.dispose(); tokens?.close(); },
  };
}

/** The chunk files of a complete index as table batches of at least `minRows` rows (invalid rows left out). */
function* chunkBatches(dir: string, m: IndexManifest, minRows = 65_536): Generator<VectorBatch> {
  const N = m.library.rows, D = m.dim, f16 = m.dtype === 'float16';
  const bad = new Set(m.invalid.map((x) => x.row));
  let rows: number[] = [], parts: (Uint16Array | Float32Array)[] = [];
  const flush = (): VectorBatch => {
    const vectors = f16 ? new Uint16Array(rows.length * D) : new Float32Array(rows.length * D);
    let at = 0;
    for (const p of parts) { vectors.set(p, at); at += p.length; }
    const b = { rows: Int32Array.from(rows), vectors };
    rows = []; parts = [];
    return b;
  };
  for (let i = 0; i * m.chunkRows < N; i++) {
    let buf: Uint8Array = readFileSync(join(dir, chunkName(i) + '.bin'));
    if (buf.byteOffset % 4 !== 0) buf = new Uint8Array(buf);
    const view = f16 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2) : new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const n = Math.min(m.chunkRows, N - i * m.chunkRows);
    for (let j = 0; j < n; j++) {
      const row = i * m.chunkRows + j;
      if (bad.has(row)) continue;
      rows.push(row);
      parts.push(view.subarray(j * D, (j + 1) * D));
    }
    if (rows.length >= minRows) yield flush();
  }
  if (rows.length) yield flush();
}

export interface OpenStage1Options extends OpenIndexOptions {
  /** Which store (default 'auto': by library size, or the LanceDB store when one was built). */
  store?: StoreChoice;
  /** Build a missing LanceDB store (`orma index`); a search never does (default false). */
  build?: boolean;
  /** The ANN index a LanceDB build trains (default 'auto': IVF_PQ from ANN_MIN_ROWS vectors, else none). */
  ann?: AnnChoice;
  /** Search-time ANN settings of a LanceDB store. */
  annSearch?: AnnSearch;
}

function identity(o: OpenIndexOptions): StoreIdentity {
  return { kind: o.kind, library: { file: o.library.file, sha256: o.library.sha256, rows: o.library.ids.length }, model: o.model, featurizer: o.featurizer, dim: o.dim, normalized: o.normalized };
}

/** Opens the stage-1 store of a library: the exact in-memory matrix or the LanceDB store (see the top of this file). */
export async function openStage1(o: OpenStage1Options): Promise<Stage1Index> {
  const choice = o.store ?? 'auto';
  if (choice !== 'auto' && choice !== 'exact' && choice !== 'lance') throw new StoreError(`store must be auto, exact or lance, got ${JSON.stringify(choice)}`);
  const dir = indexDir(o), N = o.library.ids.length;
  const built = choice === 'exact' ? null : readLanceManifest(dir);
  const store: StoreKind = choice !== 'auto' ? choice : built ? 'lance' : defaultStore(N);
  if (!built && !o.build && choice !== 'exact' && existsSync(join(dir, 'lance-shards', 'plan.json'))) {
    throw new StoreError(`${dir} holds a sharded LanceDB build of ${o.library.file} that is not merged yet: when every \`orma index --shard i/S\` job has finished, run \`orma index --library ${o.library.file} --out ${o.root} --store lance --merge --model ${o.model.dir}\` (--store exact searches the chunk files instead, embedding any that are missing)`);
  }
  if (store === 'exact') return openIndex(o);
  const want = identity(o);
  if (built && !o.build) return lanceIndex(await LanceStore.open(dir, want, o.annSearch), dir, openTokens(o, dir));
  if (built && (o.ann === undefined || o.ann === 'auto' || o.ann === (built.ann?.type ?? 'none'))) {
    try {
      const { tokens } = await ensureChunks(o);   // the chunks exist: this only builds a missing token cache
      return lanceIndex(await LanceStore.open(dir, want, o.annSearch), dir, tokens);   // already built: reuse it
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      o.progress?.write(`lance ${o.kind}: rebuilding the store: ${err.message}\n`);
    }
  }
  if (!o.build) {
    const others = storesOfLibrary(o.root, o.kind, o.library.sha256).filter((x) => x.dir !== dir);
    const other = others.length ? ` ${o.root} holds a LanceDB store of this library built with another model (${others[0]!.manifest.model.dir}, fingerprint ${others[0]!.manifest.model.fingerprint.slice(0, 12)}); stores are per model.` : '';
    const why = choice === 'auto' ? ` (the library has ${N} rows; from ${EXACT_MAX_ROWS} the default store is LanceDB; --store exact keeps the in-memory one)` : '';
    throw new StoreError(`no LanceDB store of ${o.library.file} for this model under ${o.root}${why}.${other} Build it with \`orma index --library ${o.library.file} --out ${o.root} --store lance --model ${o.model.dir}\``);
  }
  const { dir: d, manifest, tokens } = await ensureChunks(o);
  const searchable = N - manifest.invalid.length;
  const ann = annParams(o.ann ?? 'auto', searchable, o.dim, o.normalized);
  const progress = new Progress({ label: `lance ${o.kind}`, total: searchable, unit: 'rows', stream: o.progress ?? null });
  let last = 0;
  await writeLanceStore({
    dir: d, identity: want, dtype: 'float32', batches: chunkBatches(d, manifest), invalid: manifest.invalid, ann,
    onBatch: (n) => { progress.tick(n - last); last = n; },
    onIndex: (p) => {
      progress.finish();
      o.progress?.write(`lance ${o.kind}: training the ${p.type} index (${p.numPartitions} partitions) on ${searchable} vectors, about ${formatDuration(estimateIndexSeconds(p, searchable, o.dim))} on 2 cores\n`);
    },
  });
  if (!ann) progress.finish();
  return lanceIndex(await LanceStore.open(d, want, o.annSearch), d, tokens, manifest.seconds ?? 0);
}

function lanceIndex(s: LanceStore, dir: string, tokens: TokenCache | null, embedSeconds = 0): Stage1Index {
  const m = s.manifest;
  return {
    store: 'lance', dir, kind: m.kind, rows: m.library.rows, searchable: m.rows, invalid: m.invalid, dim: m.dim, dtype: m.dtype,
    ann: m.ann, seconds: embedSeconds + m.seconds.write + m.seconds.index, tokens,
    topK: (query, k, o = {}) => s.topK(query, k, o),
    dispose: () => { s.close(); tokens?.close(); },
  };
}
