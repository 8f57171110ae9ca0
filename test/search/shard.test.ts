// Sharded LanceDB builds (src/search/shard.ts): shards built one after the other, at once in one process,
// and as two concurrent `orma index --shard` processes give the same store as an unsharded build; a shard
// resumes after a failure and after a kill between its append and its progress file without duplicating
// rows; an unmerged or unfinished build is a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  indexShard, LanceStore, mergeShards, OrmaSearch, parseShard, readLanceManifest, shardChunks, StoreError, SHARDS_DIR,
  type MoleculeHit, type ShardOptions, type StoreIdentity,
} from '../../src/search/index.js';
import { DEFAULT_FEATURIZER } from '../../src/model/factory.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(ROOT, 'test/fixtures/models/tiny');
const MOLECULES = join(ROOT, 'test/fixtures/search/molecules.tsv');
const TEXTS = join(ROOT, 'test/fixtures/search/texts.tsv');
const QUERIES = ['The molecule is the (2S)-enantiomer of ethyl lactate.', 'An aromatic amine with a role as a dye.', 'The molecule is a steroid ester.', 'a carboxylic acid anion'];
const orma = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/orma.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 180_000 });
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/);

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'orma-shard-test-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const load = (indexDir: string, extra: Record<string, unknown> = {}) => OrmaSearch.load({ model: MODEL, molecules: MOLECULES, texts: TEXTS, indexDir, lazy: true, ...extra });

/** The same answers from two searches: stage-1 top-k rows and scores, reranked hits, a substructure subset, similar molecules. */
async function sameAnswers(a: OrmaSearch, b: OrmaSearch): Promise<void> {
  const [ai, bi] = [await a.moleculeIndex(), await b.moleculeIndex()];
  assert.equal(ai.searchable, bi.searchable);
  for (const text of QUERIES) {
    const [q] = a.embedTexts([text]);
    const [x, y] = [await ai.topK(q!, 30), await bi.topK(q!, 30)];
    assert.deepEqual(y.rows, x.rows, text);
    y.scores.forEach((s, i) => assert.ok(Math.abs(s - x.scores[i]!) < 1e-5, `${s} vs ${x.scores[i]}`));
    const [g, h] = [await a.searchMolecules(text, { k: 5 }), await b.searchMolecules(text, { k: 5 })];
    assert.deepEqual(h.map((z: MoleculeHit) => [z.id, z.score]), g.map((z: MoleculeHit) => [z.id, z.score]));
  }
  const sub = { k: 50, rerank: 0, substructure: 'C(=O)O' };
  assert.deepEqual((await b.searchMolecules('an ester', sub)).map((h) => h.id), (await a.searchMolecules('an ester', sub)).map((h) => h.id));
  assert.deepEqual((await b.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 4 })).map((h) => h.id), (await a.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 4 })).map((h) => h.id));
}

test('shard ranges: contiguous, covering every chunk once; i/S parsed strictly', () => {
  for (const [C, S] of [[8, 3], [1, 4], [49_000, 64], [5, 5]] as const) {
    const ranges = Array.from({ length: S }, (_, i) => shardChunks(C, { index: i, count: S }));
    assert.equal(ranges[0]!.from, 0);
    assert.equal(ranges[S - 1]!.to, C);
    for (let i = 1; i < S; i++) assert.equal(ranges[i]!.from, ranges[i - 1]!.to);
  }
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0']) assert.throws(() => parseShard(bad), StoreError, bad);
});

test('3 shards one after the other, then --merge: the same answers as an unsharded LanceDB store and the exact store', async () => {
  const unsharded = join(dir, 'unsharded'), sharded = join(dir, 'sharded');
  const u = await load(unsharded, { store: 'lance', buildStore: true, chunkRows: 16 });
  await u.moleculeIndex();
  const s = await load(sharded, { chunkRows: 16 });
  const results = [];
  for (const i of [2, 0, 1]) results.push(await s.indexShard('molecules', { index: i, count: 3 }, { appendRows: 20 }));
  assert.deepEqual(results.map((r) => r.chunks), [{ from: 5, to: 8 }, { from: 0, to: 2 }, { from: 2, to: 5 }], '122 rows = 8 chunks of 16');
  assert.equal(results.reduce((a, r) => a + r.rows, 0), 121, 'every searchable row appended once');
  assert.equal(results.reduce((a, r) => a + r.invalid, 0), 1);
  // not merged yet: a search says so and names the command (never a silent half store)
  await assert.rejects(s.moleculeIndex(), (err: unknown) => err instanceof StoreError && /sharded LanceDB build of .* not merged yet/.test(err.message) && /orma index --library .* --store lance --merge/.test(err.message));
  const merged = await s.mergeShards('molecules');
  assert.equal(merged.store, 'lance');
  const m = readLanceManifest(merged.dir)!;
  assert.deepEqual([m.version, m.shards, m.rows, m.table, m.order], [2, 3, 121, `${SHARDS_DIR}/db`, `${SHARDS_DIR}/order.bin`]);
  assert.deepEqual(m.invalid.map((x) => x.id), ['bad1']);
  const exact = await load(sharded, { store: 'exact' });   // the shards' chunk files are a complete exact index
  const again = await load(sharded);                        // a fresh load finds the merged store
  assert.equal((await again.moleculeIndex()).store, 'lance');
  try {
    await sameAnswers(u, s);
    await sameAnswers(u, again);
    await sameAnswers(exact, again);
  } finally {
    for (const x of [u, s, exact, again]) x.close();
  }
  // running a finished shard again does nothing; merging again gives the same store
  const t = await load(sharded);
  assert.equal((await t.indexShard('molecules', { index: 1, count: 3 })).appended, 0);
  await assert.rejects(t.indexShard('molecules', { index: 0, count: 2 }), /has 3 shards, not 2: run its shards as --shard i\/3/);
  await t.mergeShards('molecules');
  t.close();
});

