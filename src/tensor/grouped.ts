// The pooled key weights of ORMA's grouped (SPARC-style) scores as one native op with its own backward
// (native/src/grouped.cc): as tensor ops the chain is ~30 passes and autograd nodes over
// [texts, molecules, tokens, keys] blocks per step; here one native pass each way for the O(n·k) part,
// batched products for the Gram terms, and a single autograd node.
import { native } from './native.js';
import { tidy } from './scope.js';
import { wrap, type Tensor } from './tensor.js';

/**
 * p [..., k] for similarities sim [..., n, k], Gram matrices gram [..., k, k] of the keys, query mask
 * qm [..., n] and key mask km [..., k] (leading dims broadcast to sim's): per problem and query t,
 * w_t = (sim_t − min over real keys + 1e-6) on real keys, normalised to sum 1; p = Σ_t qm_t · w_t / √(w_t gram w_tᵀ).
 * Differentiable in sim and gram; float32 or float64. scores.ts `groupedKeyVectorsOps` is the same as tensor ops.
 */
export function groupedPoolWeights(sim: Tensor, gram: Tensor, qm: Tensor, km: Tensor): Tensor {
  return tidy(() => {
    const lead = sim.shape.slice(0, -2), n = sim.size(-2), k = sim.size(-1);
    const x = lead.reduce((a, b) => a * b, 1), dtype = sim.dtype as 'float32';
    const flat = (t: Tensor, ...tail: number[]) => t.to(dtype).expand(...lead, ...tail).reshape(x, ...tail);
    return wrap(native.groupedPoolWeights(sim.reshape(x, n, k).handle, flat(gram, k, k).handle, flat(qm, n).handle, flat(km, k).handle)).reshape(...lead, k);
  });
}
