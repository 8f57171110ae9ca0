// Losses (open_clip keeps them in loss.py): symmetric in-batch InfoNCE (CLIP, van den Oord et al. 2018),
// and ORMA's combination of its three grains, the same weights for the loss and the retrieval score
// (reference §8; the `--combine` ablation of the official code picks a subset of grains).
import { tensor, type Tensor } from '../tensor/index.js';

/**
 * Symmetric in-batch InfoNCE of a square [B, B] logits matrix whose diagonal holds the pairs.
 * `alsoPositive` (bool [B, B], off-diagonal) marks other pairs of the batch that are true too (the same
 * molecule with a second description): they are left out as negatives instead of being pushed apart.
 */
export function symmetricInfoNce(logits: Tensor, alsoPositive?: Tensor): Tensor {
  const b = logits.size(0);
  if (alsoPositive) logits = logits.maskedFill(alsoPositive, -1e9);
  const labels = tensor(Array.from({ length: b }, (_, i) => i), { dtype: 'int64' });
  const t2m = logits.logSoftmax(1).gather(1, labels.unsqueeze(1)).mean();
  const m2t = logits.logSoftmax(0).gather(0, labels.unsqueeze(0)).mean();
  return t2m.add(m2t).mul(-0.5);
}

export type Grain = 'global' | 'local' | 'mid';
export const GRAINS: readonly Grain[] = ['global', 'local', 'mid'];
export type GrainWeights = Record<Grain, number>;

/**
 * The official `--combine` options: 'weighted' keeps every grain at its weight; a subset keeps those
 * grains at their weights ('molatom' = global + local, ...); a single grain is unweighted.
 */
export type Combine = 'weighted' | 'mol' | 'atom' | 'motif' | 'molatom' | 'molmotif' | 'motifatom';
const COMBINE_GRAINS: Record<Combine, Grain[]> = {
  weighted: ['global', 'local', 'mid'], mol: ['global'], atom: ['local'], motif: ['mid'],
  molatom: ['global', 'local'], molmotif: ['global', 'mid'], motifatom: ['mid', 'local'],
};

/** The weight of each grain under `combine` (0 for grains left out). */
export function grainWeights(weights: GrainWeights, combine: Combine = 'weighted'): GrainWeights {
  const used = COMBINE_GRAINS[combine];
  const single = used.length === 1;
  return Object.fromEntries(GRAINS.map((g) => [g, used.includes(g) ? (single ? 1 : weights[g]) : 0])) as GrainWeights;
}

/** Σ_g w_g · x_g over the grains with a non-zero weight. */
export function combineGrains<T extends Partial<Record<Grain, Tensor>>>(parts: T, weights: GrainWeights): Tensor {
  let total: Tensor | null = null;
  for (const g of GRAINS) {
    const x = parts[g];
    if (!x || weights[g] === 0) continue;
    const term = x.mul(weights[g]);
    total = total ? total.add(term) : term;
  }
  if (!total) throw new Error('combineGrains: every grain has weight 0');
  return total;
}
