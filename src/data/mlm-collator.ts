// BERT's masked-language-model collation (Devlin et al. 2019): which tokens of a padded batch to predict
// and what the model sees in their place. The head that predicts them is model/mlm.ts's MlmHead.

export interface MaskingOptions {
  /** Fraction of real (non-special) tokens to predict. Default 0.15. */
  maskProb?: number;
  maskId: number;
  vocabSize: number;
  /** Ids never masked ([CLS], [SEP], [PAD]). */
  specialIds: ReadonlySet<number>;
  random: () => number;
}

export interface MaskedBatch {
  /** Input ids with the chosen positions replaced (80% [MASK], 10% random token, 10% unchanged). */
  inputIds: Int32Array;
  /** Flat indices (into [B·L]) of the positions to predict. */
  positions: Int32Array;
  /** The original token at each predicted position. */
  labels: Int32Array;
}

/** BERT's masking: each real token is chosen with maskProb; at least one per batch so the loss is defined. */
export function maskTokens(inputIds: Int32Array, attentionMask: Int32Array, o: MaskingOptions): MaskedBatch {
  const p = o.maskProb ?? 0.15;
  const ids = inputIds.slice();
  const positions: number[] = [];
  const labels: number[] = [];
  const candidates: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (attentionMask[i] === 0 || o.specialIds.has(ids[i]!)) continue;
    candidates.push(i);
    if (o.random() < p) positions.push(i);
  }
  if (positions.length === 0 && candidates.length > 0) positions.push(candidates[Math.floor(o.random() * candidates.length)]!);
  for (const i of positions) {
    labels.push(ids[i]!);
    const r = o.random();
    if (r < 0.8) ids[i] = o.maskId;
    else if (r < 0.9) ids[i] = Math.floor(o.random() * o.vocabSize);
  }
  return { inputIds: ids, positions: Int32Array.from(positions), labels: Int32Array.from(labels) };
}
