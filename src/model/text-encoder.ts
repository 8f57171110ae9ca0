// The text side of ORMA (orma-reference.md §2): a BERT encoder and three views of a description:
// a sentence vector from the pooler, token vectors from layer L-2 and multi-token source vectors from
// layer L-1 (SciBERT's layers 10 and 11), each through its own Linear to the shared space.
import { tensor, type Tensor } from '../tensor/index.js';
import { BertModel, LayerNorm, Linear, Module, type BertConfig } from '../nn/index.js';
import type { PaddedBatch } from '../text/padding.js';

export interface TextVectors {
  /** [B, D] */
  sentence: Tensor;
  /** [B, L, D] from layer L-2 (token–atom grain). */
  tokens: Tensor;
  /** [B, L, D] from layer L-1 (multi-token–motif grain). */
  multiTokens: Tensor;
  /** [B, L] 1 for real tokens ([CLS] and [SEP] included, as the official code). */
  mask: Tensor;
}

export class TextEncoder extends Module {
  readonly bert: BertModel;
  readonly sentenceHead: Linear;
  readonly sentenceNorm: LayerNorm;
  readonly tokenHead: Linear;
  readonly multiTokenHead: Linear;

  constructor(bert: BertModel | BertConfig, readonly dim: number) {
    super();
    this.bert = this.module('bert', bert instanceof BertModel ? bert : new BertModel(bert));
    const h = this.bert.config.hidden;
    if (this.bert.config.layers < 2) throw new Error('TextEncoder needs a BERT with at least 2 layers (tokens come from layer L-2)');
    this.sentenceHead = this.module('sentence_head', new Linear(h, dim));
    this.sentenceNorm = this.module('sentence_norm', new LayerNorm(dim));
    this.tokenHead = this.module('token_head', new Linear(h, dim));
    this.multiTokenHead = this.module('multi_token_head', new Linear(h, dim));
  }

  forward(batch: PaddedBatch): TextVectors {
    const shape = [batch.batchSize, batch.seqLength];
    const ids = tensor(batch.inputIds, { dtype: 'int32', shape }).long();
    const mask = tensor(batch.attentionMask, { dtype: 'int32', shape });
    const out = this.bert.forward(ids, mask);
    const layers = this.bert.config.layers;
    return {
      sentence: this.sentenceNorm.forward(this.sentenceHead.forward(out.pooled)),
      tokens: this.tokenHead.forward(out.hiddenStates[layers - 2]!),
      multiTokens: this.multiTokenHead.forward(out.hiddenStates[layers - 1]!),
      mask,
    };
  }
}
