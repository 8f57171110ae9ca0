// Native kernels of the pool scorer (native/src/pool.cc): forward-only fine-grain scores of many
// (text, molecule) pairs at their real sizes, from ragged inputs (rows and columns cut by offsets).
// No autograd. The model-level function is src/model/pool-scores.ts; these are its building blocks, and
// midAssignments also gives the training path of the mid grain its assignments (scores.ts midRagged).
import { native } from './native.js';
import { problems } from './problems.js';
import { tidy } from './scope.js';
import { wrap, type Tensor } from './tensor.js';

/** Problems the widest IPOT lane group of this CPU solves at once: 8 (AVX-512), 4 (AVX2) or 2. */
export function poolLanes(): number {
  return native.poolLanes();
}

/**
 * ipotKernel (same contract, bit-identical plans) solving `lanes` problems at a time, one per SIMD lane
 * (0: the widest this CPU has). Costs [..., n, m], marginals a [..., n] and b [..., m] broadcast to them.
 */
export function ipotKernelLanes(cost: Tensor, a: Tensor, b: Tensor, beta: number, iterations: number, lanes = 0): Tensor {
  return tidy(() => {
    const n = cost.size(-2), m = cost.size(-1), { flat } = problems(cost, 2);
    return wrap(native.ipotPlanLanes(flat(cost, n, m).handle, flat(a, n).handle, flat(b, m).handle, beta, iterations, lanes)).reshape(...cost.shape);
  });
}

/**
 * Local-grain (grouped) scores [A, B] from token · atom similarities sim [R, C]: text a owns rows
 * rowOffsets[a]..rowOffsets[a+1], molecule b the columns (and `keys` rows) colOffsets[b]..colOffsets[b+1];
 * b's k × k atom gram is grams[gramOffsets[b] ..]; u [A, D] is each text's LN₀(Σ norm(token)).
 * Returns u · v, or cos(u, v) with `cosine` (scores.ts groupedScores, pair by pair, unpadded).
 */
export function localPoolScores(sim: Tensor, rowOffsets: Tensor, colOffsets: Tensor, keys: Tensor, grams: Tensor, gramOffsets: Tensor, u: Tensor, cosine: boolean): Tensor {
  return wrap(native.localPoolScores(sim.handle, rowOffsets.handle, colOffsets.handle, keys.handle, grams.handle, gramOffsets.handle, u.handle, cosine));
}

export interface MidPoolOptions {
  beta: number;
  iterations: number;
  pick: 'argmax' | 'argmin';
  /** Plan masses within this relative distance of a row's best are a tie, won by the first motif (src/model/ot.ts OT_TIE_TOLERANCE). */
  tieTolerance: number;
  cosine: boolean;
  /** IPOT lanes: 0 (default) the widest this CPU has; 1, 2, 4 or 8 for tests. */
  lanes?: number;
}

/**
 * Mid-grain scores [A, B] (scores.ts midScores, pair by pair, unpadded) from cosT [C, R], the products of unit
 * motif vectors with unit multi-token vectors, motif rows by token columns (the OT cost is 1 − cos); tokens
 * [R, D] the multi-token vectors, motifs [C, D] the motif vectors, grams their k × k grams. A molecule
 * without motifs scores 0.
 */
export function midPoolScores(cosT: Tensor, rowOffsets: Tensor, colOffsets: Tensor, tokens: Tensor, motifs: Tensor, grams: Tensor, gramOffsets: Tensor, o: MidPoolOptions): Tensor {
  return wrap(native.midPoolScores(cosT.handle, rowOffsets.handle, colOffsets.handle, tokens.handle, motifs.handle, grams.handle, gramOffsets.handle,
    o.beta, o.iterations, o.pick === 'argmin', o.tieTolerance, o.cosine, o.lanes ?? 0));
}

/**
 * The token → motif assignments of the mid grain (the IPOT plans and tie rule of midPoolScores, same cosT and
 * offsets): int32 [A · B, N], row a · B + b holding the motif (0 .. m_b − 1) of each of text a's real tokens,
 * then −1; N is the longest text. No autograd. For the training op midPairScores (src/tensor/fine.ts).
 */
export function midAssignments(cosT: Tensor, rowOffsets: Tensor, colOffsets: Tensor, o: Omit<MidPoolOptions, 'cosine'>): Tensor {
  return wrap(native.midAssignments(cosT.handle, rowOffsets.handle, colOffsets.handle, o.beta, o.iterations, o.pick === 'argmin', o.tieTolerance, o.lanes ?? 0));
}
