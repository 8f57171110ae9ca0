// The pool scorer (src/model/pool-scores.ts, native/src/pool.cc): the same scores as Orma.scores on
// texts and molecules of very different sizes (zero-motif molecules included), under the default and
// the official switches; blocks and IPOT lane widths change nothing beyond float rounding; and the
// lane-parallel IPOT gives plans bit-identical to the scalar kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cat, ipotKernel, ipotKernelLanes, liveTensorCount, manualSeed, noGrad, poolLanes, rand, randn, tensor, tidy, zeros, type Tensor } from '../../src/tensor/index.js';
import { BertTokenizer } from '../../src/text/index.js';
import { Orma, type MoleculeVectors, type OrmaConfig } from '../../src/model/orma.js';
import { DEFAULT_ORMA, OFFICIAL_SWITCHES } from '../../src/model/config.js';
import { PoolScorer, type PoolMolecules, type PoolTexts, type RaggedRows } from '../../src/model/pool-scores.js';
import type { TextVectors } from '../../src/model/text-encoder.js';
import { DEFAULT_MODEL_DIR } from '../../src/util/paths.js';

const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
const BERT = { vocabSize: tokenizer.vocab.size, hidden: 32, layers: 2, heads: 2, ffn: 64, maxPositions: 128, dropout: 0 };
const D = 24;

const widths = [1, 2, 4, 8].filter((w) => w <= poolLanes());

test('IPOT lanes: plans bit-identical to the scalar kernel at every lane width, padded rows and columns included', () => tidy(() => {
  manualSeed(31);
  for (const [P, n, m] of [[13, 7, 3], [9, 20, 1], [11, 40, 17], [5, 3, 30]] as const) {
    const cost = rand([P, n, m]).mul(2);
    // some problems with padded rows or columns (marginal 0), as midScores' masks make them
    const a = tensor(Array.from({ length: P }, (_, p) => Array.from({ length: n }, (_, i) => (i < n - (p % 3) ? 1 / (n - (p % 3)) : 0))));
    const b = tensor(Array.from({ length: P }, (_, p) => Array.from({ length: m }, (_, j) => (j < m - (p % 2 && m > 1 ? 1 : 0) ? 1 / (m - (p % 2 && m > 1 ? 1 : 0)) : 0))));
    const ref = ipotKernel(cost, a, b, 0.5, 50);
    for (const w of [0, ...widths]) {
      const x = ipotKernelLanes(cost, a, b, 0.5, 50, w);
      assert.ok(x.eq(ref).all(), `[${P}, ${n}, ${m}] with ${w} lanes: max |diff| ${x.sub(ref).abs().max().item()}`);
    }
  }
}));

/** Random vectors of items with these lengths, stored as the eval layer does: flat rows and a zero row last. */
function ragged(lengths: number[]): RaggedRows {
  const offsets: number[] = [];
  let at = 0;
  for (const n of lengths) { offsets.push(at); at += n; }
  return { flat: cat([randn([at, D]), zeros([1, D])], 0), offsets, lengths };
}

/** Items `index` of a RaggedRows as a zero-padded [k, L, D] batch and its mask (retrieval.ts `padded`). */
function padded(r: RaggedRows, index: number[]): { x: Tensor; mask: Tensor } {
  const L = Math.max(1, ...index.map((i) => r.lengths[i]!));
  const zero = r.flat.size(0) - 1;
  const rows = new Int32Array(index.length * L).fill(zero), mask = new Uint8Array(index.length * L);
  index.forEach((item, k) => {
    for (let j = 0; j < r.lengths[item]!; j++) { rows[k * L + j] = r.offsets[item]! + j; mask[k * L + j] = 1; }
  });
  const x = r.flat.indexSelect(0, tensor(rows, { dtype: 'int32', shape: [rows.length] }).long()).reshape(index.length, L, D);
  return { x, mask: tensor(mask, { dtype: 'uint8', shape: [index.length, L] }).bool() };
}

