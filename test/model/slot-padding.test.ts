// The official padding-inclusive fine grains (scores.ts `slots`, reference §6-7 and §12 item 5) against the
// official algorithm written out on explicitly padded slots: texts of L token slots (the pad positions'
// vectors included), molecules of A atom or M motif slots holding the padded key vector, min-max over every
// slot, the 1e-8 mask value, sums over every slot, IPOT with uniform marginals over every slot. The merged
// form must give the same scores for every pair (both OT picks), with texts and molecules that fill all
// their slots, a molecule without motifs and a motif no token reaches; and gradients by finite differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cat, manualSeed, randn, setDefaultDtype, tensor, tidy, type Tensor } from '../../src/tensor/index.js';
import { groupedScores, localScoresSameSlot, midScores, midScoresSameSlot } from '../../src/model/scores.js';
import { assignTokens, ipotPlanOps } from '../../src/model/ot.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

type Mat = number[][];
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (a: number[]) => { const n = Math.sqrt(dot(a, a)); return a.map((x) => x / Math.max(n, 1e-12)); };
const ln0 = (a: number[]) => { const m = a.reduce((s, x) => s + x, 0) / a.length; const v = a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length; return a.map((x) => (x - m) / Math.sqrt(v + 1e-5)); };
const sumRows = (rows: Mat, d: number) => rows.reduce((acc, r) => acc.map((x, i) => x + r[i]!), new Array<number>(d).fill(0));
const rowsOf = (t: Tensor): Mat => { const [r, c] = t.shape as [number, number]; const v = t.toNumbers(); return Array.from({ length: r }, (_, i) => v.slice(i * c, (i + 1) * c)); };

/** reference §6 steps 1-8 (and §7's grouping) over slots: rows q with mask qm, key slots k with mask km. */
function sparc(q: Mat, qm: number[], k: Mat, km: number[]): { u: number[]; v: number[] } {
  const d = k[0]!.length;
  const grouped = q.map((qt, t) => {
    const s = k.map((kk) => dot(qt, kk));
    const lo = Math.min(...s), hi = Math.max(...s);
    const scaled = s.map((x, j) => (qm[t]! * km[j]! === 0 ? 1e-8 : (x - lo) / (hi - lo + 1e-8)));
    const total = scaled.reduce((a, b) => a + b, 0) + 1e-8;
    return sumRows(k.map((kk, j) => kk.map((x) => (x * scaled[j]!) / total)), d);
  });
  return { u: ln0(sumRows(q.map(unit), d)), v: ln0(sumRows(grouped.map(unit), d)) };
}

/** Key slots: the real keys, then copies of pad. */
const slotsOf = (real: Mat, pad: number[], slots: number) => ({
  k: [...real, ...Array.from({ length: slots - real.length }, () => pad)],
  mask: Array.from({ length: slots }, (_, j) => (j < real.length ? 1 : 0)),
});

function officialLocal(q: Mat, qm: number[], atoms: Mat, pad: number[], slots: number): number {
  const { k, mask } = slotsOf(atoms, pad, slots);
  const { u, v } = sparc(q, qm, k, mask);
  return dot(u, v);
}

function officialMid(x: Mat, qm: number[], motifs: Mat, pad: number[], slots: number, pick: 'argmax' | 'argmin'): number {
  const { k: y, mask } = slotsOf(motifs, pad, slots);
  const d = pad.length, n = x.length;
  const cost = x.map((xt, t) => y.map((yj, j) => 1 - (qm[t]! * mask[j]! === 0 ? 1e-8 : dot(unit(xt), unit(yj)))));
  const rowMask = tensor([qm]), colMask = tensor([mask]);
  const plan = ipotPlanOps(tensor([cost]), { rowMask, colMask, uniformOverPadding: true });
  // argmin as the official code (padded entries set to 1 first); argmax among the real motifs; padded rows to slot 0
  const picked = pick === 'argmin' ? assignTokens(plan, 'argmin', { rowMask, colMask }) : assignTokens(plan.mul(colMask.unsqueeze(1)), 'argmax');
  const assign = picked.toNumbers().map((a, t) => (qm[t] ? a : 0));
  const phrases = y.map((_, s) => {
    const members = x.filter((_, t) => assign[t] === s);
    return members.length ? sumRows(members, d).map((v) => v / (members.length + 1e-8)) : new Array<number>(d).fill(0);
  });
  const { u, v } = sparc(phrases, mask, y, mask);
  assert.equal(n, qm.length);
  return dot(u, v);
}

function inputs() {
  // 3 texts of 6 token slots (lengths 6, 4, 2: the first fills its slots); real tokens first
  const lengths = [6, 4, 2], L = 6, D = 5;
  const qMask = tensor(lengths.map((n) => Array.from({ length: L }, (_, t) => (t < n ? 1 : 0))));
  // 4 molecules: atoms 5, 3, 2, 1 of A = 5 slots (the first fills them); motifs 3, 2, 0, 1 of M = 3 slots
  const atomCounts = [5, 3, 2, 1], motifCounts = [3, 2, 0, 1];
  const maskOf = (counts: number[], width: number) => tensor(counts.map((c) => Array.from({ length: width }, (_, j) => (j < c ? 1 : 0))));
  return {
    L, D, tokens: randn([3, L, D]).requiresGrad_(true), qMask,
    atoms: randn([4, 5, D]).requiresGrad_(true), atomMask: maskOf(atomCounts, 5), atomCounts,
    motifs: randn([4, 3, D]).requiresGrad_(true), motifMask: maskOf(motifCounts, 3), motifCounts,
    padAtom: randn([D]), padMotif: randn([D]),
  };
}

