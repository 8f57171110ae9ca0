// Sharded indexing into one LanceDB store (docs/scale.md): S jobs, possibly at once and on machines that
// share the index folder, each embed a contiguous range of the library's chunks and append them to one
// LanceDB table; a final merge step checks that every shard finished, compacts the table, records where
// each library row landed, trains the ANN index once and writes lance.json, which is when searches see it.
//   orma index --library F --out DIR --store lance --shard i/S     (0 ≤ i < S; any order, concurrently)
//   orma index --library F --out DIR --store lance --merge [--ann A]
// Shard i of S gets chunks [⌊i·C/S⌋, ⌊(i+1)·C/S⌋) of the C chunks of `chunkRows` library rows (2048 by
// default): contiguous ranges, so its chunk files are the unsharded index's own (store.ts) and a shard
// resumes exactly like an unsharded build, at its first missing chunk.
// Layout, in the index folder:
//   lance-shards/plan.json             the build: identity (model, library, featurizer, dim), S, chunkRows
//   lance-shards/db/vectors.lance      the shared table (row int32, vector float32[dim]), created once:
//                                      built in a temp folder and renamed into place, so two shards starting
//                                      at once cannot both create it (Lance does not retry a concurrent create)
//   lance-shards/shard-i-of-S.json     shard i's progress: the chunks it has appended (a prefix of its range)
//   lance-shards/order.bin             written by the merge: each library row's table offset (int32 LE)
// Concurrency: Lance commits are optimistic; two appends never conflict, and a commit that loses the race
// is retried on top of the winner (on a local or shared POSIX file system the commit is an atomic
// rename-if-absent of the manifest; object stores need conditional writes or a commit lock, not covered
// here). Each append is one commit of at least `appendRows` rows (whole chunks), recorded in the shard's
// progress file after it commits; a job killed between the two finds, on its next run, that the table
// already holds whole chunks past its progress (a count of its rows in the table) and records them.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type * as LanceDB from '@lancedb/lancedb';
import { writeFileAtomic } from '../util/fs.js';
import { Progress, formatDuration } from '../util/progress.js';
import {
  annParams, estimateIndexSeconds, identityMismatch, indexConfig, lanceModules, LANCE_FORMAT, LANCE_MANIFEST, LANCE_SHARDED_VERSION, LANCE_TABLE, META_KEY,
  reason, recordBatch, schemaOf, StoreError, sweep, widenHalf, type AnnChoice, type LanceManifest, type StoreIdentity, type VectorBatch,
} from './lance.js';
import { chunkComplete, chunkName, DEFAULT_CHUNK_ROWS, indexDir, INDEX_FORMAT, INDEX_VERSION, readIndexManifest, toStored, type IndexManifest, type OpenIndexOptions, type StoreDtype } from './store.js';

export const SHARDS_DIR = 'lance-shards', SHARDS_FORMAT = 'orma-lance-shards', SHARDS_VERSION = 1;
/** Rows per append (commit) to the shared table: whole chunks, at least this many (the last one of a shard fewer). */
export const APPEND_ROWS = 65_536;

export interface ShardSpec { index: number; count: number }

/** "i/S" (0-based i < S) as a ShardSpec; anything else is a StoreError naming the expected form. */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const spec = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!spec || spec.count < 1 || spec.index >= spec.count) throw new StoreError(`--shard must be i/S with 0 ≤ i < S (for example 0/4), got '${text}'`);
  return spec;
}

/** The chunks [from, to) shard `s` embeds out of `chunks`. */
export function shardChunks(chunks: number, s: ShardSpec): { from: number; to: number } {
  return { from: Math.floor((s.index * chunks) / s.count), to: Math.floor(((s.index + 1) * chunks) / s.count) };
}

interface ShardPlan {
  format: typeof SHARDS_FORMAT;
  version: number;
  identity: StoreIdentity;
  shards: number;
  chunkRows: number;
  dtype: StoreDtype;
  created: string;
}

export interface ShardProgress {
  format: typeof SHARDS_FORMAT;
  version: number;
  shard: number;
  shards: number;
  /** The shard's chunks [from, to); those before `appendedTo` are in the table. */
  from: number;
  to: number;
  appendedTo: number;
  /** Rows it appended, and the rows of its chunks that could not be embedded. */
  rows: number;
  invalid: { row: number; id: string; reason: string }[];
  complete: boolean;
  seconds: { embed: number; append: number };
}

export interface ShardOptions extends OpenIndexOptions {
  shard: ShardSpec;
  /** Rows per append (default APPEND_ROWS). */
  appendRows?: number;
}

