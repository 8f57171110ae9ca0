// `evaluate` on the tiny fixture model: the report's shape, misses, pools (duplicates merged, golds
// added), blocked scoring against the unblocked matrix and rankPairs, MoMu's protocol, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, EvalError, goldPositions, type EvaluationReport } from '../../src/eval/index.js';
import { encodeMolecules, encodeTexts, disposeEncoded, fusedScores, globalScoreMatrix, rankPairs, tokenizeTexts } from '../../src/eval/retrieval.js';
import { retrievalMetrics } from '../../src/eval/metrics.js';
import { loadOrmaModel, type OrmaBundle } from '../../src/model/factory.js';
import { buildHierGraph, canonicalSmiles, initRDKit } from '../../src/chem/index.js';
import { readPairFile } from '../../src/data/datasets.js';
import { liveTensorCount } from '../../src/tensor/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(ROOT, 'test/fixtures/models/tiny');
const PAIRS = join(ROOT, 'test/fixtures/eval/pairs.tsv');
const POOL = join(ROOT, 'test/fixtures/eval/pool.tsv');
const VAL = join(ROOT, 'test/fixtures/train/pairs-val.tsv');
const TRAIN = join(ROOT, 'test/fixtures/train/pairs-train.tsv');

let dir: string, b: OrmaBundle;
const run = (o: Partial<Parameters<typeof evaluate>[0]> & { data: string }) => evaluate({ model: b, cacheDir: join(dir, 'graphs'), ...o });

/** A pair file of the first `n` rows of `file` (and optionally without some lines). */
function subset(file: string, n: number, name: string, dropLines: number[] = []): string {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const out = join(dir, name);
  writeFileSync(out, [lines[0], ...lines.slice(1, n + 1).filter((_, i) => !dropLines.includes(i + 2))].join('\n') + '\n');
  return out;
}

before(async () => {
  await initRDKit();
  dir = mkdtempSync(join(tmpdir(), 'orma-eval-test-'));
  b = loadOrmaModel(MODEL);
});