function withFloat64(f: () => void): void {
  setDefaultDtype('float64');
  try { tidy(f); } finally { setDefaultDtype('float32'); }
}

test('slots: the merged local grain equals the official sums over padded token and atom slots, every pair', () => withFloat64(() => {
  manualSeed(11);
  const x = inputs();
  const got = rowsOf(groupedScores(x.tokens, x.qMask, x.atoms, x.atomMask, { slots: { keys: 5, padKey: x.padAtom } }));
  const qm = rowsOf(x.qMask), pad = x.padAtom.toNumbers();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      const want = officialLocal(rowsOf(x.tokens.select(0, i).detach()), qm[i]!, rowsOf(x.atoms.select(0, j).detach()).slice(0, x.atomCounts[j]), pad, 5);
      assert.ok(Math.abs(got[i]![j]! - want) < 1e-4, `pair (${i}, ${j}): ${got[i]![j]} against the official ${want}`);
    }
  }
  // the padding changes the score (else this test could not tell the modes apart)
  const masked = rowsOf(groupedScores(x.tokens, x.qMask, x.atoms, x.atomMask));
  assert.ok(Math.abs(masked[1]![1]! - got[1]![1]!) > 1e-3);
}));

for (const pick of ['argmax', 'argmin'] as const) {
  test(`slots: the merged mid grain (${pick}) equals the official OT, assignment and sums over padded slots, every pair`, () => withFloat64(() => {
    manualSeed(12);
    const x = inputs();
    const got = rowsOf(midScores(x.tokens, x.qMask, x.motifs, x.motifMask, { pick, slots: { keys: 3, padKey: x.padMotif } }));
    const qm = rowsOf(x.qMask), pad = x.padMotif.toNumbers();
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const want = officialMid(rowsOf(x.tokens.select(0, i).detach()), qm[i]!, rowsOf(x.motifs.select(0, j).detach()).slice(0, x.motifCounts[j]), pad, 3, pick);
        assert.ok(Math.abs(got[i]![j]! - want) < 1e-4, `pair (${i}, ${j}): ${got[i]![j]} against the official ${want}`);
      }
    }
  }));
}

test('slots: a motif that no token reaches and a molecule without motifs score as the official code', () => withFloat64(() => {
  manualSeed(13);
  // one text of 1 real token in 4 slots; a molecule of 3 motifs in 4 slots: the token and the pads (slot 0)
  // reach at most 2 of them
  const D = 4, tokens = randn([1, 4, D]), qMask = tensor([[1, 0, 0, 0]]);
  const motifs = cat([randn([1, 3, D]), randn([1, 3, D]).mul(0)], 0), motifMask = tensor([[1, 1, 1], [0, 0, 0]]), pad = randn([D]);
  const got = rowsOf(midScores(tokens, qMask, motifs, motifMask, { slots: { keys: 4, padKey: pad } }));
  const x = rowsOf(tokens.select(0, 0)), padV = pad.toNumbers();
  assert.ok(Math.abs(got[0]![0]! - officialMid(x, [1, 0, 0, 0], rowsOf(motifs.select(0, 0)), padV, 4, 'argmax')) < 1e-4);
  assert.ok(Math.abs(got[0]![1]! - officialMid(x, [1, 0, 0, 0], [], padV, 4, 'argmax')) < 1e-4, 'zero-motif molecule');
}));

test('slots: more real keys than key slots is an error that names the counts', () => withFloat64(() => {
  const x = inputs();
  assert.throws(() => groupedScores(x.tokens, x.qMask, x.atoms, x.atomMask, { slots: { keys: 4, padKey: x.padAtom } }), /groupedScores: a molecule has 5 keys, more than the 4 key slots/);
}));

test('slots: float64 finite-difference gradients of both grains in tokens, keys and the padded key', () => withFloat64(() => {
  manualSeed(14);
  const x = inputs();
  assertGradcheck((q, k, p) => groupedScores(q!, x.qMask, k!, x.atomMask, { slots: { keys: 6, padKey: p! } }), [x.tokens.detach(), x.atoms.detach(), x.padAtom], { wrt: [0, 1, 2] }, 'local slots');
  assertGradcheck((q, k, p) => midScores(q!, x.qMask, k!, x.motifMask, { slots: { keys: 4, padKey: p! } }), [x.tokens.detach(), x.motifs.detach(), x.padMotif], { wrt: [0, 1, 2] }, 'mid slots');
}));

test('slots with same-slot pairing (the official preset): the diagonal is the pairwise diagonal', () => withFloat64(() => {
  manualSeed(15);
  const x = inputs();
  // same-slot needs paired batches: the first 3 molecules with the 3 texts
  const atoms = x.atoms.detach().narrow(0, 0, 3), atomMask = x.atomMask.narrow(0, 0, 3), motifs = x.motifs.detach().narrow(0, 0, 3), motifMask = x.motifMask.narrow(0, 0, 3);
  const local = { slots: { keys: 5, padKey: x.padAtom } }, mid = { slots: { keys: 3, padKey: x.padMotif } };
  for (const [pairwise, sameSlot] of [
    [groupedScores(x.tokens, x.qMask, atoms, atomMask, local), localScoresSameSlot(x.tokens, x.qMask, atoms, atomMask, local)],
    [midScores(x.tokens, x.qMask, motifs, motifMask, mid), midScoresSameSlot(x.tokens, x.qMask, motifs, motifMask, mid)],
  ] as const) {
    const a = rowsOf(pairwise), b = rowsOf(sameSlot);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i]![i]! - b[i]![i]!) < 1e-6, `diagonal ${i}: ${a[i]![i]} vs ${b[i]![i]}`);
  }
}));
