// The LanceDB stage-1 store (src/search/lance.ts, store.ts openStage1): `orma index --store lance` and
// `orma search --library` end to end on the tiny fixture model, flat LanceDB results equal to the exact
// store's, the ANN index's recall on a clustered set, atomic writes, and the errors for a store built with
// another model, a missing one and corrupt ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  annParams, LanceStore, OrmaSearch, readLanceManifest, StoreError, writeLanceStore, defaultStore, EXACT_MAX_ROWS,
  type MoleculeHit, type StoreIdentity, type VectorBatch, type AnnType,
} from '../../src/search/index.js';
import { DEFAULT_FEATURIZER } from '../../src/model/factory.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(ROOT, 'test/fixtures/models/tiny');
const MOLECULES = join(ROOT, 'test/fixtures/search/molecules.tsv');
const TEXTS = join(ROOT, 'test/fixtures/search/texts.tsv');
const QUERIES = ['The molecule is the (2S)-enantiomer of ethyl lactate.', 'An aromatic amine with a role as a dye.', 'The molecule is a steroid ester.', 'a carboxylic acid anion'];

const orma = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/orma.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
/** No JavaScript stack trace in a CLI error. */
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/);

let dir: string, indexOut: Record<string, unknown>, cliHits: MoleculeHit[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orma-lance-test-'));
  // embeds the fixture library once (the chunk files every test below shares) and builds its LanceDB store
  const r = orma(['index', '--library', MOLECULES, '--out', dir, '--model', MODEL, '--store', 'lance']);
  assert.equal(r.status, 0, r.stderr);
  indexOut = JSON.parse(r.stdout) as Record<string, unknown>;
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('store rule: exact below EXACT_MAX_ROWS, LanceDB from there', () => {
  assert.equal(defaultStore(33_010), 'exact');
  assert.equal(defaultStore(EXACT_MAX_ROWS - 1), 'exact');
  assert.equal(defaultStore(EXACT_MAX_ROWS), 'lance');
  assert.equal(annParams('auto', 1000, 256, true), null, 'a small store is flat');
  assert.equal(annParams('auto', 1_000_000, 256, true)?.type, 'ivf_hnsw_sq');
  assert.equal(annParams('auto', 1_000_000, 256, false)?.type, 'ivf_pq', 'HNSW is searched with l2: unit vectors only');
  assert.throws(() => annParams('ivf_pq', 100, 256, true), StoreError);
});

test('CLI: orma index --store lance, then orma search --library uses it (same hits as the exact store)', () => {
  assert.deepEqual({ ...indexOut, dir: undefined, seconds: undefined }, { dir: undefined, seconds: undefined, kind: 'molecules', store: 'lance', rows: 122, searchable: 121, invalid: 1, dim: 32, dtype: 'float32', ann: 'none' });
  const store = String(indexOut.dir);
  const m = readLanceManifest(store)!;
  assert.equal(m.rows, 121);
  assert.deepEqual(m.invalid.map((x) => x.id), ['bad1']);
  assert.ok(existsSync(join(store, m.table, 'vectors.lance')));
  assert.deepEqual(readdirSync(store).filter((f) => f.includes('.tmp')), [], 'no temp folder left');
  const lance = orma(['search', 'ethyl lactate', '--library', MOLECULES, '--index', dir, '--model', MODEL, '--k', '5', '--json']);
  assert.equal(lance.status, 0, lance.stderr);
  cliHits = JSON.parse(lance.stdout) as MoleculeHit[];
  assert.equal(cliHits.length, 5);
  for (const h of cliHits) assert.equal(h.score, h.grains.fused, 'stage 2 ran');
});

test('API: flat LanceDB top-k equals the exact store (molecules, a substructure subset, texts, similar molecules)', async () => {
  const common = { model: MODEL, molecules: MOLECULES, texts: TEXTS, indexDir: dir, lazy: true };
  const exact = await OrmaSearch.load({ ...common, store: 'exact' });
  const lance = await OrmaSearch.load({ ...common, store: 'lance', buildStore: true });   // builds the text store
  try {
    const [ei, li] = [await exact.moleculeIndex(), await lance.moleculeIndex()];
    assert.equal(ei.store, 'exact');
    assert.equal(li.store, 'lance');
    assert.equal(li.searchable, ei.searchable);
    for (const text of QUERIES) {
      const [q] = exact.embedTexts([text]);
      const [x, y] = [await ei.topK(q!, 20), await li.topK(q!, 20)];
      assert.deepEqual(y.rows, x.rows, text);
      y.scores.forEach((s, i) => assert.ok(Math.abs(s - x.scores[i]!) < 1e-5, `${s} vs ${x.scores[i]}`));
      const [g, h] = [await exact.searchMolecules(text, { k: 5, rerank: 0 }), await lance.searchMolecules(text, { k: 5, rerank: 0 })];
      assert.deepEqual(h.map((z) => z.id), g.map((z) => z.id));
    }
    // the CLI's answer through the LanceDB store (stage 2 included) is the exact store's answer
    const viaExact = await exact.searchMolecules('ethyl lactate', { k: 5 });
    assert.deepEqual(cliHits.map((h) => h.id), viaExact.map((h) => h.id));
    cliHits.forEach((h, i) => assert.ok(Math.abs(h.score - viaExact[i]!.score) < 1e-3, `${h.score} vs ${viaExact[i]!.score}`));
    const sub = { k: 50, rerank: 0, substructure: 'C(=O)O' };
    const [s1, s2] = [await exact.searchMolecules('an ester', sub), await lance.searchMolecules('an ester', sub)];
    assert.ok(s1.length > 5);
    assert.deepEqual(s2.map((h) => h.id), s1.map((h) => h.id));
    const [t1, t2] = [await exact.searchTexts('CCOC(=O)[C@H](C)O', { k: 6, rerank: 10 }), await lance.searchTexts('CCOC(=O)[C@H](C)O', { k: 6, rerank: 10 })];
    assert.equal((await lance.textIndex()).store, 'lance');
    assert.deepEqual(t2.map((h) => h.id), t1.map((h) => h.id));
    const [m1, m2] = [await exact.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 3 }), await lance.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 3 })];
    assert.deepEqual(m2.map((h) => h.id), m1.map((h) => h.id));
    assert.equal(m2[0]!.id, '92831');
  } finally {
    exact.close();
    lance.close();
  }
});

