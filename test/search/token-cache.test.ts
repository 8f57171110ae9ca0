// The text index's token cache (src/search/token-cache.ts): stage 2 of searchTexts read from disk gives the
// encoding path's answer; the cache is built with the index, resumes after a failure, is added to an old
// index by `orma index` (and not by a search), and a damaged, foreign or old-format cache is a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  OrmaSearch, StoreError, TokenCache, openIndex, readMoleculeLibrary, readTextLibrary, tokenCacheBytes, type TextHit, type IndexManifest, type RecordSink,
} from '../../src/search/index.js';
import { packRecord } from '../../src/search/token-cache.js';
import { loadOrmaModel, DEFAULT_FEATURIZER } from '../../src/model/factory.js';
import { tokenize } from '../../src/search/embed.js';
import { liveTensorCount } from '../../src/tensor/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(ROOT, 'test/fixtures/models/tiny');
const MOLECULES = join(ROOT, 'test/fixtures/search/molecules.tsv');
const TEXTS = join(ROOT, 'test/fixtures/search/texts.tsv');
const QUERIES = readMoleculeLibrary(MOLECULES).entries.filter((e) => e.id !== 'bad1').filter((_, i) => i % 6 === 0).map((e) => e.smiles);
const orma = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/orma.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/);

let dir: string, cached: OrmaSearch, encoding: OrmaSearch;
const common = () => ({ model: MODEL, molecules: MOLECULES, texts: TEXTS, indexDir: dir, lazy: true });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orma-token-cache-test-'));
  cached = await OrmaSearch.load(common());                              // builds the text index and its cache
  encoding = await OrmaSearch.load({ ...common(), tokenCache: 'off' });  // the same index, stage 2 encoding
});

