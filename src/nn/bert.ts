// A BERT-architecture transformer encoder (Devlin et al. 2019): word + position + token-type
// embeddings, post-LN layers with GELU, a tanh pooler. Parameter names are Hugging Face's
// (without the "bert." prefix), so a BertModel checkpoint such as SciBERT loads as is.
import { arange, zeros, type Tensor } from '../tensor/index.js';
import { Module, ModuleList } from './module.js';
import { Dropout, Embedding, LayerNorm, Linear } from './layers.js';
import { SelfAttention, keyPaddingBias } from './attention.js';

export interface BertConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  /** Feed-forward (intermediate) size, usually 4 × hidden. */
  ffn: number;
  maxPositions: number;
  typeVocabSize?: number;
  dropout: number;
  /** Attention-probability dropout; defaults to `dropout`. */
  attentionDropout?: number;
  layerNormEps?: number;
  /** Std of the N(0, σ²) initialiser; BERT uses 0.02. */
  initStd?: number;
  /**
   * Where each layer's LayerNorms sit: 'post' (BERT: after the residual sum) or 'pre' (before each
   * sub-block, plus one after the last layer: trains from scratch without BERT's long warm-up,
   * Xiong et al. 2020). Only 'post' models load from or export to Hugging Face BERT.
   */
  norm?: 'post' | 'pre';
  /** Dropout on the embedding output; defaults to `dropout`. */
  embeddingDropout?: number;
}

export interface BertOutput {
  /** Output of the last layer, [B, L, hidden]. */
  lastHidden: Tensor;
  /** Embedding output then every layer's output ([0] = embeddings, [layers] = last), as HF's hidden_states. */
  hiddenStates: Tensor[];
  /** tanh(W·h_[CLS] + b) of the last layer, [B, hidden]. */
  pooled: Tensor;
}

function withDefaults(c: BertConfig): Required<BertConfig> {
  return { typeVocabSize: 2, attentionDropout: c.dropout, embeddingDropout: c.dropout, layerNormEps: 1e-12, initStd: 0.02, norm: 'post', ...c };
}

class BertEmbeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly norm: LayerNorm;
  readonly drop: Dropout;
  constructor(c: Required<BertConfig>) {
    super();
    this.wordEmbeddings = this.module('word_embeddings', new Embedding(c.vocabSize, c.hidden, { std: c.initStd }));
    this.positionEmbeddings = this.module('position_embeddings', new Embedding(c.maxPositions, c.hidden, { std: c.initStd }));
    this.tokenTypeEmbeddings = this.module('token_type_embeddings', new Embedding(c.typeVocabSize, c.hidden, { std: c.initStd }));
    this.norm = this.module('LayerNorm', new LayerNorm(c.hidden, c.layerNormEps));
    this.drop = this.module('dropout', new Dropout(c.embeddingDropout));
  }
  forward(inputIds: Tensor, tokenTypeIds: Tensor | null): Tensor {
    const [, l] = inputIds.shape as [number, number];
    const positions = arange(l).unsqueeze(0);
    const types = tokenTypeIds ?? zeros(inputIds.shape, { dtype: 'int64' });
    const e = this.wordEmbeddings.forward(inputIds)
      .add(this.positionEmbeddings.forward(positions))
      .add(this.tokenTypeEmbeddings.forward(types));
    return this.drop.forward(this.norm.forward(e));
  }
}

/**
 * Linear + dropout + residual + LayerNorm: BERT's "output" sub-blocks. In a pre-LN model the same
 * LayerNorm (same parameter name) normalises the sub-block's input instead (`pre`), and the sum stays raw.
 */
class AddNorm extends Module {
  readonly dense: Linear;
  readonly norm: LayerNorm;
  readonly drop: Dropout;
  readonly preNorm: boolean;
  constructor(inSize: number, c: Required<BertConfig>) {
    super();
    this.dense = this.module('dense', new Linear(inSize, c.hidden, { init: { std: c.initStd } }));
    this.norm = this.module('LayerNorm', new LayerNorm(c.hidden, c.layerNormEps));
    this.drop = this.module('dropout', new Dropout(c.dropout));
    this.preNorm = c.norm === 'pre';
  }
  /** The sub-block's input: normalised first in a pre-LN model. */
  pre(x: Tensor): Tensor {
    return this.preNorm ? this.norm.forward(x) : x;
  }
  forward(x: Tensor, residual: Tensor): Tensor {
    const sum = this.drop.forward(this.dense.forward(x)).add(residual);
    return this.preNorm ? sum : this.norm.forward(sum);
  }
}

