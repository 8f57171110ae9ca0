// The evaluation arithmetic on plain matrices: gold positions (ties against the gold, several golds,
// NaN, identical inputs), Hits vs Recall, both directions from blocked scoring, and the second stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldPositions, metricsFromOutcomes, outcome, retrievalMetrics } from '../../src/eval/metrics.js';
import { rankBothDirections, rerankTop, type BlockScorer, type RankingTask } from '../../src/eval/ranking.js';
import { mulberry32 } from '../../src/util/random.js';

test('goldPositions: ties count against the gold, golds among themselves by score then index', () => {
  assert.deepEqual(goldPositions([0.5, 0.9, 0.5, 0.1], [0]), [3]);   // 0.9 above, the tie at index 2 too
  assert.deepEqual(goldPositions([0.5, 0.9, 0.5, 0.1], [2]), [3]);   // whatever the indices
  // golds 2 (0.8) and 4 (0.7): 0.9 and the tied 0.8 are above gold 2; gold 2 is also above gold 4
  assert.deepEqual(goldPositions([0.9, 0.8, 0.8, 0.3, 0.7], [2, 4]), [3, 4]);
  assert.deepEqual(goldPositions([0.9, 0.8, 0.8, 0.3, 0.7], [4, 2]), [4, 3]);
  assert.deepEqual(goldPositions([0.5, 0.5, 0.5], [1, 2]), [2, 3]);   // tied golds: the lower index first
  assert.deepEqual(goldPositions([NaN, 0.2, 0.5], [2]), [2]);         // a NaN candidate is above the gold
  assert.deepEqual(goldPositions([0.1, NaN], [1]), [2]);              // a NaN gold is last
  // an identical input ties with the gold even when rounding put it a hair below
  assert.deepEqual(goldPositions([0.5, 0.4999999], [0], (c) => c === 1), [2]);
  assert.deepEqual(goldPositions([0.5, 0.4999999], [0]), [1]);
});

test('metrics: Hits@k is any gold in the top k, Recall@k the share of golds; a miss never hits', () => {
  const m = metricsFromOutcomes([
    outcome([1, 7], 2, 4),   // two golds: at 1 and at 7
    outcome([3], 1, 4),
    outcome([], 1, 4),       // not scored: rank = pool size 4, yet no hit at 5 or 10
  ]);
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
  near(m.hits1, 100 / 3); near(m.hits5, 200 / 3); near(m.hits10, 200 / 3);
  near(m.recall1, 50 / 3); near(m.recall5, 50); near(m.recall10, 200 / 3);
  near(m.mrr, (1 + 1 / 3 + 1 / 4) / 3);
  near(m.meanRank, 8 / 3);
  assert.equal(m.medianRank, 3);
  assert.equal(m.queries, 3);
});

function matrixScorer(s: number[][]): BlockScorer & { rowCalls: number } {
  const out = {
    rowCalls: 0,
    rows(texts: number[]) { out.rowCalls++; return Float32Array.from(texts.flatMap((t) => s[t]!)); },
    pairs(texts: number[], cands: number[]) { return texts.map((t, k) => Math.fround(s[t]![cands[k]!]!)); },
  };
  return out;
}

// 5 texts, pool of 3 molecules a b c; texts 0 and 1 describe a, 2 b, 3 c, 4 a molecule d that is not in
// the pool; text 4 is the same text as text 2 (its row differs by rounding only).
const TASK: RankingTask = {
  gold: Int32Array.from([0, 0, 1, 2, -1]), candidates: 3,
  query: Int32Array.from([0, 0, 1, 2, 3]), queryCandidate: Int32Array.from([0, 1, 2, -1]),
  identity: Int32Array.from([0, 1, 2, 3, 2]),
};
const S = [
  [0.9, 0.2, 0.1],
  [0.3, 0.3, 0.6],
  [0.4, 0.8, 0.5],
  [0.2, 0.1, 0.2],
  [0.4, 0.7999999, 0.5],
];

test('both directions on a hand-made matrix, the same for every block size and order', () => {
  for (const blockSize of [1, 2, 5, 64]) {
    for (const order of [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]) {
      const r = rankBothDirections(TASK, matrixScorer(S), { blockSize, order });
      // text -> molecule: 1; 3 (a tie at 0.3 and 0.6 above); 1; 2 (a tie); a miss at the pool size 3
      assert.deepEqual(r.textToMolecule.map((o) => o.rank), [1, 3, 1, 2, 3]);
      assert.deepEqual(r.textToMolecule[4]!.positions, []);
      // molecule -> text: a's golds are texts 0 (first) and 1 (0.3: texts 2 and 4 at 0.4 above, and text 0) -> [1, 4];
      // b: text 4 is the same text as its gold -> 2; c: texts 1, 2, 4 above -> 4; d was not scored -> rank 5 = texts
      assert.deepEqual(r.queryGolds, [[0, 1], [2], [3], [4]]);
      assert.deepEqual(r.moleculeToText.map((o) => o.positions), [[1, 4], [2], [4], []]);
      assert.deepEqual(r.moleculeToText.map((o) => o.rank), [1, 2, 4, 5]);
    }
  }
  const m = metricsFromOutcomes(rankBothDirections(TASK, matrixScorer(S)).moleculeToText);
  assert.equal(m.hits1, 25);
  assert.equal(m.recall1, 12.5);   // query a: 1 of its 2 golds
});