after(() => {
  b.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const DIRECTION_KEYS = ['queries', 'hits@1', 'hits@5', 'hits@10', 'recall@1', 'recall@5', 'recall@10', 'mrr', 'mean_rank', 'median_rank'].sort();

test('the report: shape, counts, skipped rows; no tensor is left behind', async () => {
  const live = liveTensorCount();
  const r = await run({ data: PAIRS, score: 'global' });
  assert.equal(liveTensorCount(), live);
  assert.deepEqual(Object.keys(r).sort(), ['data', 'pairs', 'pool', 'pool_size', 'score', 'ties', 'merged_duplicates', 'gold_added', 'pool_unusable',
    'text_to_molecule', 'molecule_to_text', 'skipped', 'scored_pairs', 'pairs_per_second', 'seconds'].sort());
  assert.deepEqual(Object.keys(r.text_to_molecule).sort(), DIRECTION_KEYS);
  assert.deepEqual(Object.keys(r.molecule_to_text).sort(), DIRECTION_KEYS);
  // 24 data rows: one without a description (not a pair), 23 pairs; 'C(C)' under another id is CID 6324's
  // ethane (merged); the unparsable C1CC is a miss; 20 molecules in the pool
  assert.equal(r.pairs, 23);
  assert.equal(r.pool, 'split');
  assert.equal(r.pool_size, 20);
  assert.equal(r.merged_duplicates, 1);
  assert.equal(r.gold_added, 0);
  assert.equal(r.ties, 'against gold');
  assert.equal(r.score, 'global');
  assert.equal(r.text_to_molecule.queries, 23);
  assert.equal(r.molecule_to_text.queries, 21);   // the 20 pool molecules and the unparsable one
  assert.deepEqual(r.skipped.map((s) => s.row), [24, 25]);
  assert.match(r.skipped[0]!.reason, /SMILES.*C1CC.*scored as a miss/);
  assert.match(r.skipped[1]!.reason, /empty description.*left out/);
  for (const d of [r.text_to_molecule, r.molecule_to_text]) {
    for (const k of ['hits@1', 'hits@5', 'hits@10', 'recall@1', 'recall@5', 'recall@10'] as const) assert.ok(d[k] >= 0 && d[k] <= 100, k);
    assert.ok(d.mrr > 0 && d.mrr <= 1);
    assert.ok(d['recall@10'] <= d['hits@10']);
  }
  // molecule -> text has molecules with two gold texts: recall is below hits somewhere
  assert.ok(r.molecule_to_text['recall@10'] < r.molecule_to_text['hits@10']);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('a pair whose molecule cannot be featurized is a miss at rank = pool size, not dropped', async () => {
  const withMiss = await run({ data: PAIRS, score: 'global' });
  const without = await run({ data: subset(PAIRS, 24, 'no-miss.tsv', [24]), score: 'global' });
  assert.equal(without.pairs, 22);
  assert.equal(without.pool_size, withMiss.pool_size);
  const a = withMiss.text_to_molecule, c = without.text_to_molecule;
  const near = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-9, `${x} vs ${y}`);
  near(a.mean_rank * 23, c.mean_rank * 22 + withMiss.pool_size);
  near(a.mrr * 23, c.mrr * 22 + 1 / withMiss.pool_size);
  near(a['hits@10'] * 23, c['hits@10'] * 22);
});

test('blocked scoring equals the whole matrix and rankPairs, for global, fused and rerank:K', async () => {
  const n = 16, K = 5;
  const file = subset(VAL, n, 'val16.tsv');
  const rows = readPairFile(file).rows;
  const t = encodeTexts(b, tokenizeTexts(b, rows.map((r) => r.description!)));
  // graphs of the canonical SMILES, as the graph cache builds them (the same atom order)
  const m = encodeMolecules(b, rows.map((r) => buildHierGraph(canonicalSmiles(r.smiles), b.config.featurizer)));
  const gold = rows.map((_, i) => i);
  const all = gold.slice();
  try {
    const cases: [string, { t2m: number; m2t: number }][] = [
      ['global', (() => { const r = rankPairs(b, t, m, gold); return { t2m: r.textToMolecule.mrr, m2t: r.moleculeToText.mrr }; })()],
      [`rerank:${K}`, (() => { const r = rankPairs(b, t, m, gold, { rerank: K }); return { t2m: r.textToMolecule.mrr, m2t: r.moleculeToText.mrr }; })()],
      ['fused', (() => { const r = retrievalMetrics(fusedScores(b, t, m, all, all), n, n, gold); return { t2m: r.textToMolecule.mrr, m2t: r.moleculeToText.mrr }; })()],
    ];
    for (const [score, ref] of cases) {
      const big = await run({ data: file, score, batchSize: 64 });
      const small = await run({ data: file, score, batchSize: 3 });
      assert.deepEqual(small.text_to_molecule, big.text_to_molecule, score);
      assert.deepEqual(small.molecule_to_text, big.molecule_to_text, score);
      assert.ok(Math.abs(big.text_to_molecule.mrr - ref.t2m) < 1e-9, `${score} t2m ${big.text_to_molecule.mrr} vs ${ref.t2m}`);
      assert.ok(Math.abs(big.molecule_to_text.mrr - ref.m2t) < 1e-9, `${score} m2t ${big.molecule_to_text.mrr} vs ${ref.m2t}`);
    }
  } finally {
    disposeEncoded(t); disposeEncoded(m);
  }
});

test('pools: copies of the gold molecules collapse into them; a pool file adds candidates and reports its unusable rows', async () => {
  const file = subset(VAL, 16, 'val16.tsv');
  const copies = join(dir, 'copies.tsv');
  writeFileSync(copies, 'id\tsmiles\n' + readPairFile(file).rows.map((r, i) => `copy${i}\t${canonicalSmiles(r.smiles)}`).join('\n') + '\n');
  const split = await run({ data: file, score: 'global' });
  const both = await run({ data: file, score: 'global', pool: ['split', copies] });
  const only = await run({ data: file, score: 'global', pool: [copies] });
  assert.equal(both.merged_duplicates, 16);
  assert.equal(only.merged_duplicates, 0);
  assert.equal(only.gold_added, 0);   // every gold molecule was found in the file
  for (const r of [both, only]) {
    assert.equal(r.pool_size, 16);
    assert.deepEqual(r.text_to_molecule, split.text_to_molecule);
    assert.deepEqual(r.molecule_to_text, split.molecule_to_text);
  }
  const logs: string[] = [];
  const pooled = await run({ data: PAIRS, score: 'global', pool: [POOL], log: (l) => logs.push(l) });
  // 13 rows: 10 new molecules, a respelling of data CID 12417, an unparsable one, a respelling of a pool molecule
  assert.equal(pooled.pool, POOL);
  assert.equal(pooled.merged_duplicates, 1);
  assert.equal(pooled.pool_unusable, 1);
  assert.equal(pooled.gold_added, 19);  // 20 usable data molecules, one (12417) already in the file
  assert.equal(pooled.pool_size, 30);
  assert.match(logs.join('\n'), /1 molecule\(s\) cannot be used.*N1CC/);
});

test('MoMu: Rec@20 over the whole set and accuracy within batches of 64 (the last one partial), as from the full matrix', async () => {
  const file = subset(TRAIN, 130, 'train130.tsv');   // batches of 64, 64 and 2
  const r = await run({ data: file, score: 'global', momu: true });
  const rows = readPairFile(file).rows, n = rows.length;
  const t = encodeTexts(b, tokenizeTexts(b, rows.map((x) => x.description!)));
  const m = encodeMolecules(b, rows.map((x) => buildHierGraph(canonicalSmiles(x.smiles), b.config.featurizer)));
  const g = globalScoreMatrix(b, t, m);
  disposeEncoded(t); disposeEncoded(m);
  const row = (i: number, from = 0, to = n) => Array.from(g.subarray(i * n + from, i * n + to));
  const col = (j: number, from = 0, to = n) => Array.from({ length: to - from }, (_, k) => g[(from + k) * n + j]!);
  const pct = (f: (i: number) => boolean) => (100 * Array.from({ length: n }, (_, i) => i).filter(f).length) / n;
  const batch = (i: number) => [Math.floor(i / 64) * 64, Math.min(n, Math.floor(i / 64) * 64 + 64)] as const;
  const expected = {
    t2m: { rec: pct((i) => goldPositions(row(i), [i])[0]! <= 20), acc: pct((i) => goldPositions(row(i, ...batch(i)), [i - batch(i)[0]])[0] === 1) },
    m2t: { rec: pct((i) => goldPositions(col(i), [i])[0]! <= 20), acc: pct((i) => goldPositions(col(i, ...batch(i)), [i - batch(i)[0]])[0] === 1) },
  };
  assert.equal(n, 130);
  assert.deepEqual(r.momu, {
    pairs: n, left_out: 0, score: 'global', batch: 64,
    text_to_molecule: { 'rec@20': expected.t2m.rec, batch_accuracy: expected.t2m.acc },
    molecule_to_text: { 'rec@20': expected.m2t.rec, batch_accuracy: expected.m2t.acc },
  });
  const withMiss = await run({ data: PAIRS, score: 'global', momu: true });
  assert.equal(withMiss.momu!.pairs, 22);
  assert.equal(withMiss.momu!.left_out, 1);
});

test('bad input: errors name the file, the column or the option', async () => {
  const rejects = (p: Promise<EvaluationReport>, re: RegExp) => assert.rejects(p, (err: Error) => err instanceof EvalError && re.test(err.message));
  await rejects(run({ data: join(dir, 'nope.tsv') }), /data file: cannot read .*nope\.tsv/);
  const noSmiles = join(dir, 'no-smiles.tsv');
  writeFileSync(noSmiles, 'CID\tdescription\n1\tThe molecule is ethanol.\n');
  await rejects(run({ data: noSmiles }), /no-smiles\.tsv:1: field 'header': no SMILES column/);
  const noText = join(dir, 'no-text.tsv');
  writeFileSync(noText, 'CID\tSMILES\n1\tCCO\n');
  await rejects(run({ data: noText }), /no-text\.tsv:1: field 'header': no description column/);
  await rejects(run({ data: PAIRS, pool: [join(dir, 'missing.tsv')] }), /pool file: cannot read .*missing\.tsv/);
  await rejects(run({ data: PAIRS, score: 'rerank:x' }), /score must be global, fused or rerank:K/);
  await rejects(run({ data: PAIRS, batchSize: 0 }), /batch size must be a positive integer/);
  await rejects(evaluate({ model: join(dir, 'no-model'), data: PAIRS }), /no-model: not an orma model directory/);
});