export interface ShardResult {
  dir: string;
  shard: ShardSpec;
  chunks: { from: number; to: number };
  /** Rows this shard has in the table, and its rows that could not be embedded. */
  rows: number;
  invalid: number;
  /** Rows embedded and appended by this run (0 when the shard was already complete). */
  embedded: number;
  appended: number;
  seconds: { embed: number; append: number };
}

const planPath = (dir: string) => join(dir, SHARDS_DIR, 'plan.json');
const progressPath = (dir: string, s: ShardSpec) => join(dir, SHARDS_DIR, `shard-${s.index}-of-${s.count}.json`);
const dbPath = (dir: string) => join(dir, SHARDS_DIR, 'db');

function identityOf(o: OpenIndexOptions): StoreIdentity {
  return { kind: o.kind, library: { file: o.library.file, sha256: o.library.sha256, rows: o.library.ids.length }, model: o.model, featurizer: o.featurizer, dim: o.dim, normalized: o.normalized };
}

function readJson<T>(path: string, what: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new StoreError(`${path}: the ${what} is corrupt (${reason(err)}); remove it to start that part over`);
  }
}

/** The sharded build's plan in an index folder, or null. */
export function readShardPlan(dir: string): ShardPlan | null {
  const p = readJson<ShardPlan>(planPath(dir), 'sharded build plan');
  if (p && (p.format !== SHARDS_FORMAT || p.version !== SHARDS_VERSION)) throw new StoreError(`${planPath(dir)}: not a sharded build plan of this orma (format ${JSON.stringify(p.format)}, version ${p.version}); remove ${join(dir, SHARDS_DIR)} and run the shards again`);
  return p;
}

function checkPlan(dir: string, p: ShardPlan, want: StoreIdentity, shards: number | null, chunkRows: number | undefined, dtype: StoreDtype): void {
  const restart = `remove ${join(dir, SHARDS_DIR)} to start a new sharded build`;
  const why = identityMismatch(p.identity, want);
  if (why) throw new StoreError(`the sharded build in ${dir} does not fit: ${why}; ${restart}`);
  if (shards !== null && p.shards !== shards) throw new StoreError(`the sharded build in ${dir} has ${p.shards} shards, not ${shards}: run its shards as --shard i/${p.shards}, or ${restart}`);
  if (chunkRows !== undefined && p.chunkRows !== chunkRows) throw new StoreError(`the sharded build in ${dir} uses chunks of ${p.chunkRows} rows, not ${chunkRows}: leave --chunk-rows out (or give ${p.chunkRows}), or ${restart}`);
  if (p.dtype !== dtype) throw new StoreError(`the sharded build in ${dir} stores ${p.dtype} chunks, not ${dtype}: give --dtype ${p.dtype}, or ${restart}`);
}

/** Removes build folders of shard jobs that are gone. */
function sweepTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^\.lance-shards-(\d+)-[0-9a-f]+\.tmp$/.exec(name);
    if (!m) continue;
    let alive = Number(m[1]) === process.pid;
    if (!alive) { try { process.kill(Number(m[1]), 0); alive = true; } catch { alive = false; } }
    if (!alive) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** The plan of the sharded build in `dir`, creating it (and the empty shared table) when there is none. */
