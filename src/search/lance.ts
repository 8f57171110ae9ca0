// The LanceDB stage-1 store: a library's vectors in a LanceDB table on disk (or, for the shared store of
// docs/scale.md, object storage), searched exactly (a flat scan) or through an ANN index (IVF_PQ or
// IVF_HNSW_SQ), for libraries too large to keep as one in-memory matrix. Layout, beside the chunk files
// of the index folder (store.ts):
//   <index>/lance.json        what the store holds (model, library, featurizer, dim, rows, ANN index) and
//                             which table folder is current; written last, atomically
//   <index>/lance-<id>/       the LanceDB database with one table, `vectors` (row int32, vector
//                             FixedSizeList<float32>[dim]: the float16 chunk values, widened exactly); its
//                             schema metadata repeats the model fingerprint and the library digest, so a
//                             table copied elsewhere still says what it was built from
// float32, not float16, on disk: LanceDB 0.31 trains its k-means (IVF and PQ) on a float16 column with a
// scalar half-precision distance (89% of an IVF_PQ build's time in `f16 as L2` under perf, and a
// 20,000-vector build did not finish in 25 minutes on our loaded 2-core machine), and on float32 with SIMD.
// A build writes <index>/.lance-<pid>-<id>.tmp/, renames it to lance-<id>/ and only then writes lance.json,
// so a reader sees the old store or the new one, never a half-written one. Every problem opening or
// reading a store (missing, corrupt, another model, another library) is a StoreError naming the folder.
//
// @lancedb/lancedb and apache-arrow are loaded on first use (the native module is large) and through
// require(), so that both see the same apache-arrow instance (its ESM and CJS builds are distinct).
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type * as LanceDB from '@lancedb/lancedb';
import type * as ArrowNS from 'apache-arrow';
import { writeFileAtomic } from '../util/fs.js';
import { SearchError } from './errors.js';
import type { FeaturizerConfig } from '../model/factory.js';

export const LANCE_FORMAT = 'orma-lance-store', LANCE_VERSION = 1;
/** Version 2: a store whose table rows are not in library order (a sharded build, shard.ts): lance.json names an `order` file. */
export const LANCE_SHARDED_VERSION = 2;
export const LANCE_MANIFEST = 'lance.json', LANCE_TABLE = 'vectors';
export type AnnType = 'ivf_pq' | 'ivf_hnsw_sq';
export type AnnChoice = 'auto' | 'none' | AnnType;
export type VectorDtype = 'float16' | 'float32';

/** A store problem: missing, corrupt, or built from another model or library. */
export class StoreError extends SearchError {
  constructor(message: string) {
    super(message, 'index');
    this.name = 'StoreError';
  }
}

// ---- choosing the ANN index -------------------------------------------------------------------------
// Below ANN_MIN_ROWS a LanceDB store gets no ANN index: its flat scan is exact, and an index trained on a
// few thousand vectors (IVF k-means, PQ codebooks of 256 centroids per sub-vector) is poor and not faster.
// IVF_HNSW_SQ is the default index type, by measurement (`orma bench store --size 20000`, 2-core EPYC,
// docs/scale.md): recall@10 0.969 at its default search settings (0.995 with ef 200) against IVF_PQ's
// 0.70 (0.89 with 16 probes and a refine factor of 10) on the same clustered vectors, and a quarter of
// IVF_PQ's build time. IVF_PQ stays for what HNSW cannot do: vectors that are not unit length (HNSW is
// searched with l2), and libraries whose HNSW index (~380 B a vector: 8-bit scalar codes and the graph)
// does not fit in memory, such as the 100M-molecule store of docs/scale.md (IVF_PQ: 32 B a vector).
// HNSW is searched with the l2 metric: on unit vectors l2² = 2 − 2·dot, the same order, and LanceDB's
// HNSW with the dot metric measured a recall@10 of 0.14 on 2,000 vectors where l2 gave 0.98.
export const ANN_MIN_ROWS = 50_000;
export const DEFAULT_ANN: AnnType = 'ivf_hnsw_sq';

