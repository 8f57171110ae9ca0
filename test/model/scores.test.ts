// The three alignment scores: a plain-JS oracle of the grouped score, pair independence (a score depends
// only on its text and its molecule, not on the batch), padding invariance, gradients, and InfoNCE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, crossEntropy, manualSeed, randn, setDefaultDtype, tensor, tidy, zeros, type Tensor } from '../../src/tensor/index.js';
import { globalScores, groupedScores, groupedScoresBlockwise, localScoresSameSlot, midScores, midScoresBlockwise, midScoresSameSlot } from '../../src/model/scores.js';
import { localPairScores, midPairScores } from '../../src/tensor/index.js';
import { symmetricInfoNce } from '../../src/model/losses.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

type Mat = number[][];
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (a: number[]) => { const n = Math.sqrt(dot(a, a)); return a.map((x) => x / Math.max(n, 1e-12)); };
const ln0 = (a: number[]) => { const m = a.reduce((s, x) => s + x, 0) / a.length; const v = a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length; return a.map((x) => (x - m) / Math.sqrt(v + 1e-5)); };
const sumRows = (rows: Mat) => rows.reduce((acc, r) => acc.map((x, i) => x + r[i]!), new Array<number>(rows[0]!.length).fill(0));

/** The grouped score of one (queries, keys) pair, real rows only, written out step by step. */
function groupedOracle(q: Mat, k: Mat): number {
  const grouped = q.map((qt) => {
    const s = k.map((kk) => dot(qt, kk));
    const lo = Math.min(...s), hi = Math.max(...s);
    const scaled = s.map((x) => (x - lo + 1e-6) / (hi - lo + 1e-6));
    const total = scaled.reduce((a, b) => a + b, 0) + 1e-8;
    return sumRows(k.map((kk, j) => kk.map((x) => (x * scaled[j]!) / total)));
  });
  return dot(ln0(sumRows(q.map(unit))), ln0(sumRows(grouped.map(unit))));
}

function mat(t: Tensor): Mat {
  const [r, c] = t.shape as [number, number];
  const v = t.toNumbers();
  return Array.from({ length: r }, (_, i) => v.slice(i * c, (i + 1) * c));
}

test('grouped scores equal the step-by-step oracle for every pair, padding ignored', () => tidy(() => {
  manualSeed(8);
  const q = randn([2, 5, 6]), k = randn([3, 4, 6]);
  const qMask = tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]);
  const kMask = tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]);
  const s = mat(groupedScores(q, qMask, k, kMask));
  const nReal = [5, 3], kReal = [4, 2, 1];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
    const ref = groupedOracle(mat(q.select(0, i)).slice(0, nReal[i]), mat(k.select(0, j)).slice(0, kReal[j]));
    assert.ok(Math.abs(s[i]![j]! - ref) < 1e-3 * Math.max(1, Math.abs(ref)), `pair (${i}, ${j}): ${s[i]![j]} vs ${ref}`);
  }
}));

test('scores are functions of (text, molecule): the same in any batch, whatever the padding', () => tidy(() => {
  manualSeed(9);
  const tokens = randn([3, 6, 8]), tokMask = tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]]);
  const atoms = randn([4, 7, 8]), atomMask = tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0]]);
  const motifs = randn([4, 3, 8]), motifMask = tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]]);
  const local = mat(groupedScores(tokens, tokMask, atoms, atomMask));
  const mid = mat(midScores(tokens, tokMask, motifs, motifMask));
  // text 1 alone against molecule 2 alone, with extra padding slots holding garbage
  const padT = cat([tokens.narrow(0, 1, 1), randn([1, 3, 8])], 1), padTMask = cat([tokMask.narrow(0, 1, 1), zeros([1, 3])], 1);
  const padA = cat([atoms.narrow(0, 2, 1), randn([1, 2, 8])], 1), padAMask = cat([atomMask.narrow(0, 2, 1), zeros([1, 2])], 1);
  const padM = cat([motifs.narrow(0, 2, 1), randn([1, 2, 8])], 1), padMMask = cat([motifMask.narrow(0, 2, 1), zeros([1, 2])], 1);
  assert.ok(Math.abs(groupedScores(padT, padTMask, padA, padAMask).item() - local[1]![2]!) < 1e-4, 'local score depends on the batch');
  assert.ok(Math.abs(midScores(padT, padTMask, padM, padMMask).item() - mid[1]![2]!) < 1e-4, 'mid score depends on the batch');
  assert.deepEqual(globalScores(randn([2, 4]), randn([5, 4])).shape, [2, 5]);
}));