// ---- synthetic stores ------------------------------------------------------------------------------------

/** mulberry32 and Box-Muller: seeded normal numbers. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296; };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** n unit vectors around `clusters` centres (spread 0.6 of the centre's norm), float32, row-major. */
function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const g = gaussian(seed), centres = Float32Array.from({ length: clusters * dim }, g), v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    let norm = 0, cn = 0;
    for (let d = 0; d < dim; d++) cn += centres[c * dim + d]! ** 2;
    for (let d = 0; d < dim; d++) { const x = centres[c * dim + d]! / Math.sqrt(cn) + (0.6 * g()) / Math.sqrt(dim); v[i * dim + d] = x; norm += x * x; }
    for (let d = 0; d < dim; d++) v[i * dim + d]! /= Math.sqrt(norm);
  }
  return v;
}

const ident = (fingerprint: string, rows: number, dim: number): StoreIdentity => ({
  kind: 'molecules', library: { file: 'synthetic.tsv', sha256: 'lib-sha', rows }, model: { dir: `model-${fingerprint}`, fingerprint }, featurizer: DEFAULT_FEATURIZER, dim, normalized: true,
});

function batchesOf(v: Float32Array, dim: number, size = 700): VectorBatch[] {
  const n = v.length / dim, out: VectorBatch[] = [];
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    out.push({ rows: Int32Array.from({ length: e - s }, (_, i) => s + i), vectors: v.subarray(s * dim, e * dim) });
  }
  return out;
}

function bruteTop(v: Float32Array, dim: number, q: Float32Array, k: number): number[] {
  const n = v.length / dim, s = new Float64Array(n);
  for (let i = 0; i < n; i++) { let a = 0; for (let d = 0; d < dim; d++) a += v[i * dim + d]! * q[d]!; s[i] = a; }
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, k);
}

