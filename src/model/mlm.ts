// The masked-language-model head (Devlin et al. 2019); the masking recipe is data/mlm-collator.ts.
// The head's parameter names are Hugging Face's "cls.predictions.*", and its decoder is tied to the
// word embeddings, so a pre-trained encoder + head loads in transformers' BertForMaskedLM.
import { crossEntropy, linear, tensor, type Tensor } from '../tensor/index.js';
import { LayerNorm, Linear, Module, type BertConfig } from '../nn/index.js';
import { zeros } from '../nn/init.js';

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