// ---- synthetic shards: failures, resuming, concurrency --------------------------------------------------------------

const D = 8, N0 = 100;
function vectorOf(row: number): Float32Array {
  const v = Float32Array.from({ length: D }, (_, d) => Math.sin(row * 1.7 + d * 0.9) + (d === row % D ? 1 : 0));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
function synthetic(root: string, shard: { index: number; count: number }, o: { failAt?: number; log?: number[]; appendRows?: number; rows?: number } = {}): ShardOptions {
  const N = o.rows ?? N0;
  return {
    root, kind: 'molecules', library: { file: 'synthetic.smi', sha256: N === N0 ? 'syn' : `syn-${N}`, ids: Array.from({ length: N }, (_, i) => `m${i}`) }, model: { dir: 'model', fingerprint: 'fp' },
    featurizer: DEFAULT_FEATURIZER, dim: D, normalized: true, chunkRows: 10, shard, appendRows: o.appendRows ?? 10,
    embed: (start, end) => {
      if (o.failAt !== undefined && start <= o.failAt && o.failAt < end) throw new Error(`embedding failed at row ${o.failAt}`);
      o.log?.push(start);
      const out = new Float32Array((end - start) * D);
      for (let r = start; r < end; r++) out.set(vectorOf(r), (r - start) * D);
      return { vectors: out, invalid: start <= 42 && 42 < end ? [{ row: 42, reason: 'bad' }] : [] };
    },
  };
}
const ident = (N: number): StoreIdentity => ({ kind: 'molecules', library: { file: 'synthetic.smi', sha256: N === N0 ? 'syn' : `syn-${N}`, rows: N }, model: { dir: 'model', fingerprint: 'fp' }, featurizer: DEFAULT_FEATURIZER, dim: D, normalized: true });

async function checkStore(root: string, o: { rows?: number; ann?: 'none' | 'ivf_hnsw_sq' } = {}): Promise<void> {
  const N = o.rows ?? N0;
  const m = await mergeShards({ ...synthetic(root, { index: 0, count: 1 }, { rows: N }), ann: o.ann ?? 'none' });
  assert.equal(m.rows, N - 1);
  assert.equal(m.ann?.type ?? 'none', o.ann ?? 'none');
  const store = await LanceStore.open(join(root, readdirName(root)), ident(N));
  try {
    let found = 0;
    for (const q of [3, 42, 77]) {
      const query = vectorOf(q);
      const brute = Array.from({ length: N }, (_, r) => r).filter((r) => r !== 42).map((r) => ({ r, s: vectorOf(r).reduce((a, x, d) => a + x * query[d]!, 0) }))
        .sort((a, b) => b.s - a.s || a.r - b.r).slice(0, 7).map((x) => x.r);
      assert.deepEqual((await store.topK(query, 7, { flat: true })).rows, brute, `query ${q}`);
      found += (await store.topK(query, 7)).rows.filter((r) => brute.includes(r)).length;
      const subset = Int32Array.from([5, 42, 60, 61, 99]);
      assert.deepEqual((await store.topK(query, 10, { subset })).rows.sort((a, b) => a - b), [5, 60, 61, 99], 'the exact rescoring reads the right rows');
    }
    assert.ok(found >= 19, `the ANN index finds ${found} of 21`);
  } finally {
    store.close();
  }
}
const readdirName = (root: string) => readdirSync(root).find((n) => n.startsWith('molecules-'))!;

test('a shard resumes after a failure and after a kill between its append and its progress file, without duplicates', async () => {
  const root = join(dir, 'syn-resume');
  await assert.rejects(indexShard(synthetic(root, { index: 1, count: 2 }, { failAt: 73 })), /embedding failed at row 73/);   // chunks 5, 6 appended, 7 failed
  const progressFile = join(root, readdirName(root), SHARDS_DIR, 'shard-1-of-2.json');
  const p = JSON.parse(readFileSync(progressFile, 'utf8')) as { appendedTo: number; rows: number };
  assert.deepEqual([p.appendedTo, p.rows], [7, 20]);
  const log: number[] = [];
  const r = await indexShard(synthetic(root, { index: 1, count: 2 }, { log }));
  assert.deepEqual(log, [70, 80, 90], 'only the missing chunks are embedded');
  assert.equal(r.rows, 50);
  // shard 0 is killed after its last append committed but before its progress file recorded it
  await indexShard(synthetic(root, { index: 0, count: 2 }));
  const p0File = join(root, readdirName(root), SHARDS_DIR, 'shard-0-of-2.json');
  const p0 = JSON.parse(readFileSync(p0File, 'utf8'));
  writeFileSync(p0File, JSON.stringify({ ...p0, appendedTo: 3, rows: 30, complete: false, invalid: [] }));
  const log0: number[] = [];
  const r0 = await indexShard(synthetic(root, { index: 0, count: 2 }, { log: log0 }));
  assert.deepEqual(log0, [], 'nothing embedded again');
  assert.equal(r0.appended, 0, 'the committed chunks are found in the table, not appended twice');
  assert.equal(r0.rows, 49);
  await checkStore(root);
  assert.equal((await indexShard(synthetic(root, { index: 0, count: 2 }))).appended, 0, 'after the merge a shard has nothing to do');
});

test('shards at once (one process, interleaved appends) give the same store', async () => {
  const root = join(dir, 'syn-concurrent');
  const shards = await Promise.all([0, 1, 2, 3].map((i) => indexShard(synthetic(root, { index: i, count: 4 }, { appendRows: 1 }))));
  assert.equal(shards.reduce((a, r) => a + r.rows, 0), N0 - 1);
  await checkStore(root);
});

test('the ANN index is trained once, by the merge, on the whole table', async () => {
  const root = join(dir, 'syn-ann');
  await Promise.all([0, 1].map((i) => indexShard(synthetic(root, { index: i, count: 2 }, { rows: 400, appendRows: 50 }))));
  await checkStore(root, { rows: 400, ann: 'ivf_hnsw_sq' });
});

test('merge: an unfinished build names the shards to run; another model\'s build does not fit', async () => {
  const root = join(dir, 'syn-unfinished');
  await indexShard(synthetic(root, { index: 2, count: 3 }));
  await assert.rejects(mergeShards(synthetic(root, { index: 0, count: 1 })), (err: unknown) => err instanceof StoreError
    && /not finished: shard 0\/3: not run; shard 1\/3: not run\. Run `orma index --library synthetic\.smi --out .* --store lance --shard i\/3`/.test(err.message));
  await assert.rejects(mergeShards({ ...synthetic(root, { index: 0, count: 1 }), dim: D, model: { dir: 'other', fingerprint: 'fp2' } }), /no sharded build/);
  await assert.rejects(indexShard({ ...synthetic(root, { index: 0, count: 3 }), chunkRows: 20 }), /uses chunks of 10 rows, not 20/);
});

test('CLI: two concurrent `orma index --shard` processes and --merge give the unsharded answers', async () => {
  const root = join(dir, 'cli');
  const run = (i: number) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin/orma.js'), 'index', '--library', MOLECULES, '--out', root, '--model', MODEL, '--store', 'lance', '--shard', `${i}/2`, '--chunk-rows', '16'], { cwd: ROOT });
    let stdout = '', stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const results = await Promise.all([run(0), run(1)]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const out = results.map((r) => JSON.parse(r.stdout) as { shard: string; rows: number; chunks: { from: number; to: number } });
  assert.deepEqual(out.map((o) => [o.shard, o.chunks]), [['0/2', { from: 0, to: 4 }], ['1/2', { from: 4, to: 8 }]]);
  assert.equal(out[0]!.rows + out[1]!.rows, 121);
  let r = orma(['search', 'ethyl lactate', '--library', MOLECULES, '--index', root, '--model', MODEL, '--json']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not merged yet/);
  noStack(r.stderr);
  r = orma(['index', '--library', MOLECULES, '--out', root, '--model', MODEL, '--store', 'lance', '--merge']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual({ ...JSON.parse(r.stdout), dir: undefined, seconds: undefined }, { dir: undefined, seconds: undefined, kind: 'molecules', store: 'lance', rows: 122, searchable: 121, invalid: 1, dim: 32, dtype: 'float32', ann: 'none' });
  r = orma(['search', 'ethyl lactate', '--library', MOLECULES, '--index', root, '--model', MODEL, '--json', '--k', '5']);
  assert.equal(r.status, 0, r.stderr);
  const viaShards = JSON.parse(r.stdout) as MoleculeHit[];
  const u = await load(join(dir, 'cli-unsharded'), { store: 'exact' });
  try {
    const want = await u.searchMolecules('ethyl lactate', { k: 5 });
    assert.deepEqual(viaShards.map((h) => h.id), want.map((h) => h.id));
    viaShards.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-3));
  } finally {
    u.close();
  }
  r = orma(['index', '--library', MOLECULES, '--out', root, '--model', MODEL, '--shard', '0/2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /add --store lance/);
});
