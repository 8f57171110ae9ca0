// ORMA's three alignment scores, each a true function of (text, molecule), computed for every pair of a
// text batch and a molecule batch (the official code aligns only same-slot pairs, reference §12 item 4).
//   global: sentence · molecule                               (reference §5)
//   local:  tokens grouped over atoms, SPARC-style             (reference §6)
//   mid:    OT multi-token vectors grouped over motifs         (reference §7)
// Padding is excluded from every pooling (the official code includes it, §12 item 5).
import { einsum, layerNorm, normalize, stack, tensor, tidy, type Tensor } from '../tensor/index.js';
import { assignTokens, ipotPlan } from './ot.js';

/** [Bt, Bm] = sent [Bt, D] · mol [Bm, D]ᵀ. */
export function globalScores(sent: Tensor, mol: Tensor): Tensor {
  return sent.matmul(mol.transpose(0, 1));
}

/** LN₀: LayerNorm over the last dim without affine parameters (every pooled vector gets norm ≈ √D). */
function ln0(x: Tensor): Tensor {
  return layerNorm(x, [x.size(-1)], null, null, 1e-5);
}

/** Σ over the real slots of x [..., n, D] with mask [..., n] → [..., D]. */
function maskedSum(x: Tensor, mask: Tensor): Tensor {
  return x.mul(mask.to(x.dtype as 'float32').unsqueeze(-1)).sum(-2);
}

/**
 * Grouped ("SPARC-style") alignment scores for every (i, j) pair (reference §6 steps 1-8, padding excluded).
 * queries: [Bt, n, D] (the same for every molecule) or [Bt, Bm, n, D] (per pair, as the mid grain's
 * multi-token vectors); qMask: [Bt, n] or [Bt, Bm, n]. keys: [Bm, k, D]; kMask: [Bm, k]. Returns [Bt, Bm].
 * For pair (i, j): S = Q Kᵀ, min-max normalised over j's real keys per query; W = S / ΣS; G = W K;
 * u = LN₀(Σ_t norm(Q_t)), v = LN₀(Σ_t norm(G_t)) over i's real queries; score = u · v.
 */
export function groupedScores(queries: Tensor, qMask: Tensor, keys: Tensor, kMask: Tensor): Tensor {
  const perPair = queries.ndim === 4;
  const q = perPair ? queries : queries.unsqueeze(1);                  // [Bt, 1|Bm, n, D]
  const qm = (perPair ? qMask : qMask.unsqueeze(1)).to(queries.dtype as 'float32');  // [Bt, 1|Bm, n]
  const padded = kMask.to('bool').logicalNot().unsqueeze(0).unsqueeze(2);  // [1, Bm, 1, k]
  // [Bt, Bm, n, k]; shared queries are not expanded to every pair (that would copy them Bm times)
  const sim = perPair ? einsum('abnd,bkd->abnk', queries, keys) : einsum('and,bkd->abnk', queries, keys);
  // Min-max over the real keys; +δ keeps a query whose keys all score the same (one motif, say) uniform
  // instead of all-zero. A molecule without real keys gets weights 0 (clamp keeps the ±∞ of its empty min/max finite).
  const lo = sim.maskedFill(padded, Infinity).min(-1, true).values.clamp(-1e30, 1e30);
  const hi = sim.maskedFill(padded, -Infinity).max(-1, true).values.clamp(-1e30, 1e30);
  const scaled = sim.sub(lo).add(1e-6).div(hi.sub(lo).add(1e-6)).maskedFill(padded, 0);
  const w = scaled.div(scaled.sum(-1, true).add(1e-8));
  // Σ_t norm(G_t) with G_t = Σ_k w_tk K_k, without materialising G [Bt, Bm, n, D]:
  // ‖G_t‖² = w_t (K Kᵀ) w_tᵀ, and Σ_t G_t / ‖G_t‖ = (Σ_t w_t / ‖G_t‖) K. Exact, with k² in place of k·D work.
  const gram = keys.matmul(keys.transpose(1, 2));                       // [Bm, k, k]
  const sqNorms = einsum('abnk,bkl->abnl', w, gram).mul(w).sum(-1);     // [Bt, Bm, n]
  const invNorms = sqNorms.clampMin(1e-24).rsqrt().mul(qm);             // 1 / max(‖G_t‖, 1e-12) on real queries
  const pooledWeights = w.mul(invNorms.unsqueeze(-1)).sum(2);           // [Bt, Bm, k]
  const u = ln0(maskedSum(normalize(q, -1), qm));                       // [Bt, 1|Bm, D]
  const v = ln0(einsum('abk,bkd->abd', pooledWeights, keys));           // [Bt, Bm, D]
  return u.mul(v).sum(-1);
}