test('the mid score needs real motifs first', () => tidy(() => {
  assert.throws(() => midScores(randn([1, 3, 4]), tensor([[1, 1, 1]]), randn([1, 3, 4]), tensor([[1, 0, 1]])), /molecule 0's motif mask is not real-motifs-first/);
}));

test('the mid score changes with the assignment rule (argmax vs the official argmin)', () => tidy(() => {
  manualSeed(10);
  const tokens = randn([2, 9, 8]), motifs = randn([2, 4, 8]);
  const ones = (b: number, n: number) => tensor(Array.from({ length: b }, () => new Array<number>(n).fill(1)));
  const a = midScores(tokens, ones(2, 9), motifs, ones(2, 4), { pick: 'argmax' });
  const b = midScores(tokens, ones(2, 9), motifs, ones(2, 4), { pick: 'argmin' });
  assert.ok(a.sub(b).abs().max().item() > 1e-3);
}));

test('gradients of the grouped and mid scores (float64 finite differences)', () => {
  setDefaultDtype('float64');
  try {
    tidy(() => {
      manualSeed(11);
      const q = randn([2, 3, 4]), k = randn([2, 3, 4]);
      const qMask = tensor([[1, 1, 1], [1, 1, 0]]), kMask = tensor([[1, 1, 1], [1, 1, 0]]);
      assertGradcheck((a, b) => groupedScores(a!, qMask, b!, kMask), [q, k], { wrt: [0, 1] }, 'groupedScores');
      assertGradcheck((a, b) => midScores(a!, qMask, b!, kMask), [q, k], { wrt: [0, 1] }, 'midScores');
    });
  } finally {
    setDefaultDtype('float32');
  }
});

test('symmetric InfoNCE is the mean of the two cross-entropies', () => tidy(() => {
  manualSeed(12);
  const logits = randn([5, 5]);
  const labels = tensor([0, 1, 2, 3, 4], { dtype: 'int64' });
  const ref = crossEntropy(logits, labels).add(crossEntropy(logits.transpose(0, 1), labels)).mul(0.5).item();
  assert.ok(Math.abs(symmetricInfoNce(logits).item() - ref) < 1e-6);
}));

test('same-slot pairing (official): its diagonal is the pairwise diagonal, its off-diagonal mixes pairs', () => tidy(() => {
  manualSeed(21);
  const tokens = randn([3, 6, 8]), tokMask = tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]]);
  const atoms = randn([3, 5, 8]), atomMask = tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]);
  const motifs = randn([3, 3, 8]), motifMask = tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]]);
  for (const [pairwise, sameSlot] of [
    [groupedScores(tokens, tokMask, atoms, atomMask), localScoresSameSlot(tokens, tokMask, atoms, atomMask)],
    [midScores(tokens, tokMask, motifs, motifMask), midScoresSameSlot(tokens, tokMask, motifs, motifMask)],
  ] as const) {
    const a = mat(pairwise), b = mat(sameSlot);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i]![i]! - b[i]![i]!) < 1e-4, `diagonal ${i}: ${a[i]![i]} vs ${b[i]![i]}`);
    assert.ok(Math.abs(a[0]![1]! - b[0]![1]!) > 1e-4, 'off-diagonal same-slot scores should differ from the pairwise ones');
  }
}));

test('one-key molecules with large similarities keep finite gradients (δ survives the shift in float32)', () => tidy(() => {
  manualSeed(22);
  const q = randn([2, 5, 8]).mul(30).requiresGrad_(true), k = randn([2, 1, 8]).mul(30).requiresGrad_(true);
  const mask = tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]), kMask = tensor([[1], [1]]);
  const s = groupedScores(q, mask, k, kMask, { cosine: true });
  s.sum().backward();
  for (const [name, t] of [['queries', q], ['keys', k]] as const) {
    assert.ok(t.grad!.isfinite().all(), `${name}: non-finite gradient`);
  }
  assert.ok(s.isfinite().all());
}));

test('the tensor-op grains: blocks of similar-size molecules (a small budget forces many) give the same scores as one padded block', () => tidy(() => {
  manualSeed(23);
  const tokens = randn([4, 7, 8]), tokMask = tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0]]);
  const atoms = randn([5, 9, 8]), atomMask = tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0]]);
  const motifs = randn([5, 4, 8]), motifMask = tensor([[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]]);
  const close = (a: Tensor, b: Tensor, what: string) => assert.ok(a.sub(b).abs().max().item() < 1e-5, what);
  close(groupedScoresBlockwise(tokens, tokMask, atoms, atomMask, { budget: 40 }), groupedScoresBlockwise(tokens, tokMask, atoms, atomMask), 'local');
  close(midScoresBlockwise(tokens, tokMask, motifs, motifMask, { budget: 24 }), midScoresBlockwise(tokens, tokMask, motifs, motifMask), 'mid');
  // any block fill: from one padded block per text chunk (0) to a block per size (1)
  for (const minFill of [0, 1]) {
    close(groupedScoresBlockwise(tokens, tokMask, atoms, atomMask, { budget: 40, minFill }), groupedScoresBlockwise(tokens, tokMask, atoms, atomMask), `local, minFill ${minFill}`);
    close(midScoresBlockwise(tokens, tokMask, motifs, motifMask, { budget: 24, minFill }), midScoresBlockwise(tokens, tokMask, motifs, motifMask), `mid, minFill ${minFill}`);
  }
}));

