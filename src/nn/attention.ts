// Multi-head self-attention in the BERT layout (separate query/key/value projections).
import { type Tensor } from '../tensor/index.js';
import { Module } from './module.js';
import { Dropout, Linear, type LinearInit } from './layers.js';

export interface AttentionConfig {
  hidden: number;
  heads: number;
  dropout: number;
  init?: LinearInit;
}

/**
 * Turns a [B, L] attention mask (1 = real token, 0 = padding; any dtype) into the additive
 * [B, 1, 1, L] bias that keeps padded keys out of every softmax (as Hugging Face's BERT).
 */
export function keyPaddingBias(attentionMask: Tensor, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const [b, l] = attentionMask.shape;
  const minValue = dtype === 'float32' ? -3.4028234663852886e38 : -Number.MAX_VALUE;
  return attentionMask.to(dtype).rsub(1).mul(minValue).reshape(b!, 1, 1, l!);
}

/** The self-attention block: softmax(QKᵀ/√d + mask)·V over `heads` heads. Returns [B, L, hidden]. */
export class SelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly drop: Dropout;
  readonly headDim: number;

  constructor(readonly cfg: AttentionConfig) {
    super();
    if (cfg.hidden % cfg.heads !== 0) throw new Error(`hidden size ${cfg.hidden} is not a multiple of ${cfg.heads} heads`);
    this.headDim = cfg.hidden / cfg.heads;
    this.query = this.module('query', new Linear(cfg.hidden, cfg.hidden, { init: cfg.init }));
    this.key = this.module('key', new Linear(cfg.hidden, cfg.hidden, { init: cfg.init }));
    this.value = this.module('value', new Linear(cfg.hidden, cfg.hidden, { init: cfg.init }));
    this.drop = this.module('dropout', new Dropout(cfg.dropout));
  }

  /** x: [B, L, hidden]; maskBias: [B, 1, 1, L] from keyPaddingBias, or null for no padding. */
  forward(x: Tensor, maskBias: Tensor | null): Tensor {
    const [b, l] = x.shape as [number, number, number];
    const heads = (t: Tensor) => t.view(b, l, this.cfg.heads, this.headDim).transpose(1, 2);  // [B, h, L, d]
    const q = heads(this.query.forward(x));
    const k = heads(this.key.forward(x));
    const v = heads(this.value.forward(x));
    let scores = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(this.headDim));
    if (maskBias) scores = scores.add(maskBias);
    const probs = this.drop.forward(scores.softmax(-1));
    return probs.matmul(v).transpose(1, 2).reshape(b, l, this.cfg.hidden);
  }
}
