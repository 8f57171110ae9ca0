// Ranking metrics: hand-computed cases, ties, both directions, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldRanks, metricsFromRanks, retrievalMetrics } from '../../src/eval/metrics.js';

test('ranks, hits, MRR and mean rank on a hand-made matrix', () => {
  // 3 texts × 4 molecules; text i describes molecule i.
  const s = [
    0.9, 0.1, 0.2, 0.0,   // gold 0: rank 1
    0.8, 0.5, 0.7, 0.6,   // gold 1: 0.8, 0.7, 0.6 above → rank 4
    0.1, 0.2, 0.3, 0.3,   // gold 2 = 0.3 ties with molecule 3 (higher index) → rank 1
  ];
  assert.deepEqual(Array.from(goldRanks(s, 3, 4, [0, 1, 2])), [1, 4, 1]);
  const m = metricsFromRanks([1, 4, 1]);
  assert.equal(m.hits1, 200 / 3);
  assert.equal(m.hits5, 100);
  assert.ok(Math.abs(m.mrr - (1 + 0.25 + 1) / 3) < 1e-12);
  assert.equal(m.meanRank, 2);
  assert.equal(m.medianRank, 1);
});

test('a constant score matrix is not perfect: ties rank by index', () => {
  const ranks = goldRanks(new Float32Array(16).fill(1), 4, 4, [0, 1, 2, 3]);
  assert.deepEqual(Array.from(ranks), [1, 2, 3, 4]);
});

test('molecule→text ranks the columns', () => {
  const s = [
    0.9, 0.2,
    0.95, 0.1,  // text 1 (gold molecule 1) scores molecule 0 higher
  ];
  const { textToMolecule, moleculeToText } = retrievalMetrics(s, 2, 2, [0, 1]);
  assert.equal(textToMolecule.hits1, 50);
  // molecule 0: its gold text 0 scores 0.9, text 1 scores 0.95 → rank 2;
  // molecule 1: its gold text 1 scores 0.1, text 0 scores 0.2 → rank 2
  assert.equal(moleculeToText.hits1, 0);
  assert.equal(moleculeToText.meanRank, 2);
  assert.equal(moleculeToText.queries, 2);
});

test('bad input is refused', () => {
  assert.throws(() => goldRanks([1, 2, 3], 2, 2, [0, 1]), /3 scores for 2 × 2/);
  assert.throws(() => goldRanks([1, 2, 3, 4], 2, 2, [0, 2]), /gold index 2 of query 1/);
  assert.throws(() => goldRanks([NaN, 2, 3, 4], 2, 2, [0, 1]), /gold score of query 0 is NaN/);
  assert.throws(() => metricsFromRanks([]), /no queries/);
});