// texts of 2 to 150 tokens; molecules of 1 to 140 atoms with 0 to 25 motifs (0: a molecule without motifs
// under zeroMotifs 'none'); the sizes of real inputs are mixed on purpose
const TOKENS = [2, 150, 5, 31, 77, 3, 64, 12];
const ATOMS = [1, 140, 9, 2, 60, 33, 7, 18, 4, 95];
const MOTIFS = [0, 25, 3, 1, 0, 7, 2, 4, 1, 12];

function inputs(): { texts: PoolTexts; molecules: PoolMolecules } {
  return {
    texts: { sentence: randn([TOKENS.length, D]), tokens: ragged(TOKENS), multiTokens: ragged(TOKENS) },
    molecules: { molecule: randn([ATOMS.length, D]), atoms: ragged(ATOMS), motifs: ragged(MOTIFS) },
  };
}

function modelScores(model: Orma, t: PoolTexts, m: PoolMolecules) {
  const ti = TOKENS.map((_, i) => i), mj = ATOMS.map((_, j) => j);
  const tok = padded(t.tokens, ti), multi = padded(t.multiTokens, ti), atoms = padded(m.atoms, mj), motifs = padded(m.motifs, mj);
  const tv: TextVectors = { sentence: t.sentence, tokens: tok.x, multiTokens: multi.x, mask: tok.mask.to('int32') };
  const mv: MoleculeVectors = { molecule: m.molecule, atoms: atoms.x, atomMask: atoms.mask, motifs: motifs.x, motifMask: motifs.mask };
  return model.scores(tv, mv);
}

const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();
/** |a - b| ≤ tol · max(1, |b|) everywhere. */
const close = (a: Tensor, b: Tensor, tol: number) => a.sub(b).abs().le(b.abs().clampMin(1).mul(tol)).all();

const CASES: [string, Partial<OrmaConfig>][] = [
  ['default (cosines, learned scales, argmax)', {}],
  // masked padding: the pool kernels' own path (a model with slots scores through Orma.scores, test/model/orma.test.ts)
  ['official switches (dot products, argmin, exp(temp))', { ...OFFICIAL_SWITCHES, pairing: 'all', slots: null }],
  ['global + local only (combine molatom)', { combine: 'molatom' }],
];