test('blocked ranks equal the unblocked matrix on a random case with many ties and several golds per molecule', () => {
  const rand = mulberry32(7);
  const N = 31, M = 12;
  const gold = Int32Array.from({ length: N }, (_, i) => (i < M ? i : Math.floor(rand() * M)));
  gold[N - 1] = -1;  // one molecule that could not be encoded: its own query
  const query = Int32Array.from(gold, (g) => (g >= 0 ? g : M));
  const task: RankingTask = { gold, candidates: M, query, queryCandidate: Int32Array.from({ length: M + 1 }, (_, q) => (q < M ? q : -1)), identity: Int32Array.from({ length: N }, (_, i) => i) };
  const s = Array.from({ length: N }, () => Array.from({ length: M }, () => Math.round(rand() * 10) / 10));   // ties everywhere
  const rows = s.map((r) => Float32Array.from(r));
  const expectT2m = Array.from(gold, (g, i) => (g >= 0 ? goldPositions(rows[i]!, [g]) : []));
  const expectM2t = Array.from({ length: M + 1 }, (_, q) => {
    const texts = Array.from(query.keys()).filter((i) => query[i] === q);
    return q < M ? goldPositions(rows.map((r) => r[q]!), [...texts].sort((a, b) => rows[b]![q]! - rows[a]![q]! || a - b)) : [];
  });
  for (const blockSize of [1, 4, 31]) {
    const order = blockSize === 4 ? Array.from({ length: N }, (_, i) => (i * 7) % N) : undefined;
    const r = rankBothDirections(task, matrixScorer(s), { blockSize, order });
    assert.deepEqual(r.textToMolecule.map((o) => o.positions), expectT2m, `t2m, block ${blockSize}`);
    assert.deepEqual(r.moleculeToText.map((o) => o.positions), expectM2t, `m2t, block ${blockSize}`);
  }
});

test('with one gold each and no ties, the metrics equal retrievalMetrics on the whole matrix', () => {
  const rand = mulberry32(3);
  const n = 20;
  const s = Array.from({ length: n }, () => Array.from({ length: n }, () => rand()));
  const self = Int32Array.from({ length: n }, (_, i) => i);
  const r = rankBothDirections({ gold: self, candidates: n, query: self, queryCandidate: self, identity: self }, matrixScorer(s), { blockSize: 6 });
  const ref = retrievalMetrics(Float32Array.from(s.flat()), n, n, self);
  for (const [mine, theirs] of [[metricsFromOutcomes(r.textToMolecule), ref.textToMolecule], [metricsFromOutcomes(r.moleculeToText), ref.moleculeToText]] as const) {
    assert.equal(mine.hits1, theirs.hits1);
    assert.equal(mine.hits10, theirs.hits10);
    assert.ok(Math.abs(mine.mrr - theirs.mrr) < 1e-12);
    assert.equal(mine.meanRank, theirs.meanRank);
    assert.equal(mine.recall5, mine.hits5);
  }
});

test('rerank: the top K are re-ordered by the fine score, golds beyond K keep their first-stage position', () => {
  // 4 texts, 4 molecules; texts 0 and 3 describe molecule 0, text 1 molecule 2, text 2 molecule 3
  const task: RankingTask = {
    gold: Int32Array.from([0, 2, 3, 0]), candidates: 4,
    query: Int32Array.from([0, 1, 2, 0]), queryCandidate: Int32Array.from([0, 2, 3]), identity: Int32Array.from([0, 1, 2, 3]),
  };
  const s = [
    [0.5, 0.9, 0.1, 0.2],
    [0.9, 0.8, 0.3, 0.1],
    [0.1, 0.2, 0.3, 0.95],
    [0.05, 0.1, 0.2, 0.3],
  ];
  const first = rankBothDirections(task, matrixScorer(s), { keepTop: 2 });
  assert.deepEqual(first.topMolecules!.map((t) => (t ? Array.from(t) : null)), [[1, 0], null, [3, 2], null]);
  // molecule 2's column: text 2 ties its gold text 1 at 0.3 and goes first
  assert.deepEqual(first.topTexts!.map((t) => Array.from(t!)), [[1, 0], [2, 1], [2, 3]]);
  assert.deepEqual(first.moleculeToText.map((o) => o.positions), [[2, 4], [2], [1]]);
  const calls: string[] = [];
  const fine = {
    textToMolecules: (i: number, c: Int32Array) => { calls.push(`t${i}`); return i === 0 ? [0.1, 0.7] : [0.2, 0.6]; },
    moleculeToTexts: (q: number) => { calls.push(`q${q}`); return q === 0 ? [0.3, 0.4] : q === 1 ? [0.5, 0.5] : [0.1, 0.9]; },
  };
  const r = rerankTop(task, first, 2, fine);
  assert.deepEqual(calls, ['t0', 't2', 'q0', 'q1', 'q2']);   // texts 1 and 3 have their gold beyond K: no second stage
  assert.deepEqual(r.textToMolecule.map((o) => o.rank), [1, 3, 2, 4]);
  // molecule 0: text 0 moves to 1, text 3 stays at 4; molecule 2: a fine tie goes against the gold; molecule 3 drops to 2
  assert.deepEqual(r.moleculeToText.map((o) => o.positions), [[1, 4], [2], [2]]);
  const m = metricsFromOutcomes(r.moleculeToText);
  assert.ok(Math.abs(m.recall1 - 50 / 3) < 1e-9);
});