export interface AnnParams {
  type: AnnType;
  /** Distance the index was trained with: 'l2' for unit vectors (same order as dot), 'dot' otherwise. */
  metric: 'l2' | 'dot';
  numPartitions: number;
  /** IVF_PQ: sub-vectors (dim / 8: 8 dimensions per 8-bit code). */
  numSubVectors?: number;
  /** IVF_HNSW_SQ: graph degree and construction beam. */
  m?: number;
  efConstruction?: number;
  maxIterations: number;
  sampleRate: number;
}

/** Search-time settings of the ANN index (defaults from the measurement; see docs/scale.md). */
export interface AnnSearch {
  /** IVF partitions probed (IVF_PQ default: 1/8 of them, at least 8; IVF_HNSW_SQ: all). */
  nprobes?: number;
  /** Candidates re-scored with the stored vectors, as a multiple of k (default 10 for IVF_PQ, 4 for IVF_HNSW_SQ; at least 1). */
  refineFactor?: number;
  /** IVF_HNSW_SQ beam width (default 64, at least k). */
  ef?: number;
  /** Ignore the ANN index: an exact flat scan. */
  flat?: boolean;
}

/**
 * A rough time to train an ANN index on 2 cores (for progress lines): its multiply-adds at the rates the
 * 20,000-vector run of `orma bench store` measured (IVF_PQ's k-means and codebooks ~1.1 G/s per core,
 * HNSW inserts ~1.3 G/s per core).
 */
export function estimateIndexSeconds(p: AnnParams, rows: number, dim: number): number {
  if (p.type === 'ivf_pq') {
    const macs = Math.min(rows, p.sampleRate * p.numPartitions) * p.numPartitions * dim * p.maxIterations + rows * p.numPartitions * dim
      + Math.min(rows, 65_536) * 256 * dim * 20 + rows * 256 * dim;
    return macs / 2.2e9;
  }
  const perGraph = Math.ceil(rows / p.numPartitions);
  return (rows * (p.efConstruction ?? 150) * (p.m ?? 16) * dim * 0.5 * Math.max(1, Math.log2(perGraph / 1000)) / Math.log2(20)) / 2.6e9;
}

/** The search settings used when none are given (from the 20,000-vector measurement, docs/scale.md). */
export function defaultAnnSearch(p: AnnParams, k: number): Required<Omit<AnnSearch, 'flat'>> {
  return p.type === 'ivf_pq'
    ? { nprobes: Math.min(p.numPartitions, Math.max(8, Math.ceil(p.numPartitions / 8))), refineFactor: 10, ef: k }
    : { nprobes: p.numPartitions, refineFactor: 4, ef: Math.max(k, 64) };
}

/** The index an ANN choice builds for `rows` vectors of `dim` dimensions, or null for none. */
export function annParams(choice: AnnChoice, rows: number, dim: number, normalized: boolean): AnnParams | null {
  const type = choice === 'auto' ? (rows < ANN_MIN_ROWS ? null : normalized ? DEFAULT_ANN : 'ivf_pq') : choice === 'none' ? null : choice;
  if (type === null) return null;
  if (rows < 256) throw new StoreError(`an ${type} index needs at least 256 vectors to train, the library has ${rows}: use --ann none (a flat, exact scan)`);
  if (type === 'ivf_hnsw_sq' && !normalized) throw new StoreError('IVF_HNSW_SQ is searched with the l2 metric, which orders like the dot product only for unit vectors; this model\'s vectors are not normalised: use ivf_pq');
  const metric = normalized ? 'l2' : 'dot';
  if (type === 'ivf_pq') {
    // sqrt(N)/4 partitions (LanceDB's default is sqrt(N); k-means costs sampleRate·P²·dim per iteration,
    // so this trains 16× faster: ~4,000 vectors a partition at 1M), and ≥ 256 training vectors each
    const numPartitions = Math.max(1, Math.min(Math.round(Math.sqrt(rows) / 4), Math.floor(rows / 256)));
    const numSubVectors = dim % 8 === 0 ? dim / 8 : 1;
    return { type, metric, numPartitions, numSubVectors, maxIterations: 20, sampleRate: 256 };
  }
  // one HNSW graph per ~250k vectors bounds the memory of building one graph
  return { type, metric, numPartitions: Math.max(1, Math.ceil(rows / 250_000)), m: 16, efConstruction: 150, maxIterations: 20, sampleRate: 256 };
}

