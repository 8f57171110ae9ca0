// Native optimal-transport kernels (native/src/ot.cc): solvers over many small problems at once,
// each kept in cache for all its iterations. No autograd: plans are for decisions, not gradients.
import { native } from './native.js';
import { problems } from './problems.js';
import { tidy } from './scope.js';
import { wrap, type Tensor } from './tensor.js';

/**
 * IPOT plans (one Sinkhorn step per proximal iteration) for costs [..., n, m] with marginals a [..., n]
 * and b [..., m] (broadcast to the costs' leading dims): Π₀ = 1, σ₀ = 1/m, kernel exp(−C/β), zero
 * wherever a_i · b_j = 0 (padding carries no mass). Returns float32 [..., n, m].
 */
export function ipotKernel(cost: Tensor, a: Tensor, b: Tensor, beta: number, iterations: number): Tensor {
  return tidy(() => {
    const n = cost.size(-2), m = cost.size(-1), { flat } = problems(cost, 2);
    return wrap(native.ipotPlan(flat(cost, n, m).handle, flat(a, n).handle, flat(b, m).handle, beta, iterations)).reshape(...cost.shape);
  });
}
