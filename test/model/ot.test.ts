// Token ↔ motif optimal transport: marginals, masks, the official IPOT recurrence (a plain-JS port of
// reference §7 as the oracle), and the argmax/argmin assignment question of reference §12 item 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, normalize, randn, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { assignTokens, ipotPlan, ipotPlanOps, sinkhornPlan } from '../../src/model/ot.js';

/** The official IPOT (uniform marginals over all slots) on plain arrays, one problem. */
function officialIpot(cost: number[][], beta = 0.5, iterations = 50): number[][] {
  const n = cost.length, m = cost[0]!.length;
  const A = cost.map((r) => r.map((c) => Math.exp(-c / beta)));
  let P = cost.map((r) => r.map(() => 1));
  let sigma = new Array<number>(m).fill(1 / m);
  for (let it = 0; it < iterations; it++) {
    const Q = A.map((r, i) => r.map((x, j) => x * P[i]![j]!));
    const delta = Q.map((r) => 1 / (n * r.reduce((s, x, j) => s + x * sigma[j]!, 0) + 1e-8));
    sigma = Array.from({ length: m }, (_, j) => 1 / (m * Q.reduce((s, r, i) => s + r[j]! * delta[i]!, 0) + 1e-8));
    P = Q.map((r, i) => r.map((x, j) => delta[i]! * x * sigma[j]!));
  }
  return P;
}

function rows(t: Tensor): number[][] {
  const [n, m] = t.shape as [number, number];
  const v = t.toNumbers();
  return Array.from({ length: n }, (_, i) => v.slice(i * m, (i + 1) * m));
}

test('IPOT with uniformOverPadding equals the official recurrence', () => tidy(() => {
  manualSeed(4);
  const cost = randn([2, 7, 4]).abs();
  const plan = ipotPlan(cost, { rowMask: tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]]), colMask: tensor([[1, 1, 1, 0], [1, 1, 1, 1]]), uniformOverPadding: true });
  for (let b = 0; b < 2; b++) {
    const ours = rows(plan.select(0, b));
    const ref = officialIpot(rows(cost.select(0, b)));
    ours.forEach((r, i) => r.forEach((x, j) => assert.ok(Math.abs(x - ref[i]![j]!) < 1e-6, `problem ${b} [${i},${j}]: ${x} vs ${ref[i]![j]}`)));
  }
}));

test('masked IPOT and Sinkhorn put no mass on padding and meet the marginals of the real slots', () => tidy(() => {
  manualSeed(5);
  const cost = randn([3, 6, 5]).abs();
  const rowMask = tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]);
  const colMask = tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]);
  const nReal = [6, 3, 4], mReal = [5, 2, 4];
  for (const plan of [ipotPlan(cost, { rowMask, colMask, iterations: 200 }), sinkhornPlan(cost, { rowMask, colMask, epsilon: 0.5, iterations: 500 })]) {
    for (let b = 0; b < 3; b++) {
      const p = rows(plan.select(0, b));
      p.forEach((r, i) => r.forEach((x, j) => { if (i >= nReal[b]! || j >= mReal[b]!) assert.equal(x, 0, `mass on padding [${b},${i},${j}]`); }));
      for (let i = 0; i < nReal[b]!; i++) assert.ok(Math.abs(p[i]!.reduce((s, x) => s + x, 0) - 1 / nReal[b]!) < 1e-3, `row ${i} of problem ${b}`);
      for (let j = 0; j < mReal[b]!; j++) assert.ok(Math.abs(p.reduce((s, r) => s + r[j]!, 0) - 1 / mReal[b]!) < 1e-3, `column ${j} of problem ${b}`);
    }
  }
}));

test('argmax of the plan finds each token\'s own motif; the official argmin picks the least aligned one', () => tidy(() => {
  manualSeed(6);
  // 6 motifs, 7 tokens drawn near each (the simulation of reference §12 item 2; balanced, since the
  // uniform marginals give every motif the same capacity).
  const motifs = normalize(randn([6, 32]), -1);
  const owner = Array.from({ length: 42 }, (_, i) => i % 6);
  const tokens = normalize(motifs.indexSelect(0, tensor(owner, { dtype: 'int64' })).add(randn([42, 32]).mul(0.05)), -1);
  const cost = tokens.matmul(motifs.transpose(0, 1)).rsub(1).unsqueeze(0);
  const masks = { rowMask: tensor([new Array<number>(42).fill(1)]), colMask: tensor([new Array<number>(6).fill(1)]) };
  const plan = ipotPlan(cost, { ...masks, uniformOverPadding: true });
  const hits = (pick: 'argmax' | 'argmin') => assignTokens(plan, pick, masks).toNumbers().filter((m, i) => m === owner[i]).length;
  assert.equal(hits('argmax'), 42);
  assert.equal(hits('argmin'), 0);
}));

test('the native IPOT kernel equals IPOT written as tensor ops, masked and official', () => tidy(() => {
  manualSeed(9);
  const cost = randn([3, 4, 7, 5]).abs();
  const rowMask = tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 0]]).unsqueeze(1).expand(3, 4, 7);
  const colMask = tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]).unsqueeze(0).expand(3, 4, 5);
  for (const uniformOverPadding of [false, true]) {
    for (const iterations of [0, 1, 50]) {
      const o = { rowMask, colMask, uniformOverPadding, iterations };
      const diff = ipotPlan(cost, o).sub(ipotPlanOps(cost, o)).abs().max().item();
      assert.ok(diff < 1e-6, `uniformOverPadding ${uniformOverPadding}, ${iterations} iterations: max |diff| ${diff}`);
    }
  }
}));

test('near-ties go to the first motif, whatever rounding noise says; a NaN still wins', () => tidy(() => {
  // masses 1e-5 apart (relative): the cost GEMM's blocking leaves identical motifs that far apart
  const plan = tensor([[[0.2, 0.5, 0.1, 0.500005],
                        [0.500005, 0.1, 0.5, 0.2],
                        [0.3, 0.2, 0.29, 0.1],
                        [0.01, 0.0100001, 0.5, 0.02],
                        [0.1, NaN, 0.5, NaN],
                        [0, 0, 0, 0]]]);
  assert.deepEqual(assignTokens(plan, 'argmax').toNumbers(), [1, 0, 0, 2, 1, 0]);
  assert.deepEqual(assignTokens(plan, 'argmin').toNumbers(), [2, 1, 3, 0, 1, 0]);
  // real differences beyond the tolerance decide as before
  assert.deepEqual(assignTokens(tensor([[0.5, 0.502], [0.502, 0.5]]), 'argmax').toNumbers(), [1, 0]);
  // argmin with masks: padded entries (set to 1 first) never win
  const masks = { rowMask: tensor([[1, 1]]), colMask: tensor([[1, 1, 0]]) };
  assert.deepEqual(assignTokens(tensor([[[0.3, 0.3000001, 0], [0.4, 0.1, 0]]]), 'argmin', masks).toNumbers(), [0, 1]);
}));
