// Masked-language-model pre-training pieces (Devlin et al. 2019): the masking recipe and the MLM head.
// The head's parameter names are Hugging Face's "cls.predictions.*", and its decoder is tied to the
// word embeddings, so a pre-trained encoder + head loads in transformers' BertForMaskedLM.
import { crossEntropy, linear, tensor, type Tensor } from '../tensor/index.js';
import { LayerNorm, Linear, Module, type BertConfig } from '../nn/index.js';
import { zeros } from '../nn/init.js';

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

/** transform (dense + GELU + LayerNorm), then logits = h·Eᵀ + bias with E the word embeddings. */
export class MlmHead extends Module {
  readonly transformDense: Linear;
  readonly transformNorm: LayerNorm;
  readonly bias: Tensor;
  constructor(c: BertConfig) {
    super();
    this.transformDense = this.module('predictions.transform.dense', new Linear(c.hidden, c.hidden, { init: { std: c.initStd ?? 0.02 } }));
    this.transformNorm = this.module('predictions.transform.LayerNorm', new LayerNorm(c.hidden, c.layerNormEps ?? 1e-12));
    this.bias = this.param('predictions.bias', zeros([c.vocabSize]));
  }

  /** hidden: [N, hidden] at the predicted positions; wordEmbeddings: [V, hidden]. Returns [N, V] logits. */
  forward(hidden: Tensor, wordEmbeddings: Tensor): Tensor {
    const h = this.transformNorm.forward(this.transformDense.forward(hidden).gelu());
    return linear(h, wordEmbeddings, this.bias);
  }

  /** Mean cross-entropy of the predictions at `positions` of lastHidden [B, L, H]. */
  loss(lastHidden: Tensor, wordEmbeddings: Tensor, positions: Int32Array, labels: Int32Array): Tensor {
    const flat = lastHidden.reshape(-1, lastHidden.size(-1));
    const picked = flat.indexSelect(0, tensor(positions, { dtype: 'int32', shape: [positions.length] }).long());
    const logits = this.forward(picked, wordEmbeddings);
    return crossEntropy(logits, tensor(labels, { dtype: 'int32', shape: [labels.length] }).long());
  }
}