// ---- the manifest -----------------------------------------------------------------------------------

/** What a store must match to be used: the model, library and featurizer the caller searches with. */
export interface StoreIdentity {
  kind: 'molecules' | 'texts';
  library: { file: string; sha256: string; rows: number };
  model: { dir: string; fingerprint: string };
  featurizer: FeaturizerConfig;
  dim: number;
  normalized: boolean;
}

export interface LanceManifest extends StoreIdentity {
  format: typeof LANCE_FORMAT;
  version: number;
  /** The current table folder, relative to the index folder. */
  table: string;
  dtype: VectorDtype;
  /** Rows in the table (the library's searchable rows). */
  rows: number;
  /** Library rows that could not be embedded, so are not in the table. */
  invalid: { row: number; id: string; reason: string }[];
  ann: AnnParams | null;
  seconds: { write: number; index: number };
  created: string;
  /**
   * Sharded builds (version 2): the file, relative to the index folder, holding each library row's table
   * offset (int32 LE, -1 for rows not in the table), and how many shards wrote the table.
   */
  order?: string;
  shards?: number;
}

export const META_KEY = 'orma.store';

// ---- modules ----------------------------------------------------------------------------------------

interface Modules { lancedb: typeof LanceDB; arrow: typeof ArrowNS }
let modules: Modules | null = null;

/** @lancedb/lancedb and the apache-arrow instance it uses (LanceDB's warnings off unless LANCEDB_LOG is set). */
export function lanceModules(): Modules {
  if (!modules) {
    process.env.LANCEDB_LOG ??= 'error';
    const req = createRequire(import.meta.url);
    modules = { lancedb: req('@lancedb/lancedb') as typeof LanceDB, arrow: req('apache-arrow') as typeof ArrowNS };
  }
  return modules;
}

/** The first line of an error's message (LanceDB's messages carry Rust source locations after it). */
export function reason(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]!.replace(/,\s*\/[^\s]*\.rs:\d+:\d+$/, '').slice(0, 400);
}

// ---- writing ----------------------------------------------------------------------------------------

/** One batch of table rows: library row numbers and their vectors (float16 bits or float32), row-major. */
export interface VectorBatch { rows: Int32Array; vectors: Uint16Array | Float32Array }

export interface WriteStoreOptions {
  /** The index folder (lance.json and the table folder go there). */
  dir: string;
  identity: StoreIdentity;
  dtype: VectorDtype;
  batches: AsyncIterable<VectorBatch> | Iterable<VectorBatch>;
  /** Library rows left out (not embeddable); recorded in lance.json. */
  invalid: LanceManifest['invalid'];
  ann: AnnParams | null;
  /** Called after each batch is written (rows so far), and with a message before the index is trained. */
  onBatch?: (rowsWritten: number) => void;
  onIndex?: (params: AnnParams) => void;
}

export function schemaOf(arrow: typeof ArrowNS, dim: number, dtype: VectorDtype, meta: Record<string, string>): ArrowNS.Schema {
  const item = dtype === 'float16' ? new arrow.Float16() : new arrow.Float32();
  const vec = new arrow.FixedSizeList(dim, new arrow.Field('item', item, true));
  return new arrow.Schema([new arrow.Field('row', new arrow.Int32(), false), new arrow.Field('vector', vec, false)], new Map(Object.entries(meta)));
}

