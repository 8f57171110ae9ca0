// The pooled key weights of ORMA's grouped (SPARC-style) scores as one native op with its own backward
// (native/src/grouped.cc): as tensor ops the chain is ~30 passes and autograd nodes over
// [texts, molecules, tokens, keys] blocks per step; here one native pass per problem each way (the Gram
// terms as register-blocked loops: small batched GEMMs spent their time packing and synchronising), and a
// single autograd node. The Gram matrices are not broadcast by copying: each problem gets an index into them.
import { arange } from './create.js';
import { native } from './native.js';
import { problems } from './problems.js';
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
    const n = sim.size(-2), k = sim.size(-1), dtype = sim.dtype as 'float32';
    const { lead, count, flat } = problems(sim, 2);
    const same = (t: Tensor, ...tail: number[]) => flat(t.to(dtype), ...tail);
    // gram's own leading dims, and for every problem the index of the gram it broadcasts from
    const gramLead = gram.shape.slice(0, -2), grams = gramLead.reduce((a, b) => a * b, 1);
    const index = flat(arange(grams).reshape(...(gramLead.length ? gramLead : [1]))).reshape(count);
    return wrap(native.groupedPoolWeights(flat(sim, n, k).handle, gram.to(dtype).reshape(grams, k, k).handle, index.handle, same(qm, n).handle,
      same(km, k).handle)).reshape(...lead, k);
  });
}
