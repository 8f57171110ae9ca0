// Optimal transport between tokens and motifs (ORMA's mid-grained alignment, orma-reference.md §7).
//
// ipotPlan: the inexact proximal point method (Xie et al. 2020) with one Sinkhorn step per iteration,
// as ORMA's code (β = 0.5, 50 iterations). sinkhornPlan: plain entropic OT. Both run batched over any
// leading dims, without autograd (the plan only decides assignments), and with masks so that padded
// tokens and motifs carry no mass. `uniformOverPadding` reproduces the official code, whose uniform
// marginals spread mass over every padded slot too (reference §12 item 5).
import { ipotKernelLanes, noGrad, tidy, type Tensor } from '../tensor/index.js';

export interface OtOptions {
  /** [..., n] 1 for real tokens, 0 for padding (any numeric or bool dtype). */
  rowMask: Tensor;
  /** [..., m] 1 for real motifs. */
  colMask: Tensor;
  /** Official-code behaviour: marginals 1/n and 1/m over all slots, padding included. Default false. */
  uniformOverPadding?: boolean;
}

const EPS = 1e-8;

/** Marginals: uniform over the real slots of each problem (or over all slots, as the official code). */
function marginals(mask: Tensor, uniformOverPadding: boolean): Tensor {
  const m = mask.to('float32');
  if (uniformOverPadding) return m.mul(0).add(1 / m.size(-1));
  return m.div(m.sum(-1, true).clampMin(1));
}

/**
 * IPOT plan for costs C [..., n, m]: Π minimises ⟨C, Π⟩ with row sums a and column sums b.
 * Returns Π [..., n, m] (float32, no grad); rows/columns of padding are 0 unless uniformOverPadding.
 */
export function ipotPlan(cost: Tensor, o: OtOptions & { beta?: number; iterations?: number }): Tensor {
  const beta = o.beta ?? 0.5, iterations = o.iterations ?? 50;
  return noGrad(() => {
    const a = marginals(o.rowMask, o.uniformOverPadding ?? false);   // [..., n]
    const b = marginals(o.colMask, o.uniformOverPadding ?? false);   // [..., m]
    // the native kernel keeps each plan in cache for all its iterations and solves one plan per SIMD
    // lane, bit-identical to the scalar ipotKernel (the same recurrence as ipotPlanOps below): 10-15 ms
    // against 255-285 ms as tensor ops and ~50 ms scalar on a step's ~1,000 plans of 61 × 7 (docs/model.md)
    return ipotKernelLanes(cost.detach(), a, b, beta, iterations);
  });
}

/** IPOT written as tensor ops: the reference the native kernel is tested against. */
export function ipotPlanOps(cost: Tensor, o: OtOptions & { beta?: number; iterations?: number }): Tensor {
  const beta = o.beta ?? 0.5, iterations = o.iterations ?? 50;
  return noGrad(() => {
    const c = cost.detach().to('float32');
    const a = marginals(o.rowMask, o.uniformOverPadding ?? false).unsqueeze(-1);   // [..., n, 1]
    const b = marginals(o.colMask, o.uniformOverPadding ?? false).unsqueeze(-1);   // [..., m, 1]
    let kernel = c.div(-beta).exp();
    if (!o.uniformOverPadding) kernel = kernel.mul(pairMask(o.rowMask, o.colMask));
    return ipotIterations(kernel, a, b, kernel.mul(0).add(1), iterations);
  });
}

/**
 * IPOT from given masses and a given initial plan (tensor ops): costs [..., n, m], row masses a [..., n],
 * column masses b [..., m], initial plan [..., n, m]. With a row or column that stands for several identical
 * slots (mass = slots / total, initial plan = its slot count), this is the plan of the expanded problem with
 * those slots merged: the official code's padded slots, one row and one column each (scores.ts, `slots`).
 */
export function ipotPlanFrom(cost: Tensor, a: Tensor, b: Tensor, initial: Tensor, o: { beta?: number; iterations?: number } = {}): Tensor {
  return noGrad(() => ipotIterations(cost.detach().to('float32').div(-(o.beta ?? 0.5)).exp(), a.to('float32').unsqueeze(-1),
    b.to('float32').unsqueeze(-1), initial.to('float32'), o.iterations ?? 50));
}