async function ensurePlan(dir: string, want: StoreIdentity, shards: number, chunkRows: number | undefined, dtype: StoreDtype): Promise<ShardPlan> {
  const existing = readShardPlan(dir);
  if (existing) {
    checkPlan(dir, existing, want, shards, chunkRows, dtype);
    return existing;
  }
  sweepTemps(dir);
  const { lancedb, arrow } = lanceModules();
  const plan: ShardPlan = { format: SHARDS_FORMAT, version: SHARDS_VERSION, identity: want, shards, chunkRows: chunkRows ?? readIndexManifest(dir)?.chunkRows ?? DEFAULT_CHUNK_ROWS, dtype, created: new Date().toISOString() };
  const tmp = join(dir, `.lance-shards-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(tmp, { recursive: true });
    const schema = schemaOf(arrow, want.dim, 'float32', { [META_KEY]: JSON.stringify({ format: LANCE_FORMAT, model: want.model.fingerprint, library: want.library.sha256, kind: want.kind, dim: want.dim, normalized: want.normalized }) });
    const db = await lancedb.connect(join(tmp, 'db'));
    (await db.createEmptyTable(LANCE_TABLE, schema, { mode: 'create' })).close();
    db.close();
    writeFileAtomic(join(tmp, 'plan.json'), JSON.stringify(plan, null, 2) + '\n');
    renameSync(tmp, join(dir, SHARDS_DIR));   // fails if another shard got there first: use its plan
    return plan;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const theirs = readShardPlan(dir);
    if (!theirs) throw err;
    checkPlan(dir, theirs, want, shards, chunkRows, dtype);
    return theirs;
  }
}

/** The searchable rows of chunk i (its invalid rows left out) read back from its files, widened to float32. */
function chunkBatch(dir: string, i: number, o: { rows: number; chunkRows: number; dim: number; dtype: StoreDtype }): VectorBatch & { invalid: { row: number; reason: string }[] } {
  const meta = JSON.parse(readFileSync(join(dir, chunkName(i) + '.json'), 'utf8')) as { invalid: { row: number; reason: string }[] };
  let buf: Uint8Array = readFileSync(join(dir, chunkName(i) + '.bin'));
  if (buf.byteOffset % 4 !== 0) buf = new Uint8Array(buf);
  const D = o.dim, all = o.dtype === 'float16' ? widenHalf(new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2)) : new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const bad = new Set(meta.invalid.map((x) => x.row));
  const start = i * o.chunkRows, n = Math.min(o.chunkRows, o.rows - start);
  const rows: number[] = [];
  for (let j = 0; j < n; j++) if (!bad.has(start + j)) rows.push(start + j);
  const vectors = new Float32Array(rows.length * D);
  rows.forEach((row, k) => vectors.set(all.subarray((row - start) * D, (row - start + 1) * D), k * D));
  return { rows: Int32Array.from(rows), vectors, invalid: meta.invalid };
}

/**
 * Runs shard `o.shard` of a sharded LanceDB build: embeds its chunks that are missing (resumable, as
 * `orma index`) and appends them to the shared table. Safe to run at the same time as the other shards.
 */
export async function indexShard(o: ShardOptions): Promise<ShardResult> {
  const s = o.shard;
  if (!Number.isInteger(s.index) || !Number.isInteger(s.count) || s.count < 1 || s.index < 0 || s.index >= s.count) throw new StoreError(`shard must be i/S with 0 ≤ i < S, got ${s.index}/${s.count}`);
  const dir = indexDir(o), dtype = o.dtype ?? 'float16';
  mkdirSync(dir, { recursive: true });
  const want = identityOf(o);
  const plan = await ensurePlan(dir, want, s.count, o.chunkRows, dtype);
  const N = o.library.ids.length, D = o.dim, R = plan.chunkRows, C = Math.ceil(N / R);
  const geometry = { rows: N, chunkRows: R, dim: D, dtype };
  const { from, to } = shardChunks(C, s);
  const rowsOf = (a: number, b: number) => Math.max(0, Math.min(N, b * R) - a * R);
  let p = readJson<ShardProgress>(progressPath(dir, s), `progress file of shard ${s.index}/${s.count}`);
  if (p && (p.format !== SHARDS_FORMAT || p.from !== from || p.to !== to)) throw new StoreError(`${progressPath(dir, s)} does not belong to this build (chunks ${p.from}-${p.to}, expected ${from}-${to}); remove it to run the shard again`);
  p ??= { format: SHARDS_FORMAT, version: SHARDS_VERSION, shard: s.index, shards: s.count, from, to, appendedTo: from, rows: 0, invalid: [], complete: false, seconds: { embed: 0, append: 0 } };
  const result = (embedded: number, appended: number): ShardResult => ({ dir, shard: s, chunks: { from, to }, rows: p!.rows, invalid: p!.invalid.length, embedded, appended, seconds: p!.seconds });
  if (p.complete) return result(0, 0);
  const save = () => writeFileAtomic(progressPath(dir, s), JSON.stringify(p, null, 2) + '\n');
  const { lancedb, arrow } = lanceModules();
  const db = await lancedb.connect(dbPath(dir));
  let table: LanceDB.Table;
  try {
    table = await db.openTable(LANCE_TABLE);
  } catch (err) {
    db.close();
    throw new StoreError(`the shared table of the sharded build in ${dir} cannot be opened (${reason(err)}); remove ${join(dir, SHARDS_DIR)} and run every shard again`);
  }
  const schema = await table.schema();
  try {
    // rows of this shard already in the table past its progress: an append that committed before the job
    // could record it. Appends are whole chunks in order, so they are the chunks [appendedTo, y).
    if (p.appendedTo < to) {
      await table.checkoutLatest();
      const there = await table.countRows(`row >= ${p.appendedTo * R} AND row < ${Math.min(N, to * R)}`);
      if (there > 0) {
        let y = p.appendedTo, sum = 0;
        while (y < to && sum < there && chunkComplete(dir, y, geometry)) { sum += chunkBatch(dir, y, geometry).rows.length; y++; }
        if (sum !== there) throw new StoreError(`the shared table in ${dir} holds ${there} rows of shard ${s.index}/${s.count} past its progress file, which are not whole chunks; remove ${join(dir, SHARDS_DIR)} and run every shard again`);
        p.rows += there;
        p.appendedTo = y;
        save();
      }
    }
    const todo = Array.from({ length: to - p.appendedTo }, (_, j) => p!.appendedTo + j);
    const missing = todo.filter((i) => !chunkComplete(dir, i, geometry));
    const progress = missing.length ? new Progress({ label: `index ${o.kind} shard ${s.index}/${s.count}`, total: missing.reduce((n, i) => n + rowsOf(i, i + 1), 0), unit: o.kind, stream: o.progress ?? null }) : null;
    let embedded = 0, appended = 0, pending: number[] = [], pendingRows = 0;
    const appendRows = o.appendRows ?? APPEND_ROWS;
    for (const i of todo) {
      if (!chunkComplete(dir, i, geometry)) {
        const t0 = performance.now();
        const start = i * R, end = Math.min(N, start + R);
        const r = o.embed(start, end);
        writeFileAtomic(join(dir, chunkName(i) + '.bin'), toStored(r.vectors, end - start, D, dtype));
        writeFileAtomic(join(dir, chunkName(i) + '.json'), JSON.stringify({ rows: end - start, invalid: r.invalid }) + '\n');
        p.seconds.embed += (performance.now() - t0) / 1000;
        embedded += end - start;
        progress?.tick(end - start);
        await new Promise((res) => setImmediate(res));
      }
      pending.push(i);
      pendingRows += rowsOf(i, i + 1);
      if (pendingRows < appendRows && i !== to - 1) continue;
      // one commit for the pending chunks, then the progress file
      const t1 = performance.now();
      const parts = pending.map((c) => chunkBatch(dir, c, geometry));
      const n = parts.reduce((a, b) => a + b.rows.length, 0);
      if (n > 0) {
        const rows = new Int32Array(n), vectors = new Float32Array(n * D);
        let at = 0;
        for (const b of parts) { rows.set(b.rows, at); vectors.set(b.vectors, at * D); at += b.rows.length; }
        try {
          await table.add(new arrow.Table([recordBatch(arrow, schema, D, { rows, vectors })]));
        } catch (err) {
          throw new StoreError(`shard ${s.index}/${s.count}: appending chunks ${pending[0]}-${pending[pending.length - 1]} to the shared table in ${dir} failed (${reason(err)}); run the shard again to resume`);
        }
      }
      p.rows += n;
      p.appendedTo = i + 1;
      p.seconds.append += (performance.now() - t1) / 1000;
      appended += n;
      save();
      pending = [];
      pendingRows = 0;
    }
    progress?.finish();
    const invalid: ShardProgress['invalid'] = [];
    for (let i = from; i < to; i++) for (const x of chunkBatch(dir, i, geometry).invalid) invalid.push({ row: x.row, id: o.library.ids[x.row]!, reason: x.reason });
    p = { ...p, invalid, complete: true };
    save();
    return result(embedded, appended);
  } finally {
    table.close();
    db.close();
  }
}

/** What each shard of the build in `dir` has done (for messages and `orma index --merge`). */
export function shardStatus(dir: string): { plan: ShardPlan; shards: (ShardProgress | null)[] } | null {
  const plan = readShardPlan(dir);
  if (!plan) return null;
  const shards = Array.from({ length: plan.shards }, (_, i) => readJson<ShardProgress>(progressPath(dir, { index: i, count: plan.shards }), `progress file of shard ${i}/${plan.shards}`));
  return { plan, shards };
}

export interface MergeOptions extends OpenIndexOptions {
  ann?: AnnChoice;
}

/**
 * The merge step of a sharded build: checks that every shard completed and that the table holds each
 * searchable library row once, compacts the table, records each row's table offset, trains the ANN index,
 * then writes lance.json (and the index manifest), atomically. Searches use the store from then on.
 */
export async function mergeShards(o: MergeOptions): Promise<LanceManifest> {
  const dir = indexDir(o), want = identityOf(o), dtype = o.dtype ?? 'float16';
  const status = shardStatus(dir);
  if (!status) throw new StoreError(`no sharded build of ${o.library.file} for this model in ${dir}: run \`orma index --library ${o.library.file} --out ${join(dir, '..')} --store lance --shard i/S\` for every i first`);
  const { plan } = status;
  checkPlan(dir, plan, want, null, o.chunkRows, dtype);
  const S = plan.shards;
  const todo = status.shards.map((p, i) => (p?.complete ? null : `shard ${i}/${S}: ${p ? `incomplete (${p.appendedTo - p.from} of ${p.to - p.from} chunks appended)` : 'not run'}`)).filter((x) => x !== null);
  if (todo.length) throw new StoreError(`the sharded build in ${dir} is not finished: ${todo.join('; ')}. Run \`orma index --library ${o.library.file} --out ${join(dir, '..')} --store lance --shard i/${S}\` for those, then --merge again`);
  const N = o.library.ids.length, R = plan.chunkRows, C = Math.ceil(N / R);
  const geometry = { rows: N, chunkRows: R, dim: o.dim, dtype };
  for (let i = 0; i < C; i++) if (!chunkComplete(dir, i, geometry)) throw new StoreError(`the sharded build in ${dir}: chunk ${i} is missing although its shard says it is complete; remove ${progressPath(dir, { index: status.shards.findIndex((p) => p && i >= p.from && i < p.to), count: S })} and run that shard again`);
  const invalid = status.shards.flatMap((p) => p!.invalid).sort((a, b) => a.row - b.row);
  const searchable = N - invalid.length;
  const { lancedb } = lanceModules();
  const db = await lancedb.connect(dbPath(dir));
  const table = await db.openTable(LANCE_TABLE);
  let tIndex = 0;
  const ann = annParams(o.ann ?? 'auto', searchable, o.dim, o.normalized);
  try {
    const counted = await table.countRows();
    if (counted !== searchable) throw new StoreError(`the shared table in ${dir} has ${counted} rows, the shards embedded ${searchable}; remove ${join(dir, SHARDS_DIR)} and run every shard again`);
    await table.optimize({ cleanupOlderThan: new Date() });   // one compaction of the many appends
    // where each row landed: the row column in table-offset order
    const order = new Int32Array(N).fill(-1);
    const BLOCK = 65_536;
    for (let start = 0; start < counted; start += BLOCK) {
      const offsets = Array.from({ length: Math.min(BLOCK, counted - start) }, (_, j) => start + j);
      const t = await table.takeOffsets(offsets).select(['row']).toArrow();   // returned in offset order
      const rows = t.getChild('row')!.toArray() as Int32Array;
      if (rows.length !== offsets.length) throw new StoreError(`the shared table in ${dir} returned ${rows.length} rows for ${offsets.length} offsets`);
      rows.forEach((row, j) => {
        if (row < 0 || row >= N || order[row] !== -1) throw new StoreError(`the shared table in ${dir} holds library row ${row} ${row < 0 || row >= N ? 'which is not in the library' : 'twice'}; remove ${join(dir, SHARDS_DIR)} and run every shard again`);
        order[row] = start + j;
      });
    }
    writeFileAtomic(join(dir, SHARDS_DIR, 'order.bin'), new Uint8Array(order.buffer));
    if (ann) {
      o.progress?.write(`lance ${o.kind}: training the ${ann.type} index (${ann.numPartitions} partitions) on ${searchable} vectors, about ${formatDuration(estimateIndexSeconds(ann, searchable, o.dim))} on 2 cores\n`);
      const t1 = performance.now();
      await table.createIndex('vector', { config: indexConfig(lancedb, ann), replace: true });
      tIndex = (performance.now() - t1) / 1000;
    }
  } finally {
    table.close();
    db.close();
  }
  const seconds = status.shards.reduce((a, p) => ({ embed: a.embed + p!.seconds.embed, append: a.append + p!.seconds.append }), { embed: 0, append: 0 });
  const manifest: IndexManifest = {
    format: INDEX_FORMAT, version: INDEX_VERSION, ...want, dtype, chunkRows: R, complete: true, invalid, seconds: +seconds.embed.toFixed(3),
    ...(readIndexManifest(dir)?.tokens ? { tokens: readIndexManifest(dir)!.tokens } : {}),
  };
  writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const lance: LanceManifest = {
    format: LANCE_FORMAT, version: LANCE_SHARDED_VERSION, table: `${SHARDS_DIR}/db`, ...want, dtype: 'float32', rows: searchable, invalid, ann,
    seconds: { write: +seconds.append.toFixed(3), index: +tIndex.toFixed(3) }, created: new Date().toISOString(), order: `${SHARDS_DIR}/order.bin`, shards: S,
  };
  writeFileAtomic(join(dir, LANCE_MANIFEST), JSON.stringify(lance, null, 2) + '\n');
  sweep(dir, null);   // tables of earlier unsharded builds of this index folder, no longer named
  return lance;
}
