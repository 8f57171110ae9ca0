// The search API on the tiny fixture model (test/fixtures/models/tiny) and a 122-molecule library.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrmaSearch, SearchError, exactTopK, openIndex, readMoleculeLibrary, readTextLibrary, type MoleculeHit } from '../../src/search/index.js';
import { explainPair } from '../../src/search/explain.js';
import { liveTensorCount, tensor, tidy } from '../../src/tensor/index.js';
import { buildHierGraph, initRDKit } from '../../src/chem/index.js';
import { rdkit } from '../../src/chem/rdkit.js';
import { loadOrmaModel, DEFAULT_FEATURIZER } from '../../src/model/factory.js';
import { encodeMolecules, encodeTexts, fusedScores, tokenizeTexts, disposeEncoded } from '../../src/eval/retrieval.js';
import { GraphCache } from '../../src/data/graph-cache.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(ROOT, 'test/fixtures/models/tiny');
const MOLECULES = join(ROOT, 'test/fixtures/search/molecules.tsv');
const TEXTS = join(ROOT, 'test/fixtures/search/texts.tsv');
const LACTATE = 'The molecule is the (2S)-enantiomer of ethyl lactate. It is an enantiomer of an ethyl (2R)-lactate.';

let dir: string, s: OrmaSearch;

before(async () => {
  await initRDKit();
  dir = mkdtempSync(join(tmpdir(), 'orma-search-test-'));
  s = await OrmaSearch.load({ model: MODEL, molecules: MOLECULES, texts: TEXTS, indexDir: dir });
});

after(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('load: info, the unparsable molecule is left out of the index', async () => {
  assert.deepEqual({ ...s.info, model: undefined }, { model: undefined, molecules: 122, texts: 120, dim: 32 });
  const index = await s.moleculeIndex();
  assert.equal(index.store, 'exact', 'a small library defaults to the exact store');
  assert.equal(index.searchable, 121);
  assert.deepEqual(index.invalid.map((x) => x.id), ['bad1']);
  assert.equal(s.molecule('92831')?.name, 'ethyl (S)-lactate');
  assert.equal(s.molecule('nope'), undefined);
});

function checkHits(hits: { rank: number; score: number }[], k: number): void {
  assert.equal(hits.length, k);
  hits.forEach((h, i) => assert.equal(h.rank, i + 1));
  for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, 'sorted best first');
  assert.deepEqual(JSON.parse(JSON.stringify(hits)), hits, 'plain objects');
}

test('searchMolecules: stage 1 is exact over the stored vectors, stage 2 is the model\'s fused score', async () => {
  const live = liveTensorCount();
  const global = await s.searchMolecules(LACTATE, { k: 5, rerank: 0 });
  checkHits(global, 5);
  for (const h of global) assert.deepEqual(Object.keys(h.grains), ['global']);
  // brute force: the cosine of the query vector with every molecule vector, same order
  const lib = readMoleculeLibrary(MOLECULES).entries.filter((e) => e.id !== 'bad1');
  const [q] = s.embedTexts([LACTATE]);
  const mv = s.embedMolecules(lib.map((e) => e.smiles));
  const cos = mv.map((v) => v.reduce((a, x, i) => a + x * q![i]!, 0));
  const order = cos.map((_, i) => i).sort((a, b) => cos[b]! - cos[a]!);
  assert.deepEqual(global.map((h) => h.id), order.slice(0, 5).map((i) => lib[i]!.id));
  const scale = global[0]!.score / cos[order[0]!]!;
  global.forEach((h, r) => assert.ok(Math.abs(h.score - scale * cos[order[r]!]!) < 2e-2 * scale, 'float16 index within 1e-2 of the cosine'));

  const fused = await s.searchMolecules(LACTATE, { k: 5, rerank: 20 });
  checkHits(fused, 5);
  for (const h of fused) assert.equal(h.score, h.grains.fused);
  // the fused scores equal eval/retrieval's fusedScores for the same pair
  const b = loadOrmaModel(MODEL);
  const cache = new GraphCache(join(dir, 'graphs-check'));
  const t = encodeTexts(b, tokenizeTexts(b, [LACTATE]));
  const m = encodeMolecules(b, fused.map((h) => cache.getOrBuild(h.smiles).graph));
  const ref = fusedScores(b, t, m, [0], fused.map((_, j) => j));
  disposeEncoded(t); disposeEncoded(m); b.model.dispose();
  fused.forEach((h, j) => assert.ok(Math.abs(h.score - ref[j]!) < 1e-3, `${h.score} vs ${ref[j]}`));
  // the reranked top 5 come from the global top 20
  const top20 = new Set((await s.searchMolecules(LACTATE, { k: 20, rerank: 0 })).map((h) => h.id));
  for (const h of fused) assert.ok(top20.has(h.id));
  assert.equal(liveTensorCount(), live, 'no tensor leaks out');
});