/** IPOT's iterations with one Sinkhorn step each: kernel [..., n, m], masses a [..., n, 1] and b [..., m, 1]. */
function ipotIterations(kernel: Tensor, a: Tensor, b: Tensor, plan: Tensor, iterations: number): Tensor {
  let sigma = b.mul(0).add(1 / kernel.size(-1));
  for (let it = 0; it < iterations; it++) {
    // one scope per iteration: the intermediates of 50 iterations over every text × molecule pair
    // would otherwise all stay alive until the end (gigabytes of fresh pages)
    [plan, sigma] = tidy(() => {
      const q = kernel.mul(plan);
      const delta = a.div(q.matmul(sigma).add(EPS));
      const nextSigma = b.div(q.transpose(-1, -2).matmul(delta).add(EPS));
      return [delta.mul(q).mul(nextSigma.transpose(-1, -2)), nextSigma];
    });
  }
  return plan;
}

/** Entropic OT (Sinkhorn–Knopp) with regularisation ε for costs C [..., n, m]. */
export function sinkhornPlan(cost: Tensor, o: OtOptions & { epsilon?: number; iterations?: number }): Tensor {
  const epsilon = o.epsilon ?? 0.1, iterations = o.iterations ?? 100;
  return noGrad(() => {
    const c = cost.detach().to('float32');
    const a = marginals(o.rowMask, o.uniformOverPadding ?? false).unsqueeze(-1);
    const b = marginals(o.colMask, o.uniformOverPadding ?? false).unsqueeze(-1);
    let kernel = c.div(-epsilon).exp();
    if (!o.uniformOverPadding) kernel = kernel.mul(pairMask(o.rowMask, o.colMask));
    let v = b.mul(0).add(1);
    let u = a;
    for (let it = 0; it < iterations; it++) {
      [u, v] = tidy(() => {
        const nextU = a.div(kernel.matmul(v).add(EPS));
        return [nextU, b.div(kernel.transpose(-1, -2).matmul(nextU).add(EPS))];
      });
    }
    return u.mul(kernel).mul(v.transpose(-1, -2));
  });
}

/** [..., n, m] float mask of (real row, real column) pairs. */
function pairMask(rowMask: Tensor, colMask: Tensor): Tensor {
  return rowMask.to('float32').unsqueeze(-1).mul(colMask.to('float32').unsqueeze(-2));
}

/**
 * Masses within this fraction of a row's best count as tied, and ties go to the first motif. Identical
 * motifs (the two methoxy groups of an acetal) get equal masses in exact arithmetic, but the cost GEMM's
 * blocking depends on the batch's shape and on OpenBLAS's kernel family, which left them 1e-7 to 2e-5
 * apart (measured): a plain argmax then gave tokens to either copy by rounding noise, and a molecule's
 * fused score depended on which molecules shared its batch. The pool scorer (pool-scores.ts) passes this
 * same constant to its native kernel (native/src/pool_kernels.cc assignLanes).
 */
export const OT_TIE_TOLERANCE = 1e-3;

/**
 * Hard token → motif assignment from a plan [..., n, m]: the motif with the largest mass ('argmax', the
 * paper's intent) or, as the official code does, the smallest ('argmin', reference §12 item 2), where
 * the official code also sets padded entries to 1 first; the first motif among near-ties
 * (OT_TIE_TOLERANCE), and the first NaN if a row has one. Returns int64 [..., n].
 */
export function assignTokens(plan: Tensor, pick: 'argmax' | 'argmin' = 'argmax', o?: OtOptions): Tensor {
  return noGrad(() => tidy(() => {
    const padded = pick === 'argmin' && o ? pairMask(o.rowMask, o.colMask).eq(0) : null;
    const p = padded ? plan.maskedFill(padded, 1) : plan;
    const best = (pick === 'argmax' ? p.max(-1, true) : p.min(-1, true)).values;
    const near = pick === 'argmax' ? p.ge(best.mul(1 - OT_TIE_TOLERANCE)) : p.le(best.mul(1 + OT_TIE_TOLERANCE));
    // argmax returns the first of equal maxima: the first candidate
    return near.logicalOr(p.isnan()).to('float32').argmax(-1);
  }));
}