export interface MidOptions {
  /** 'argmax' (largest transport mass, the paper's intent) or 'argmin' (the official code). */
  pick?: 'argmax' | 'argmin';
  beta?: number;
  iterations?: number;
}

/**
 * Multi-token–motif scores for every pair (reference §7): for text i and molecule j, IPOT between i's
 * tokens and j's motifs (cost 1 − cosine), each token goes to one motif, a motif's multi-token vector is
 * the mean of its tokens, then groupedScores of those vectors against j's motifs. Motifs that receive
 * no token are left out of the pooling. tokens [Bt, n, D], tokenMask [Bt, n]; motifs [Bm, m, D],
 * motifMask [Bm, m]. Returns [Bt, Bm].
 */
export function midScores(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  const [bt, n] = tokens.shape as [number, number, number];
  const [bm, m] = motifs.shape as [number, number, number];
  const cost = einsum('and,bmd->abnm', normalize(tokens, -1), normalize(motifs, -1)).rsub(1);   // [Bt, Bm, n, m]
  const rowMask = tokenMask.unsqueeze(1).expand(bt, bm, n);
  const colMask = motifMask.unsqueeze(0).expand(bt, bm, m);
  const assign = assignAll(cost, tokenMask, motifMask, o);                                   // [Bt, Bm, n]
  // one-hot of the assignment over real tokens: [Bt, Bm, n, m]; sums give each motif's tokens
  const onehot = assign.oneHot(m).to(tokens.dtype as 'float32').mul(rowMask.to(tokens.dtype as 'float32').unsqueeze(-1));
  const counts = onehot.sum(2);                                                               // [Bt, Bm, m]
  const multiToken = einsum('abnm,and->abmd', onehot, tokens).div(counts.clampMin(1).unsqueeze(-1)); // [Bt, Bm, m, D]
  const phraseMask = counts.gt(0).logicalAnd(colMask.to('bool'));
  return groupedScores(multiToken, phraseMask, motifs, motifMask);
}

/**
 * Token → motif assignments for every pair, solving one molecule at a time over its real motifs only:
 * padding every problem to the batch's largest motif count made the OT ~5× more expensive (ChEBI-20
 * molecules have 7 motifs on average, the largest in a batch of 32 often 30-40). Motifs past a
 * molecule's count must be padding (real motifs first, as batchGraphs lays them out).
 */
function assignAll(cost: Tensor, tokenMask: Tensor, motifMask: Tensor, o: MidOptions): Tensor {
  const m = motifMask.size(1);
  const flags = motifMask.to('float32').toNumbers();
  const counts = Array.from({ length: motifMask.size(0) }, (_, j) => {
    const row = flags.slice(j * m, (j + 1) * m);
    const count = row.filter((x) => x !== 0).length;
    if (row.slice(0, count).some((x) => x === 0)) throw new Error(`midScores: molecule ${j}'s motif mask is not real-motifs-first: [${row.join(', ')}]`);
    return count;
  });
  const perMolecule = counts.map((mj, j) => tidy(() => {
    const c = cost.select(1, j).narrow(-1, 0, Math.max(1, mj));                            // [Bt, n, mj]
    const masks = { rowMask: tokenMask, colMask: motifMask.select(0, j).narrow(0, 0, Math.max(1, mj)).unsqueeze(0).expand(c.size(0), c.size(2)) };
    return assignTokens(ipotPlan(c, { ...masks, beta: o.beta, iterations: o.iterations }), o.pick ?? 'argmax', masks);
  }));
  return stack(perMolecule, 1);
}

/** Symmetric in-batch InfoNCE of a square [B, B] logits matrix whose diagonal holds the pairs. */
export function symmetricInfoNce(logits: Tensor): Tensor {
  const b = logits.size(0);
  const labels = tensor(Array.from({ length: b }, (_, i) => i), { dtype: 'int64' });
  const t2m = logits.logSoftmax(1).gather(1, labels.unsqueeze(1)).mean();
  const m2t = logits.logSoftmax(0).gather(0, labels.unsqueeze(0)).mean();
  return t2m.add(m2t).mul(-0.5);
}