export function recordBatch(arrow: typeof ArrowNS, schema: ArrowNS.Schema, dim: number, b: VectorBatch): ArrowNS.RecordBatch {
  const n = b.rows.length;
  if (b.vectors.length !== n * dim) throw new Error(`lance store: a batch of ${n} rows has ${b.vectors.length} values, expected ${n * dim}`);
  const vecType = schema.fields[1]!.type as ArrowNS.FixedSizeList;
  const itemType = vecType.children[0]!.type as ArrowNS.Float16 | ArrowNS.Float32;
  const values = itemType instanceof arrow.Float32 && b.vectors instanceof Uint16Array ? widenHalf(b.vectors) : b.vectors;
  if (itemType instanceof arrow.Float16 && !(values instanceof Uint16Array)) throw new Error('lance store: a float16 table takes float16 bits (Uint16Array)');
  const child = arrow.makeData({ type: itemType, length: n * dim, nullCount: 0, data: values as never });
  const vector = arrow.makeData({ type: vecType, length: n, nullCount: 0, child });
  const row = arrow.makeData({ type: new arrow.Int32(), length: n, nullCount: 0, data: b.rows });
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children: [row, vector] });
  return new arrow.RecordBatch(schema, struct);
}

export function indexConfig(lancedb: typeof LanceDB, p: AnnParams): LanceDB.Index {
  if (p.type === 'ivf_pq') {
    return lancedb.Index.ivfPq({ numPartitions: p.numPartitions, numSubVectors: p.numSubVectors, distanceType: p.metric, maxIterations: p.maxIterations, sampleRate: p.sampleRate });
  }
  return lancedb.Index.hnswSq({ numPartitions: p.numPartitions, m: p.m, efConstruction: p.efConstruction, distanceType: p.metric, maxIterations: p.maxIterations, sampleRate: p.sampleRate });
}