test('searchMolecules: the substructure filter keeps only RDKit matches; bad SMARTS and bad options name the field', async () => {
  const hits = await s.searchMolecules('an aromatic compound', { k: 10, substructure: 'c1ccccc1' });
  assert.ok(hits.length > 0 && hits.length <= 10);
  const q = rdkit().get_qmol('c1ccccc1')!;
  for (const h of hits) {
    const mol = rdkit().get_mol(h.smiles)!;
    assert.notEqual(mol.get_substruct_match(q), '{}', `${h.smiles} has a benzene ring`);
    mol.delete();
  }
  q.delete();
  // every molecule that matches is a candidate: asking for all of them returns all of them
  const all = await s.searchMolecules('x', { k: 1000, rerank: 0, substructure: 'c1ccccc1' });
  const lib = readMoleculeLibrary(MOLECULES).entries.filter((e) => e.id !== 'bad1');
  const expected = lib.filter((e) => { const m = rdkit().get_mol(e.smiles)!, qq = rdkit().get_qmol('c1ccccc1')!; const r = m.get_substruct_match(qq) !== '{}'; m.delete(); qq.delete(); return r; });
  assert.deepEqual(new Set(all.map((h) => h.id)), new Set(expected.map((e) => e.id)));
  assert.deepEqual(await s.searchMolecules('x', { substructure: '[Xe]' }), []);
  const field = async (p: Promise<unknown>, f: string) => {
    await assert.rejects(p, (err: unknown) => err instanceof SearchError && err.field === f);
  };
  await field(s.searchMolecules('x', { substructure: 'C((' }), 'substructure');
  await field(s.searchMolecules('x', { substructure: '' }), 'substructure');
  await field(s.searchMolecules('   '), 'text');
  await field(s.searchMolecules('x', { k: 0 }), 'k');
  await field(s.searchMolecules('x', { rerank: -1 }), 'rerank');
  await field(s.searchTexts('C1CC('), 'smiles');
  await field(s.explain('x', 'not a smiles'), 'smiles');
  await field(s.similarMolecules('CC', { by: 'x' as 'model' }), 'by');
  assert.throws(() => s.embedMolecules(['CC', 'C1CC(']), (err: unknown) => err instanceof SearchError && err.field === 'smiles[1]');
  assert.throws(() => s.embedTexts(['ok', '']), (err: unknown) => err instanceof SearchError && err.field === 'texts[1]');
});

test('searchTexts: sorted text hits, global only or fused', async () => {
  const live = liveTensorCount();
  const g = await s.searchTexts('CCOC(=O)[C@H](C)O', { k: 4, rerank: 0 });
  checkHits(g, 4);
  const f = await s.searchTexts('CCOC(=O)[C@H](C)O', { k: 4 });
  checkHits(f, 4);
  for (const h of f) { assert.equal(typeof h.text, 'string'); assert.equal(h.score, h.grains.fused); }
  assert.equal(liveTensorCount(), live);
});

test('similarMolecules: the molecule itself first, by model vectors and by Morgan Tanimoto', async () => {
  const byModel = await s.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 3 });
  checkHits(byModel, 3);
  assert.equal(byModel[0]!.id, '92831');
  assert.ok(Math.abs(byModel[0]!.score - 1) < 1e-2);
  const byMorgan = await s.similarMolecules('O[C@@H](C)C(=O)OCC', { k: 3, by: 'morgan' });
  checkHits(byMorgan, 3);
  assert.equal(byMorgan[0]!.id, '92831');
  assert.equal(byMorgan[0]!.score, 1);
  assert.ok(byMorgan[1]!.score < 1 && byMorgan[1]!.score > 0);
});