class BertAttention extends Module {
  readonly self: SelfAttention;
  readonly output: AddNorm;
  constructor(c: Required<BertConfig>) {
    super();
    this.self = this.module('self', new SelfAttention({ hidden: c.hidden, heads: c.heads, dropout: c.attentionDropout, init: { std: c.initStd } }));
    this.output = this.module('output', new AddNorm(c.hidden, c));
  }
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    return this.output.forward(this.self.forward(this.output.pre(x), maskBias), x);
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;
  constructor(c: Required<BertConfig>) {
    super();
    this.dense = this.module('dense', new Linear(c.hidden, c.ffn, { init: { std: c.initStd } }));
  }
  forward(x: Tensor): Tensor {
    return this.dense.forward(x).gelu();
  }
}

export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: AddNorm;
  constructor(c: BertConfig) {
    super();
    const full = withDefaults(c);
    this.attention = this.module('attention', new BertAttention(full));
    this.intermediate = this.module('intermediate', new BertIntermediate(full));
    this.output = this.module('output', new AddNorm(full.ffn, full));
  }
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    const a = this.attention.forward(x, maskBias);
    return this.output.forward(this.intermediate.forward(this.output.pre(a)), a);
  }
}

class BertPooler extends Module {
  readonly dense: Linear;
  constructor(c: Required<BertConfig>) {
    super();
    this.dense = this.module('dense', new Linear(c.hidden, c.hidden, { init: { std: c.initStd } }));
  }
  forward(hidden: Tensor): Tensor {
    return this.dense.forward(hidden.select(1, 0)).tanh();
  }
}

export class BertModel extends Module {
  readonly config: Required<BertConfig>;
  readonly embeddings: BertEmbeddings;
  readonly layers: BertLayer[];
  readonly pooler: BertPooler;
  /** Pre-LN only: the LayerNorm after the last layer. */
  readonly finalNorm: LayerNorm | null;

  constructor(config: BertConfig) {
    super();
    this.config = withDefaults(config);
    this.embeddings = this.module('embeddings', new BertEmbeddings(this.config));
    const encoder = this.module('encoder', new EncoderStack(this.config));
    this.layers = encoder.layer.items;
    this.finalNorm = encoder.finalNorm;
    this.pooler = this.module('pooler', new BertPooler(this.config));
  }

  /**
   * inputIds: int64 [B, L]; attentionMask: [B, L] with 1 for real tokens (null: no padding).
   * Pads need no particular id: masked keys get no attention, and padded positions' outputs are ignored downstream.
   */
  forward(inputIds: Tensor, attentionMask: Tensor | null = null, tokenTypeIds: Tensor | null = null): BertOutput {
    const [, l] = inputIds.shape as [number, number];
    if (l > this.config.maxPositions) throw new Error(`BertModel: sequence length ${l} exceeds maxPositions ${this.config.maxPositions}`);
    let h = this.embeddings.forward(inputIds, tokenTypeIds);
    const maskBias = attentionMask ? keyPaddingBias(attentionMask, h.dtype as 'float32' | 'float64') : null;
    const hiddenStates = [h];
    for (const layer of this.layers) {
      h = layer.forward(h, maskBias);
      hiddenStates.push(h);
    }
    if (this.finalNorm) hiddenStates[hiddenStates.length - 1] = h = this.finalNorm.forward(h);
    return { lastHidden: h, hiddenStates, pooled: this.pooler.forward(h) };
  }
}

class EncoderStack extends Module {
  readonly layer: ModuleList<BertLayer>;
  readonly finalNorm: LayerNorm | null;
  constructor(c: Required<BertConfig>) {
    super();
    this.layer = this.module('layer', new ModuleList(Array.from({ length: c.layers }, () => new BertLayer(c))));
    this.finalNorm = c.norm === 'pre' ? this.module('final_LayerNorm', new LayerNorm(c.hidden, c.layerNormEps)) : null;
  }
}