for (const type of ['ivf_pq', 'ivf_hnsw_sq'] as AnnType[]) {
  test(`ANN (${type}): recall@10 on a clustered set above 0.9 with the default search settings`, async () => {
    const N = 2000, D = 32, v = clustered(N, D, 20, 7), queries = clustered(30, D, 20, 99);
    const sdir = join(dir, `ann-${type}`);
    const want = ident('A', N, D);
    const params = annParams(type, N, D, true)!;
    await writeLanceStore({ dir: sdir, identity: want, dtype: 'float32', batches: batchesOf(v, D), invalid: [], ann: params });
    const store = await LanceStore.open(sdir, want);
    try {
      assert.equal(store.manifest.ann?.type, type);
      let found = 0;
      for (let q = 0; q < 30; q++) {
        const qv = queries.subarray(q * D, (q + 1) * D);
        const truth = new Set(bruteTop(v, D, qv, 10));
        const got = await store.topK(qv, 10);
        assert.equal(got.rows.length, 10);
        for (let i = 1; i < 10; i++) assert.ok(got.scores[i - 1]! >= got.scores[i]!, 'sorted');
        found += got.rows.filter((r) => truth.has(r)).length;
        const flat = await store.topK(qv, 10, { flat: true });
        assert.deepEqual(flat.rows, [...truth], 'flat is exact');
      }
      const recall = found / 300;
      assert.ok(recall > 0.9, `recall@10 ${recall}`);
    } finally {
      store.close();
    }
  });
}

test('writes are atomic: a failed build leaves the old store in use and no temp folder', async () => {
  const D = 8, v = clustered(300, D, 4, 3), sdir = join(dir, 'atomic');
  const want = ident('A', 300, D);
  await writeLanceStore({ dir: sdir, identity: want, dtype: 'float32', batches: batchesOf(v, D, 100), invalid: [], ann: null });
  const before = readLanceManifest(sdir)!;
  mkdirSync(join(sdir, '.lance-999999999-abcdef.tmp'));   // a build folder of a process that is gone
  function* failing(): Generator<VectorBatch> {
    yield batchesOf(v, D, 100)[0]!;
    throw new Error('embedding failed mid-way');
  }
  await assert.rejects(writeLanceStore({ dir: sdir, identity: want, dtype: 'float32', batches: failing(), invalid: [], ann: null }), /embedding failed mid-way/);
  assert.deepEqual(readLanceManifest(sdir), before);
  const s = await LanceStore.open(sdir, want);
  assert.equal((await s.topK(v.subarray(0, D), 1)).rows[0], 0);
  s.close();
  // the next successful build replaces it and sweeps the dead build folder and the old table
  await writeLanceStore({ dir: sdir, identity: want, dtype: 'float32', batches: batchesOf(v, D, 100), invalid: [], ann: null });
  const names = readdirSync(sdir).sort();
  assert.equal(names.length, 2, names.join(' '));
  assert.notEqual(readLanceManifest(sdir)!.table, before.table);
});