/** A random padded batch: per item a real length in [0, most] (real slots first), the rest garbage. */
function padded(lengths: number[], most: number, d: number): { x: Tensor; mask: Tensor } {
  const mask = tensor(lengths.map((n) => Array.from({ length: most }, (_, j) => (j < n ? 1 : 0))));
  return { x: randn([lengths.length, most, d]), mask };
}

test('the native grains (ragged, one op per grain) equal the tensor ops over blocks: scores and gradients', () => tidy(() => {
  manualSeed(31);
  // texts of 1-9 tokens; molecules of 0-8 atoms and 0-5 motifs (a molecule without keys scores 0 in both)
  const t = padded([9, 1, 6, 4, 7], 9, 16), a = padded([8, 1, 0, 5, 3, 8], 8, 16), m = padded([5, 1, 0, 2, 3, 5], 5, 16);
  // large similarities too: min-max weights with a wide spread
  const scaled = [t.x.mul(3), a.x.mul(3), m.x.mul(3)];
  for (const [q, k, km, grain] of [[scaled[0]!, scaled[1]!, a.mask, 'local'], [scaled[0]!, scaled[2]!, m.mask, 'mid']] as const) {
    for (const o of [{ cosine: true }, { cosine: false }, { cosine: true, pick: 'argmin' as const }]) {
      if (grain === 'local' && 'pick' in o) continue;
      const run = (f: typeof groupedScores) => {
        const qq = q.detach().requiresGrad_(true), kk = k.detach().requiresGrad_(true);
        const s = f(qq, t.mask, kk, km, o);
        // a loss that weighs every pair differently
        s.mul(randn(s.shape as number[]).add(0)).sum().backward();
        return [s, qq.grad!, kk.grad!];
      };
      manualSeed(32);
      const native = run(grain === 'local' ? groupedScores : midScores);
      manualSeed(32);
      const ops = run(grain === 'local' ? groupedScoresBlockwise : midScoresBlockwise);
      ['scores', 'query gradients', 'key gradients'].forEach((what, i) => {
        const diff = native[i]!.sub(ops[i]!).abs().max().item(), scale = Math.max(1, ops[i]!.abs().max().item());
        assert.ok(diff < 2e-4 * scale, `${grain} ${JSON.stringify(o)}: ${what} differ by ${diff} (scale ${scale})`);
      });
      assert.ok(native[0]!.abs().max().item() > 1e-3, `${grain}: scores all zero`);
    }
  }
}));

test('gradients of the native grains with cosine scores, one-key molecules and keyless ones (float64 finite differences)', () => {
  setDefaultDtype('float64');
  try {
    tidy(() => {
      manualSeed(33);
      const q = randn([3, 4, 5]), k = randn([3, 3, 5]);
      const qMask = tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]]), kMask = tensor([[1, 1, 1], [1, 0, 0], [0, 0, 0]]);
      assertGradcheck((a, b) => groupedScores(a!, qMask, b!, kMask, { cosine: true }), [q, k], { wrt: [0, 1] }, 'groupedScores cosine');
      assertGradcheck((a, b) => midScores(a!, qMask, b!, kMask, { cosine: true }), [q, k], { wrt: [0, 1] }, 'midScores cosine');
    });
  } finally {
    setDefaultDtype('float32');
  }
});

test('the native grains reject inputs that do not fit, naming what is wrong', () => tidy(() => {
  const x = randn([4, 8]), k = randn([3, 8]);
  const off = (v: number[]) => tensor(v, { dtype: 'int64' });
  assert.throws(() => midPairScores(x, k, off([0, 4]), off([0, 3]), tensor([[0, 1, 2, 3]], { dtype: 'int32' }), true), /assign of pair 0, token 3 is not one of its molecule's 3 motifs/);
  assert.throws(() => midPairScores(x, k, off([0, 5]), off([0, 3]), tensor([[0, 0, 0, 0, 0]], { dtype: 'int32' }), true), /rowOffsets must start at 0 and end within the 4 rows/);
  assert.throws(() => localPairScores(randn([4, 2]), k, randn([1, 8]), off([0, 4]), off([0, 2]), true), /keys must have one row per sim column/);
  assert.throws(() => localPairScores(randn([4, 3]), k, randn([2, 8]), off([0, 4]), off([0, 3]), true), /u must be \[texts, D\]/);
}));