for (const [name, switches] of CASES) {
  test(`the pool scorer equals Orma.scores grain by grain, sizes 1-150 and zero-motif molecules: ${name}`, () => {
    const live = liveTensorCount();
    noGrad(() => tidy(() => {
      manualSeed(32);
      const model = new Orma({ ...DEFAULT_ORMA, ...switches, dim: D, molecule: { hidden: 16, layers: 2, dropout: 0 } }, BERT).eval();
      if (model.logitScale) model.logitScale.copy_(tensor([2.1, 3.3, 2.7]));   // three different scales
      const { texts, molecules } = inputs();
      const ref = modelScores(model, texts, molecules);
      const all = { t: TOKENS.map((_, i) => i), m: ATOMS.map((_, j) => j) };
      const pool = new PoolScorer(model, texts, molecules);
      try {
        const g = pool.grains(all.t, all.m);
        // the logits are cosines times scales of 8-27 here (dot products of up to ~D = 24 with the official
        // switches): equal to float32 rounding, 1e-5 of the magnitude
        assert.ok(close(g.global, ref.global, 1e-5), `global: max |diff| ${maxDiff(g.global, ref.global)}`);
        assert.ok(close(g.fused, ref.fused, 1e-5), `fused: max |diff| ${maxDiff(g.fused, ref.fused)}`);
        if (g.local) assert.ok(close(g.local, ref.local, 1e-5), `local: max |diff| ${maxDiff(g.local, ref.local)}`);
        if (g.mid) assert.ok(close(g.mid, ref.mid, 1e-5), `mid: max |diff| ${maxDiff(g.mid, ref.mid)}`);
        assert.equal(g.mid === null, switches.combine === 'molatom');
        // a molecule without motifs scores exactly 0 at the mid grain
        if (g.mid) for (const j of [0, 4]) assert.equal(g.mid.select(1, j).abs().max().item(), 0);
        // any blocking, any lane width, any order and subset: the same scores
        for (const w of widths) {
          const small = new PoolScorer(model, texts, molecules, { rowBudget: 8, colBudget: 8, lanes: w });
          try {
            assert.ok(maxDiff(small.fused(all.t, all.m), g.fused) < 1e-5, `rowBudget 8, colBudget 8, ${w} lanes`);
          } finally {
            small.dispose();
          }
        }
        const ts = [6, 1, 3], ms = [9, 0, 5, 1];
        const sub = pool.fused(ts, ms).toNumbers(), full = g.fused.toNumbers();
        ts.forEach((i, r) => ms.forEach((j, c) => assert.ok(Math.abs(sub[r * ms.length + c]! - full[i * ATOMS.length + j]!) < 1e-5, `pair (${i}, ${j})`)));
        // text blocks one after the other against the same molecule list reuse its kept blocks (evaluate's rows)
        const keeping = new PoolScorer(model, texts, molecules, { keepBlocksFrom: 1, colBudget: 64 });
        try {
          const rows = [[0, 1, 2], [3, 4], [5, 6, 7]].map((block) => tidy(() => keeping.fused(block, all.m)));
          assert.ok(maxDiff(cat(rows, 0), g.fused) < 1e-5, 'kept molecule blocks');
          assert.ok(maxDiff(keeping.fused(all.t, ms), pool.fused(all.t, ms)) < 1e-5, 'another list after the kept one');
        } finally {
          keeping.dispose();
        }
      } finally {
        pool.dispose();
      }
      model.dispose();
    }));
    assert.equal(liveTensorCount(), live, 'tensors left behind');
  });
}

test('copies of a motif (bit for bit, or 1e-6 apart) do not split tokens between them, in either scorer', () => {
  const live = liveTensorCount();
  noGrad(() => tidy(() => {
    manualSeed(33);
    const model = new Orma({ ...DEFAULT_ORMA, dim: D, molecule: { hidden: 16, layers: 2, dropout: 0 } }, BERT).eval();
    const { texts, molecules } = inputs();
    // molecule 1 (25 motifs): motifs 5 and 9 copies of motif 2; molecule 9 (12 motifs): motif 11 a copy of 0
    const withCopies = (noise: number): PoolMolecules => {
      const rows = molecules.motifs.flat.toNumbers(), o = molecules.motifs.offsets;
      const copy = (to: number, from: number) => { for (let d = 0; d < D; d++) rows[to * D + d] = rows[from * D + d]! * (1 + noise * Math.sin(7 * d + to)); };
      copy(o[1]! + 5, o[1]! + 2); copy(o[1]! + 9, o[1]! + 2); copy(o[9]! + 11, o[9]!);
      const flat = tensor(new Float32Array(rows), { shape: molecules.motifs.flat.shape as [number, number] });
      return { ...molecules, motifs: { ...molecules.motifs, flat } };
    };
    const exact = withCopies(0), near = withCopies(1e-6);
    const mids = [exact, near].map((m) => {
      const ref = modelScores(model, texts, m).mid!;
      const pool = new PoolScorer(model, texts, m);
      try {
        const g = pool.grains(TOKENS.map((_, i) => i), ATOMS.map((_, j) => j)).mid!;
        assert.ok(close(g, ref, 1e-5), `pool vs Orma.scores: max |diff| ${maxDiff(g, ref)}`);
        return ref;
      } finally {
        pool.dispose();
      }
    });
    // a split would move the pair's mid score by a large fraction of its size
    assert.ok(close(mids[1]!, mids[0]!, 1e-4), `copies 1e-6 apart vs exact copies: max |diff| ${maxDiff(mids[1]!, mids[0]!)}`);
    model.dispose();
  }));
  assert.equal(liveTensorCount(), live, 'tensors left behind');
});