test('errors: another model, another library, missing and corrupt stores are StoreErrors naming the problem', async () => {
  const D = 8, v = clustered(300, D, 4, 5), sdir = join(dir, 'errors');
  const want = ident('A', 300, D);
  const write = () => writeLanceStore({ dir: sdir, identity: want, dtype: 'float16', batches: batchesOf(v, D, 100).map((b) => ({ rows: b.rows, vectors: toHalf(b.vectors as Float32Array) })), invalid: [], ann: null });
  await write();
  const fails = async (w: StoreIdentity, ...patterns: RegExp[]) => {
    await assert.rejects(LanceStore.open(sdir, w), (err: unknown) => {
      assert.ok(err instanceof StoreError, String(err));
      assert.equal(err.field, 'index');
      for (const p of patterns) assert.match(err.message, p);
      return true;
    });
  };
  await fails(ident('B', 300, D), /built with another model \(model-A, fingerprint A\), not the one searching \(model-B/);
  await fails({ ...want, library: { ...want.library, sha256: 'other' } }, /another library/);
  await fails(ident('A', 300, 16), /8-dim unit vectors, the model makes 16-dim/);
  await fails({ ...want, library: { ...want.library, rows: 301 } }, /another library/);
  const m = readLanceManifest(sdir)!;
  const manifestPath = join(sdir, 'lance.json'), saved = readFileSync(manifestPath, 'utf8');
  // corrupt manifest
  writeFileSync(manifestPath, '{"format": "orma-lance-st');
  await fails(want, /manifest is corrupt/);
  writeFileSync(manifestPath, JSON.stringify({ ...m, rows: 299 }));
  await fails(want, /is corrupt: the table has 300 rows, the manifest 299/);
  writeFileSync(manifestPath, JSON.stringify({ ...m, ann: annParams('ivf_pq', 300, D, true) }));
  await fails(want, /is corrupt: the manifest names an ivf_pq index, the table has none/);
  writeFileSync(manifestPath, saved);
  // a truncated data file
  const data = join(sdir, m.table, 'vectors.lance', 'data');
  const file = join(data, readdirSync(data)[0]!);
  const copy = join(dir, 'data-copy.lance');
  copyFileSync(file, copy);
  truncateSync(file, 100);
  await assert.rejects(async () => { const s = await LanceStore.open(sdir, want); try { await s.topK(v.subarray(0, D), 3, { flat: true }); } finally { s.close(); } },
    (err: unknown) => err instanceof StoreError && /LanceDB store in .* (is corrupt|could not be read)/.test(err.message));
  copyFileSync(copy, file);
  // the table folder is gone
  rmSync(join(sdir, m.table), { recursive: true });
  await fails(want, /missing its table/);
  rmSync(manifestPath);
  await fails(want, /no LanceDB store here/);
});

test('search side: a store of this library built with another model is a clear error, never a silent rebuild (API and CLI)', async () => {
  // the same fixture model with one weight changed: another fingerprint, so another index folder
  const other = join(dir, 'other-model');
  mkdirSync(other);
  for (const f of ['config.json', 'vocab.txt']) copyFileSync(join(MODEL, f), join(other, f));
  const w = readFileSync(join(MODEL, 'model.safetensors'));
  w[w.length - 1] = w[w.length - 1]! ^ 1;
  writeFileSync(join(other, 'model.safetensors'), w);
  const s = await OrmaSearch.load({ model: other, molecules: MOLECULES, texts: TEXTS, indexDir: dir, lazy: true, store: 'lance' });
  try {
    await assert.rejects(s.moleculeIndex(), (err: unknown) => err instanceof StoreError
      && /no LanceDB store of .*molecules\.tsv for this model/.test(err.message)
      && /holds a LanceDB store of this library built with another model \(.*tiny, fingerprint [0-9a-f]{12}\)/.test(err.message)
      && /orma index --library .* --store lance/.test(err.message));
  } finally {
    s.close();
  }
  const r = orma(['search', 'x', '--library', MOLECULES, '--index', dir, '--model', other, '--store', 'lance', '--rerank', '0']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^orma search: no LanceDB store of .* built with another model/m);
  noStack(r.stderr);
  // a corrupt store through the CLI: exit 1, one message
  const store = String(indexOut.dir), manifestPath = join(store, 'lance.json'), saved = readFileSync(manifestPath, 'utf8');
  writeFileSync(manifestPath, 'not json');
  try {
    const c = orma(['search', 'x', '--library', MOLECULES, '--index', dir, '--model', MODEL, '--rerank', '0']);
    assert.equal(c.status, 1, c.stderr);
    assert.match(c.stderr, /manifest is corrupt/);
    noStack(c.stderr);
  } finally {
    writeFileSync(manifestPath, saved);
  }
});

/** float32 → IEEE half bits (round to nearest even), for the float16 store. */
function toHalf(v: Float32Array): Uint16Array {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer), out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    f[0] = v[i]!;
    const x = u[0]!, sign = (x >>> 16) & 0x8000, e = ((x >>> 23) & 0xff) - 127 + 15, m = x & 0x7fffff;
    if (e <= 0) { out[i] = sign; continue; }   // tiny values flush to zero: fine for unit vectors' components here
    let h = (e << 10) | (m >>> 13);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
  }
  return out;
}