/** Removes build folders of processes that are gone and table folders lance.json no longer names. */
export function sweep(dir: string, keep: string | null): void {
  for (const name of readdirSync(dir)) {
    const tmp = /^\.lance-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (tmp) {
      let alive = Number(tmp[1]) === process.pid;
      if (!alive) { try { process.kill(Number(tmp[1]), 0); alive = true; } catch { alive = false; } }
      if (!alive) rmSync(join(dir, name), { recursive: true, force: true });
    } else if (/^lance-[0-9a-f]+$/.test(name) && name !== keep) {
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Writes a LanceDB store: the batches into a new table in a temp folder, the ANN index, then the rename and
 * lance.json (atomic). An existing store in `dir` stays in use until the new one is complete.
 */
export async function writeLanceStore(o: WriteStoreOptions): Promise<LanceManifest> {
  const { lancedb, arrow } = lanceModules();
  mkdirSync(o.dir, { recursive: true });
  const id = randomBytes(6).toString('hex');
  const tmp = join(o.dir, `.lance-${process.pid}-${id}.tmp`);
  const id0 = o.identity;
  const schema = schemaOf(arrow, id0.dim, o.dtype, { [META_KEY]: JSON.stringify({ format: LANCE_FORMAT, model: id0.model.fingerprint, library: id0.library.sha256, kind: id0.kind, dim: id0.dim, normalized: id0.normalized }) });
  let db: LanceDB.Connection | null = null, table: LanceDB.Table | null = null;
  const t0 = performance.now();
  let rows = 0, tIndex = 0;
  try {
    db = await lancedb.connect(tmp);
    table = await db.createEmptyTable(LANCE_TABLE, schema, { mode: 'create' });
    for await (const b of o.batches) {
      if (b.rows.length === 0) continue;
      await table.add(new arrow.Table([recordBatch(arrow, schema, id0.dim, b)]));
      rows += b.rows.length;
      o.onBatch?.(rows);
    }
    const tWrite = (performance.now() - t0) / 1000;
    if (o.ann) {
      o.onIndex?.(o.ann);
      const t1 = performance.now();
      await table.createIndex('vector', { config: indexConfig(lancedb, o.ann) });
      tIndex = (performance.now() - t1) / 1000;
    }
    const counted = await table.countRows();
    if (counted !== rows) throw new Error(`wrote ${rows} rows but the table counts ${counted}`);
    table.close(); table = null;
    db.close(); db = null;
    renameSync(tmp, join(o.dir, `lance-${id}`));
    const manifest: LanceManifest = {
      format: LANCE_FORMAT, version: LANCE_VERSION, table: `lance-${id}`, kind: id0.kind, library: id0.library, model: id0.model,
      featurizer: id0.featurizer, dim: id0.dim, dtype: o.dtype, normalized: id0.normalized, rows, invalid: o.invalid, ann: o.ann,
      seconds: { write: +tWrite.toFixed(3), index: +tIndex.toFixed(3) }, created: new Date().toISOString(),
    };
    writeFileAtomic(join(o.dir, LANCE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    sweep(o.dir, manifest.table);
    return manifest;
  } catch (err) {
    try { table?.close(); } catch { /* closing after a failure */ }
    try { db?.close(); } catch { /* closing after a failure */ }
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Trains (or replaces) the ANN index of an existing store in place and records it in lance.json; returns the
 * seconds it took and the index's bytes. For offline use (`orma bench store` compares index types on one
 * table): a reader that opened the store before keeps the manifest it read.
 */
export async function trainAnnIndex(dir: string, params: AnnParams): Promise<{ seconds: number; bytes: number | null }> {
  const m = readLanceManifest(dir);
  if (!m) throw new StoreError(`${dir}: no LanceDB store here`);
  const { lancedb } = lanceModules();
  const db = await lancedb.connect(join(dir, m.table));
  try {
    const table = await db.openTable(LANCE_TABLE);
    const t0 = performance.now();
    await table.createIndex('vector', { config: indexConfig(lancedb, params), replace: true });
    const seconds = (performance.now() - t0) / 1000;
    const stats = (await table.listIndices()).find((i) => i.columns.includes('vector')) as { sizeBytes?: number } | undefined;
    table.close();
    writeFileAtomic(join(dir, LANCE_MANIFEST), JSON.stringify({ ...m, ann: params, seconds: { ...m.seconds, index: +seconds.toFixed(3) } }, null, 2) + '\n');
    return { seconds, bytes: typeof stats?.sizeBytes === 'number' ? stats.sizeBytes : null };
  } finally {
    db.close();
  }
}

// ---- reading ----------------------------------------------------------------------------------------

/** lance.json of an index folder, or null when there is none; a file that is not a store manifest is a StoreError. */
export function readLanceManifest(dir: string): LanceManifest | null {
  const path = join(dir, LANCE_MANIFEST);
  if (!existsSync(path)) return null;
  let m: LanceManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as LanceManifest;
  } catch (err) {
    throw new StoreError(`${path}: the LanceDB store manifest is corrupt (${reason(err)}); rebuild the store with \`orma index --store lance\` after removing ${dir}`);
  }
  if (m?.format !== LANCE_FORMAT || typeof m.table !== 'string' || typeof m.rows !== 'number' || !m.model?.fingerprint || !m.library?.sha256) {
    throw new StoreError(`${path}: not an orma LanceDB store manifest (format ${JSON.stringify(m?.format)}); rebuild the store with \`orma index --store lance\` after removing ${dir}`);
  }
  if (m.version !== LANCE_VERSION && m.version !== LANCE_SHARDED_VERSION) throw new StoreError(`${path}: LanceDB store version ${m.version}, this orma reads versions ${LANCE_VERSION} and ${LANCE_SHARDED_VERSION}: rebuild it with \`orma index --store lance\``);
  if (m.version === LANCE_SHARDED_VERSION && typeof m.order !== 'string') throw new StoreError(`${path}: a sharded LanceDB store manifest without its row order file; run \`orma index --merge\` again`);
  return m;
}

const short = (fp: string) => fp.slice(0, 12);

/** Why a store does not fit what the caller searches with, or null when it does. */
export function identityMismatch(m: StoreIdentity, want: StoreIdentity): string | null {
  if (m.model.fingerprint !== want.model.fingerprint) {
    return `it was built with another model (${m.model.dir}, fingerprint ${short(m.model.fingerprint)}), not the one searching (${want.model.dir}, fingerprint ${short(want.model.fingerprint)})`;
  }
  if (m.kind !== want.kind) return `it holds ${m.kind}, not ${want.kind}`;
  if (m.library.sha256 !== want.library.sha256 || m.library.rows !== want.library.rows) {
    return `it was built from another library (${m.library.file}, ${m.library.rows} rows, sha256 ${short(m.library.sha256)}), not ${want.library.file} (${want.library.rows} rows, sha256 ${short(want.library.sha256)})`;
  }
  if (JSON.stringify(m.featurizer) !== JSON.stringify(want.featurizer)) return `it was built with featurizer ${JSON.stringify(m.featurizer)}, the model uses ${JSON.stringify(want.featurizer)}`;
  if (m.dim !== want.dim || m.normalized !== want.normalized) return `it holds ${m.dim}-dim ${m.normalized ? 'unit' : 'raw'} vectors, the model makes ${want.dim}-dim ${want.normalized ? 'unit' : 'raw'} ones`;
  return null;
}

export interface TopRows {
  /** Library rows, best first (ties by row). */
  rows: number[];
  /** Dot products of the query with the stored vectors. */
  scores: number[];
}

/** An open LanceDB store. */
export class LanceStore {
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly manifest: LanceManifest,
    private readonly db: LanceDB.Connection,
    private readonly table: LanceDB.Table,
    /** Table offset of each library row, -1 for rows that are not in the table. */
    private readonly offsetOf: Int32Array,
    readonly search: AnnSearch,
  ) {}

  /**
   * Opens the store of an index folder and checks it against `want` (model, library, featurizer), the table's
   * schema, row count and ANN index. Throws StoreError when it is missing or does not fit.
   */
  static async open(dir: string, want: StoreIdentity, search: AnnSearch = {}): Promise<LanceStore> {
    const m = readLanceManifest(dir);
    if (!m) throw new StoreError(`${dir}: no LanceDB store here (no ${LANCE_MANIFEST}): build it with \`orma index --store lance\``);
    const why = identityMismatch(m, want);
    if (why) throw new StoreError(`the LanceDB store in ${dir} does not fit: ${why}. Build one for this model and library with \`orma index --library ${want.library.file} --store lance --model ${want.model.dir}\``);
    const path = join(dir, m.table);
    if (!existsSync(join(path, `${LANCE_TABLE}.lance`))) throw new StoreError(`${dir}: the LanceDB store is missing its table (${m.table}/${LANCE_TABLE}.lance); rebuild it with \`orma index --store lance\``);
    const corrupt = (what: string) => new StoreError(`the LanceDB store in ${dir} is corrupt: ${what}; rebuild it with \`orma index --store lance\` after removing ${join(dir, LANCE_MANIFEST)}`);
    const { lancedb } = lanceModules();
    let db: LanceDB.Connection | null = null, table: LanceDB.Table | null = null;
    try {
      db = await lancedb.connect(path);
      table = await db.openTable(LANCE_TABLE);
      const schema = await table.schema();
      const vec = schema.fields.find((f) => f.name === 'vector')?.type as ArrowNS.FixedSizeList | undefined;
      if (!vec || vec.listSize !== m.dim || !schema.fields.some((f) => f.name === 'row')) throw corrupt(`the table's schema is not (row, vector[${m.dim}])`);
      let meta: { model?: string; library?: string } = {};
      try { meta = JSON.parse(schema.metadata.get(META_KEY) ?? '{}'); } catch { /* checked below */ }
      if (meta.model !== m.model.fingerprint || meta.library !== m.library.sha256) throw corrupt(`the table was written for model ${short(String(meta.model))} and library ${short(String(meta.library))}, the manifest says ${short(m.model.fingerprint)} and ${short(m.library.sha256)}`);
      const counted = await table.countRows();
      if (counted !== m.rows) throw corrupt(`the table has ${counted} rows, the manifest ${m.rows}`);
      if (m.ann) {
        const indices = await table.listIndices();
        if (!indices.some((i) => i.columns.includes('vector'))) throw corrupt(`the manifest names an ${m.ann.type} index, the table has none`);
      }
      if (m.rows > 0) await table.takeOffsets([0, m.rows - 1]).select(['row']).toArray();   // reads a data page: a truncated file fails here
    } catch (err) {
      try { table?.close(); } catch { /* already failing */ }
      try { db?.close(); } catch { /* already failing */ }
      if (err instanceof StoreError) throw err;
      throw corrupt(reason(err));
    }
    const N = m.library.rows;
    let offsetOf: Int32Array = new Int32Array(N).fill(-1) as Int32Array;
    const bad = new Set((m.invalid ?? []).map((x) => x.row));
    let r = 0;
    for (let row = 0; row < N; row++) if (!bad.has(row)) offsetOf[row] = r++;
    let wrong = r !== m.rows ? `the library has ${r} searchable rows, the store ${m.rows}` : null;
    if (!wrong && m.order) {
      // a sharded table holds the rows in the order the shards appended them: the merge step recorded it
      const read = readOrder(join(dir, m.order), N, m.rows);
      if (typeof read === 'string') wrong = read;
      else if (read.some((off, row) => (off < 0) !== bad.has(row))) wrong = `${m.order} and the manifest's invalid rows disagree`;
      else offsetOf = read;
    }
    if (wrong) {
      table.close(); db.close();
      throw corrupt(wrong);
    }
    return new LanceStore(dir, m, db, table, offsetOf, search);
  }

  private fail(err: unknown): never {
    if (err instanceof StoreError || err instanceof SearchError) throw err;
    throw new StoreError(`the LanceDB store in ${this.dir} could not be read (corrupt?): ${reason(err)}`);
  }

  /** The k library rows with the largest dot product with `query`: flat (exact) or through the ANN index. */
  async topK(query: Float32Array, k: number, o: AnnSearch & { subset?: Int32Array } = {}): Promise<TopRows> {
    if (this.closed) throw new Error('LanceStore: used after close()');
    const m = this.manifest;
    if (query.length !== m.dim) throw new Error(`LanceStore: query has ${query.length} dims, the store ${m.dim}`);
    if (o.subset) return this.subsetTopK(query, k, o.subset);
    const kk = Math.min(k, m.rows);
    if (kk <= 0) return { rows: [], scores: [] };
    const s = { ...this.search, ...o };
    const ann = s.flat ? null : m.ann;
    let hits: { row: number }[];
    try {
      // a flat scan asks for a few more than k: LanceDB scores a float16 column with the query rounded to
      // float16, so the k-th place is settled by the exact rescoring below
      let q = this.table.vectorSearch(query).limit(ann ? kk : Math.min(m.rows, kk + 16)).select(['row']);
      if (!ann) q = q.distanceType('dot').bypassVectorIndex();
      else {
        const d = defaultAnnSearch(ann, kk);
        q = q.distanceType(ann.metric).refineFactor(Math.max(1, s.refineFactor ?? d.refineFactor));
        q = q.nprobes(Math.max(1, s.nprobes ?? d.nprobes));
        if (ann.type === 'ivf_hnsw_sq') q = q.ef(Math.max(kk, s.ef ?? d.ef));
      }
      hits = (await q.toArray()) as { row: number }[];
    } catch (err) {
      this.fail(err);
    }
    // scores: the exact float32 dot products with the stored vectors, as the exact store computes them
    return this.exactOver(query, kk, Int32Array.from(hits, (h) => h.row));
  }

  /** Exact top-k among the given library rows: their vectors are read from the table and scored here. */
  private async subsetTopK(query: Float32Array, k: number, subset: Int32Array): Promise<TopRows> {
    return this.exactOver(query, k, subset);
  }

  private async exactOver(query: Float32Array, k: number, libraryRows: Int32Array): Promise<TopRows> {
    const D = this.manifest.dim;
    const offsets: number[] = [];
    for (const row of libraryRows) { const off = this.offsetOf[row]; if (off !== undefined && off >= 0) offsets.push(off); }
    const best: { row: number; score: number }[] = [];
    const BLOCK = 16_384;
    for (let start = 0; start < offsets.length; start += BLOCK) {
      let t: ArrowNS.Table;
      try {
        t = await this.table.takeOffsets(offsets.slice(start, start + BLOCK)).select(['row', 'vector']).toArrow();
      } catch (err) {
        this.fail(err);
      }
      const rows = t.getChild('row')!.toArray() as Int32Array;
      let i = 0;
      for (const c of vectorChunks(t, D)) {
        for (let j = 0; j < c.n; j++, i++) {
          let dot = 0;
          const at = c.at + j * D;
          if (c.values instanceof Uint16Array) for (let d = 0; d < D; d++) dot += query[d]! * HALF[c.values[at + d]!]!;
          else for (let d = 0; d < D; d++) dot += query[d]! * c.values[at + d]!;
          best.push({ row: rows[i]!, score: Math.fround(dot) });
        }
      }
      best.sort((a, b) => b.score - a.score || a.row - b.row);
      best.length = Math.min(best.length, k);
    }
    return { rows: best.map((x) => x.row), scores: best.map((x) => x.score) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.table.close();
    this.db.close();
  }
}

/** A sharded store's row order file: each library row's table offset; a string says what is wrong with it. */
function readOrder(path: string, rows: number, tableRows: number): Int32Array | string {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch { return `its row order file ${path} is missing`; }
  if (buf.length !== rows * 4) return `its row order file has ${buf.length} bytes, expected ${rows * 4}`;
  const order = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const seen = new Uint8Array(tableRows);
  let n = 0;
  for (const off of order) {
    if (off < 0) continue;
    if (off >= tableRows || seen[off]) return `its row order file maps two rows to table offset ${off}, or past the table's ${tableRows} rows`;
    seen[off] = 1;
    n++;
  }
  return n === tableRows ? order : `its row order file places ${n} rows, the table has ${tableRows}`;
}

/** The chunks of an Arrow table's `vector` column: n vectors of D values from values[at]. */
function vectorChunks(t: ArrowNS.Table, D: number): { n: number; values: Uint16Array | Float32Array; at: number }[] {
  return t.getChild('vector')!.data.map((data) => {
    const child = data.children[0]!;
    return { n: data.length, values: child.values as Uint16Array | Float32Array, at: child.offset + data.offset * D };
  });
}

const HALF = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    t[h] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return t;
})();

/** IEEE 754 half (as its 16 bits) to a number. */
export function halfToFloat(h: number): number {
  return HALF[h]!;
}

/** float16 bits to float32 values (exact). */
export function widenHalf(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = HALF[h[i]!]!;
  return out;
}

/** Disk bytes under a folder. */
export function folderBytes(path: string): number {
  let total = 0;
  for (const name of readdirSync(path)) {
    const p = join(path, name), s = statSync(p);
    total += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return total;
}

/** Index folders under `root` holding a LanceDB store of the same library kind and digest (for error messages). */
export function storesOfLibrary(root: string, kind: 'molecules' | 'texts', sha256: string): { dir: string; manifest: LanceManifest }[] {
  if (!existsSync(root)) return [];
  const out: { dir: string; manifest: LanceManifest }[] = [];
  for (const name of readdirSync(root)) {
    if (!name.startsWith(`${kind}-`)) continue;
    try {
      const m = readLanceManifest(join(root, name));
      if (m && m.library.sha256 === sha256) out.push({ dir: join(root, name), manifest: m });
    } catch { /* a broken store elsewhere is not this one's problem */ }
  }
  return out;
}