test('explain: tokens, motifs of the canonical SMILES, plan, assignments, grains and fused agree with search', async () => {
  const live = liveTensorCount();
  const e = await s.explain(LACTATE, 'O[C@@H](C)C(=O)OCC');
  assert.equal(e.smiles, 'CCOC(=O)[C@H](C)O', 'canonical SMILES');
  assert.equal(e.tokens[0], '[CLS]');
  assert.equal(e.tokens[e.tokens.length - 1], '[SEP]');
  assert.equal(e.plan.length, e.tokens.length);
  assert.equal(e.wholeMolecule, false);
  assert.deepEqual(e.motifs.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  for (const row of e.plan) {
    assert.equal(row.length, e.motifs.length);
    assert.ok(Math.abs(row.reduce((a, x) => a + x, 0) - 1 / e.tokens.length) < 1e-3, 'row marginals 1/n');
  }
  assert.equal(e.tokenMotif[0], -1);
  assert.equal(e.tokenMotif[e.tokens.length - 1], -1);
  e.tokenMotif.forEach((m, i) => {
    if (m >= 0) assert.equal(m, e.plan[i]!.indexOf(Math.max(...e.plan[i]!)), 'argmax of the plan row');
  });
  assert.equal(e.assignedMotif[0], e.plan[0]!.indexOf(Math.max(...e.plan[0]!)));
  const fusedFromGrains = 0.3 * e.grains.global + 0.5 * e.grains.local + 0.2 * e.grains.mid;
  assert.ok(Math.abs(e.fused - fusedFromGrains) < 1e-4);
  const hit = (await s.searchMolecules(LACTATE, { k: 122, rerank: 122 })).find((h: MoleculeHit) => h.id === '92831')!;
  assert.ok(Math.abs(hit.score - e.fused) < 1e-3, `${hit.score} vs ${e.fused}`);
  assert.equal(liveTensorCount(), live);
});

test('explain: a molecule without motifs has its whole molecule as its one motif', () => {
  const b = loadOrmaModel(MODEL);
  const g = buildHierGraph('CC', { noBricsFallback: 'none' });
  assert.equal(g.numMotifs, 0);
  const live = liveTensorCount();
  const e = explainPair(b, 'ethane', g);
  assert.equal(e.wholeMolecule, true);
  assert.deepEqual(e.motifs, [[0, 1]]);
  assert.deepEqual(e.tokenMotif, [-1, 0, -1]);
  assert.equal(liveTensorCount(), live);
  b.model.dispose();
});

test('exactTopK: blocked and subset search equal brute force', () => {
  const R = 300, D = 8;
  const data = Float32Array.from({ length: R * D }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
  const q = Float32Array.from({ length: D }, (_, i) => (i % 3) - 1);
  const m = tensor(data, { shape: [R, D] });
  const scores = Array.from({ length: R }, (_, r) => q.reduce((a, x, d) => a + x * data[r * D + d]!, 0));
  const brute = (rows: number[]) => rows.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const all = brute(Array.from({ length: R }, (_, i) => i)).slice(0, 7);
  assert.deepEqual(exactTopK(m, q, 7).rows, all);
  assert.deepEqual(exactTopK(m, q, 7, { blockRows: 13 }).rows, all);
  const subset = Int32Array.from({ length: 100 }, (_, i) => i * 3);
  assert.deepEqual(exactTopK(m, q, 5, { subset, blockRows: 17 }).rows, brute(Array.from(subset)).slice(0, 5));
  assert.deepEqual(exactTopK(m, q, 0).rows, []);
  m.dispose();
});

test('openIndex: resumes at the first missing chunk and reuses a complete index', async () => {
  const root = join(dir, 'resume');
  let embedded = 0;
  const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
  const o = {
    root, kind: 'molecules' as const, library: { file: 'x', sha256: 'abc', ids }, model: { dir: 'm', fingerprint: 'f' },
    featurizer: DEFAULT_FEATURIZER, dim: 2, normalized: false, chunkRows: 4, dtype: 'float32' as const,
    embed: (start: number, end: number) => {
      embedded += end - start;
      const v = new Float32Array((end - start) * 2);
      for (let r = start; r < end; r++) { v[(r - start) * 2] = r; v[(r - start) * 2 + 1] = -r; }
      return { vectors: v, invalid: start === 4 ? [{ row: 5, reason: 'bad' }] : [] };
    },
  };
  const a = await openIndex(o);
  assert.equal(embedded, 10);
  assert.deepEqual(Array.from(a.libraryRow), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
  assert.deepEqual(a.manifest.invalid, [{ row: 5, id: 'm5', reason: 'bad' }]);
  a.dispose();
  const b = await openIndex(o);
  assert.equal(embedded, 10, 'a complete index is not rebuilt');
  b.dispose();
  // an interrupted build: the last chunk and the manifest's completion are gone
  unlinkSync(join(a.dir, 'chunk-00002.json'));
  const manifest = JSON.parse((await import('node:fs')).readFileSync(join(a.dir, 'manifest.json'), 'utf8'));
  (await import('node:fs')).writeFileSync(join(a.dir, 'manifest.json'), JSON.stringify({ ...manifest, complete: false }));
  const c = await openIndex(o);
  assert.equal(embedded, 12, 'only the missing chunk is embedded');
  assert.deepEqual(tidy(() => c.matrix.select(1, 0).toNumbers()), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
  c.dispose();
  // another model gets another folder
  const d = await openIndex({ ...o, model: { dir: 'm', fingerprint: 'g' } });
  assert.notEqual(d.dir, a.dir);
  d.dispose();
  assert.equal(readdirSync(root).length, 2);
});

test('libraries: shipped files read, ids unique', () => {
  const m = readMoleculeLibrary();
  assert.equal(m.entries.length, 33010);
  const t = readTextLibrary();
  assert.equal(t.entries.length, 33006);
  assert.throws(() => readMoleculeLibrary(TEXTS), /no SMILES column/);
});

test('load: the shipped default model and libraries by default (lazily: no index built); a missing model is a clear error', async () => {
  const prev = liveTensorCount();
  const d = await OrmaSearch.load({ indexDir: dir, lazy: true });
  assert.equal(d.info.molecules, 33010);
  assert.equal(d.info.dim, 256);
  d.close();
  await assert.rejects(OrmaSearch.load({ model: join(dir, 'none') }), (err: unknown) => err instanceof SearchError && err.field === 'model' && /not an orma model directory|no config\.json/.test(err.message));
  assert.equal(liveTensorCount(), prev);
});

test('CLI: orma search --json and the table, orma index', () => {
  const orma = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/orma.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  const common = ['--model', MODEL, '--molecules', MOLECULES, '--texts', TEXTS, '--index', dir];
  let r = orma(['search', 'ethyl lactate', '--k', '3', '--json', ...common]);
  assert.equal(r.status, 0, r.stderr);
  const hits = JSON.parse(r.stdout) as MoleculeHit[];
  assert.deepEqual(hits.map((h) => h.rank), [1, 2, 3]);
  r = orma(['search', '--smiles', 'CCO', '--k', '2', ...common]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^rank\s+score\s+global\s+local\s+mid\s+id\s+text$/m);
  r = orma(['search', 'x', '--substructure', 'C((', ...common]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read the SMARTS pattern 'C\(\('/);
  r = orma(['search', 'x', '--model', join(dir, 'none')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not an orma model directory/);
  r = orma(['index', '--library', MOLECULES, '--out', join(dir, 'cli-index'), '--model', MODEL]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual({ ...JSON.parse(r.stdout), dir: undefined, seconds: undefined }, { dir: undefined, seconds: undefined, kind: 'molecules', store: 'exact', rows: 122, searchable: 121, invalid: 1, dim: 32, dtype: 'float16' });
});

test('close: frees every tensor the search object held', async () => {
  const live = liveTensorCount();
  const t = await OrmaSearch.load({ model: MODEL, molecules: MOLECULES, texts: TEXTS, indexDir: dir });
  assert.ok(liveTensorCount() > live);
  await t.searchMolecules(LACTATE, { k: 3 });
  t.close();
  assert.equal(liveTensorCount(), live);
  await assert.rejects(t.searchMolecules('x'), /after close/);
});

test('examples/search: runs on the fixture model', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/examples/search.js')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^model dim 32, 122 molecules, 120 texts$/m);
  assert.match(r.stdout, /^1\. \d+ \S+ fused -?\d+\.\d{3} \(global -?\d+\.\d{3}\)$/m);
  assert.match(r.stdout, /^explain: \d+ tokens, 3 motifs, fused/m);
});