after(() => {
  cached.close();
  encoding.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The same hits up to the cache's tolerance: every id's score within `tol` of the encoding path's, and
 * the order the same except where two neighbours' scores are within 2·tol (a near tie may swap).
 */
function sameHits(a: TextHit[], b: TextHit[], tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  const ref = new Map(b.map((h) => [h.id, h]));
  for (const [i, h] of a.entries()) {
    if (h.id === b[i]!.id) continue;
    assert.ok(Math.abs(h.score - b[i]!.score) < 2 * tol, `${what}: rank ${i + 1} is ${h.id} (${h.score}) here, ${b[i]!.id} (${b[i]!.score}) when encoding`);
  }
  for (const h of a) {
    const r = ref.get(h.id);
    if (!r) continue;   // swapped across the k-th place by a near tie (checked above)
    for (const g of ['global', 'local', 'mid', 'fused'] as const) assert.ok(Math.abs(h.grains[g]! - r.grains[g]!) < tol, `${what}: ${h.id} ${g} ${h.grains[g]} vs ${r.grains[g]}`);
  }
}

test('stage 2 from the token cache gives the encoding path\'s top-k and scores (f16 token vectors: within 1e-3)', async () => {
  const [ci, ei] = [await cached.textIndex(), await encoding.textIndex()];
  assert.ok(ci.tokens, 'the first build wrote the cache');
  assert.equal(ei.tokens, null, "tokenCache 'off' does not open it");
  assert.equal(ci.dir, ei.dir, 'one index folder');
  const live = liveTensorCount();
  let identical = 0;
  for (const smiles of QUERIES) {
    for (const o of [{ k: 10 }, { k: 5, rerank: 20 }, { k: 40, rerank: 120 }]) {
      const [a, b] = [await cached.searchTexts(smiles, o), await encoding.searchTexts(smiles, o)];
      for (const h of a) assert.equal(h.score, h.grains.fused);
      sameHits(a, b, 1e-3, `${smiles} ${JSON.stringify(o)}`);
      if (a.map((h) => h.id).join() === b.map((h) => h.id).join()) identical++;
    }
  }
  assert.ok(identical >= QUERIES.length * 3 - 2, `${identical} of ${QUERIES.length * 3} lists identical`);
  assert.equal(liveTensorCount(), live, 'no tensor leaks out');
});

test('the cache on disk: the formula\'s size, recorded in the index manifest, identity in its header', async () => {
  const index = await cached.textIndex();
  const b = loadOrmaModel(MODEL);
  const counts = tokenize(b, readTextLibrary(TEXTS).entries.map((e) => e.text)).map((x) => x.length);
  b.model.dispose();
  const D = 32, tokens = counts.reduce((a, n) => a + n, 0);
  const bytes = tokenCacheBytes(counts, D);
  assert.equal(bytes, (4 * counts.length + 6 * tokens) * D + 12 * counts.length + 8, '(4 + 6n) × D a text, + offsets and checksums');
  const s = index.tokens!.summary;
  assert.deepEqual({ texts: s.texts, tokens: s.tokens, bytes: s.bytes }, { texts: 120, tokens, bytes });
  const files = ['vectors.bin', 'offsets.bin', 'crc.bin'].reduce((a, f) => a + statSync(join(index.dir, 'tokens', f)).size, 0);
  assert.equal(files, bytes);
  const manifest = JSON.parse(readFileSync(join(index.dir, 'manifest.json'), 'utf8')) as IndexManifest;
  assert.deepEqual(manifest.tokens, s);
  const header = index.tokens!.header;
  assert.equal(header.model.fingerprint, manifest.model.fingerprint);
  assert.equal(header.library.sha256, manifest.library.sha256);
  assert.equal(header.vocab.length, 64);
  assert.ok(!existsSync(join(index.dir, 'tokens.part')), 'no partial build left');
});

// ---- building: resumable, atomic, added to an old index --------------------------------------------------------

/** openIndex over a synthetic text library of `n` rows, dim 4, chunks of 3, records made from the row number. */
function synthetic(root: string, n: number, o: { failAt?: number; mode?: 'build' | 'auto' | 'off'; log?: { vectors: number[]; records: number[] } } = {}) {
  const ids = Array.from({ length: n }, (_, i) => `t${i}`), D = 4;
  const tokensOf = (row: number) => 2 + (row % 5);
  return openIndex({
    root, kind: 'texts', library: { file: 'synthetic.tsv', sha256: 'syn', ids }, model: { dir: 'm', fingerprint: 'f' }, featurizer: DEFAULT_FEATURIZER,
    dim: D, normalized: false, chunkRows: 3, dtype: 'float32', tokenCache: { mode: o.mode ?? 'build', vocab: 'v'.repeat(64) },
    embed: (start: number, end: number, sink?: RecordSink) => {
      o.log?.vectors.push(start);
      sink?.begin(Array.from({ length: end - start }, (_, j) => tokensOf(start + j)));
      const order = Array.from({ length: end - start }, (_, j) => end - 1 - j);   // out of row order, as length-sorted batches come
      for (const row of order) {
        if (sink) {
          if (row === o.failAt) throw new Error(`encoder failed at row ${row}`);
          const t = tokensOf(row);
          sink.put(row, packRecord(Float32Array.from({ length: D }, (_, d) => row + d / 10), Uint16Array.from({ length: t * D }, (_, d) => 0x3c00 + row + d), Float32Array.from({ length: t * D }, (_, d) => -row - d)));
          o.log?.records.push(row);
        }
      }
      return { vectors: Float32Array.from({ length: (end - start) * D }, (_, i) => start + i), invalid: [] };
    },
  });
}

test('the cache build resumes after a failure mid-chunk, and equals an uninterrupted build', async () => {
  const whole = join(dir, 'syn-whole'), broken = join(dir, 'syn-broken');
  const a = await synthetic(whole, 11);
  const reference = readFileSync(join(a.dir, 'tokens', 'vectors.bin'));
  assert.equal(a.tokens!.header.texts, 11);
  a.dispose();
  await assert.rejects(synthetic(broken, 11, { failAt: 7 }), /encoder failed at row 7/);   // chunk 2 (rows 6-8) half written
  const part = join(broken, basename(a.dir), 'tokens.part');
  assert.ok(existsSync(part), 'the partial build is kept');
  const progress = JSON.parse(readFileSync(join(part, 'progress.json'), 'utf8')) as { chunks: number; texts: number };
  assert.deepEqual([progress.chunks, progress.texts], [2, 6], 'two chunks committed');
  const log = { vectors: [] as number[], records: [] as number[] };
  const b = await synthetic(broken, 11, { log });
  assert.deepEqual(log.vectors, [6, 9], 'only the chunks after the last complete one are encoded again');
  assert.deepEqual(readFileSync(join(b.dir, 'tokens', 'vectors.bin')), reference, 'the same bytes as an uninterrupted build');
  assert.ok(!existsSync(part));
  const r = b.tokens!.read([10, 0, 7]);
  assert.deepEqual(r.lengths, [2, 2, 4]);
  assert.equal(r.length, 4);
  assert.deepEqual(Array.from(r.sentence.subarray(4, 8)), [0, 0.1, 0.2, 0.3].map(Math.fround));
  assert.deepEqual(Array.from(r.multiTokens.subarray(2 * 16, 2 * 16 + 4)), [-7, -8, -9, -10]);
  assert.deepEqual(Array.from(r.mask), [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
  b.dispose();
});

test('an index without a cache: a search does not add one (it encodes); `build` adds it in a pass of its own', async () => {
  const root = join(dir, 'syn-old');
  const old = await synthetic(root, 8, { mode: 'off' });
  assert.equal(old.tokens, null);
  old.dispose();
  const log = { vectors: [] as number[], records: [] as number[] };
  const auto = await synthetic(root, 8, { mode: 'auto', log });
  assert.equal(auto.tokens, null, 'a search falls back to encoding');
  assert.deepEqual(log.vectors, [], 'nothing encoded');
  auto.dispose();
  const chunkTime = statSync(join(auto.dir, 'chunk-00000.bin')).mtimeMs;
  const built = await synthetic(root, 8, { mode: 'build', log });
  assert.deepEqual(log.vectors, [0, 3, 6]);
  assert.equal(log.records.length, 8);
  assert.equal(built.tokens!.header.texts, 8);
  assert.equal(statSync(join(built.dir, 'chunk-00000.bin')).mtimeMs, chunkTime, 'the chunk files are not rewritten');
  assert.equal((JSON.parse(readFileSync(join(built.dir, 'manifest.json'), 'utf8')) as IndexManifest).tokens?.texts, 8);
  built.dispose();
  // a fresh build in a search ('auto') writes the cache alongside the index
  const fresh = await synthetic(join(dir, 'syn-fresh'), 5, { mode: 'auto' });
  assert.equal(fresh.tokens?.header.texts, 5);
  fresh.dispose();
});

// ---- errors -------------------------------------------------------------------------------------------------------

test('a truncated, corrupt, foreign or old-format cache is a StoreError that says to rebuild; `orma index` rebuilds it', async () => {
  const src = (await cached.textIndex()).dir;
  const root = join(dir, 'broken-root');
  cpSync(src, join(root, basename(src)), { recursive: true });   // the text index only (a copy: the other tests keep theirs)
  const idx = join(root, basename(src)), tokens = join(idx, 'tokens');
  const load = () => OrmaSearch.load({ ...common(), indexDir: root });
  const rejects = async (...patterns: RegExp[]) => {
    await assert.rejects(async () => { const s = await load(); try { await s.searchTexts(QUERIES[0]!, { k: 3 }); } finally { s.close(); } }, (err: unknown) => {
      assert.ok(err instanceof StoreError, String(err));
      for (const p of patterns) assert.match(err.message, p);
      assert.match(err.message, /orma index --library .*texts\.tsv --out .* --model /);
      return true;
    });
  };
  const vectors = join(tokens, 'vectors.bin'), saved = readFileSync(vectors);
  truncateSync(vectors, saved.length - 100);
  await rejects(/token cache in .* is damaged: vectors\.bin has \d+ bytes, its header says \d+ \(truncated\?\)/);
  // one flipped byte inside a record: the checksum of that record fails when it is read
  const flipped = Buffer.from(saved);
  flipped[Math.floor(saved.length / 2)] ^= 0x40;
  writeFileSync(vectors, flipped);
  const s = await load();
  try {
    const texts = readTextLibrary(TEXTS).entries.length;
    const rows = Array.from({ length: texts }, (_, i) => i);
    const cache: TokenCache = (await s.textIndex()).tokens!;
    assert.throws(() => cache.read(rows), (err: unknown) => err instanceof StoreError && /damaged: text \d+'s record fails its checksum/.test(err.message));
  } finally {
    s.close();
  }
  // the CLI: exit 1, one message, no stack trace
  const r = orma(['search', '--smiles', QUERIES[0]!, '--k', '120', '--rerank', '120', '--model', MODEL, '--molecules', MOLECULES, '--texts', TEXTS, '--index', root]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^orma search: the token cache in .* is damaged: text \d+'s record fails its checksum; rebuild it with `orma index/m);
  noStack(r.stderr);
  // `orma index` checks every record before reusing a cache, and rebuilds a damaged one
  const ix = orma(['index', '--library', TEXTS, '--out', root, '--model', MODEL]);
  assert.equal(ix.status, 0, ix.stderr);
  assert.match(ix.stderr, /rebuilding the token cache: the token cache in .* is damaged/);
  assert.deepEqual(readFileSync(vectors), saved, 'rebuilt byte for byte');
  // another model's header, another format version
  const headerPath = join(tokens, 'header.json'), header = readFileSync(headerPath, 'utf8');
  writeFileSync(headerPath, JSON.stringify({ ...JSON.parse(header), model: { dir: 'elsewhere', fingerprint: 'f'.repeat(64) } }));
  await rejects(/does not fit: it was built with another model \(elsewhere/);
  writeFileSync(headerPath, JSON.stringify({ ...JSON.parse(header), vocab: '0'.repeat(64) }));
  await rejects(/does not fit: it was built with another vocabulary/);
  writeFileSync(headerPath, JSON.stringify({ ...JSON.parse(header), version: 2 }));
  await rejects(/has format version 2, this orma reads version 1/);
  writeFileSync(headerPath, '{"format": "orma-tok');
  await rejects(/has no readable header\.json/);
  writeFileSync(headerPath, header);
  const ok = await load();
  assert.equal((await ok.searchTexts(QUERIES[0]!, { k: 3 })).length, 3);
  ok.close();
});

test('CLI: orma index prints the cache size (--no-token-cache: none); a search of an index without one says how to add it', () => {
  const root = join(dir, 'cli');
  let r = orma(['index', '--library', TEXTS, '--out', root, '--model', MODEL, '--no-token-cache']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { dir: string; tokenCache: unknown };
  assert.equal(out.tokenCache, null);
  assert.ok(!existsSync(join(out.dir, 'tokens')));
  const search = (...extra: string[]) => orma(['search', '--smiles', 'CCOC(=O)[C@H](C)O', '--k', '3', '--json', '--model', MODEL, '--molecules', MOLECULES, '--texts', TEXTS, '--index', root, ...extra]);
  r = search();
  assert.equal(r.status, 0, r.stderr);
  const fallback = JSON.parse(r.stdout) as TextHit[];
  assert.match(r.stderr, /note: this text index has no token cache, so stage 2 encoded its 50 candidates; `orma index --library .*texts\.tsv --out .*cli --model .*` adds it/);
  assert.doesNotMatch(search('--rerank', '0').stderr, /note:/, 'no note without stage 2');
  r = orma(['index', '--library', TEXTS, '--out', root, '--model', MODEL]);
  assert.equal(r.status, 0, r.stderr);
  const built = JSON.parse(r.stdout) as { tokenCache: { bytes: number; texts: number; tokens: number } };
  assert.equal(built.tokenCache.texts, 120);
  assert.match(r.stderr, /index: token cache \d+\.\d MiB on disk \(120 texts, \d+ tokens: \(4 × texts \+ 6 × tokens\) × 32 bytes; --no-token-cache to go without\)/);
  r = search();
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /note:/);
  sameHits(JSON.parse(r.stdout) as TextHit[], fallback, 1e-3, 'CLI');
});
