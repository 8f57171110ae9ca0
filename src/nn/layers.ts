// Basic layers: Linear, LayerNorm, Embedding, Dropout, MLP.
import { dropout, embedding, layerNorm, linear, type Tensor } from '../tensor/index.js';
import { Module, ModuleList } from './module.js';
import { glorotUniform, linearDefault, normal, ones, zeros } from './init.js';

export type LinearInit = 'torch' | { std: number } | 'glorot';

/** y = x·Wᵀ + b; W is [out, in] as in PyTorch. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, o: { bias?: boolean; init?: LinearInit } = {}) {
    super();
    const init = o.init ?? 'torch';
    if (init === 'torch') {
      this.weight = this.param('weight', linearDefault([outFeatures, inFeatures], inFeatures));
      this.bias = o.bias === false ? null : this.param('bias', linearDefault([outFeatures], inFeatures));
    } else if (init === 'glorot') {
      this.weight = this.param('weight', glorotUniform([outFeatures, inFeatures]));
      this.bias = o.bias === false ? null : this.param('bias', zeros([outFeatures]));
    } else {
      this.weight = this.param('weight', normal([outFeatures, inFeatures], init.std));
      this.bias = o.bias === false ? null : this.param('bias', zeros([outFeatures]));
    }
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Layer normalisation over the last dimension; `affine: false` gives the parameter-free LN₀ of ORMA. */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  constructor(readonly size: number, readonly eps = 1e-5, affine = true) {
    super();
    this.weight = affine ? this.param('weight', ones([size])) : null;
    this.bias = affine ? this.param('bias', zeros([size])) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.size], this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number;
  constructor(readonly count: number, readonly dim: number, o: { std?: number; paddingIdx?: number } = {}) {
    super();
    this.weight = this.param('weight', normal([count, dim], o.std ?? 1));
    this.paddingIdx = o.paddingIdx ?? -1;
  }
  /** Rows for int64 indices of any shape. */
  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices, this.paddingIdx);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, true) : x;
  }
}

export type Activation = 'relu' | 'gelu' | 'tanh' | 'none';

export function activate(x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'relu': return x.relu();
    case 'gelu': return x.gelu();
    case 'tanh': return x.tanh();
    case 'none': return x;
  }
}

/** Linear layers with an activation and dropout between them (none after the last). */
export class MLP extends Module {
  readonly layers: Linear[];
  readonly drop: Dropout;
  constructor(readonly sizes: number[], readonly activation: Activation = 'relu', dropoutP = 0) {
    super();
    if (sizes.length < 2) throw new Error(`MLP needs at least input and output sizes, got [${sizes.join(', ')}]`);
    this.layers = this.module('layers', new ModuleList(sizes.slice(1).map((out, i) => new Linear(sizes[i]!, out)))).items;
    this.drop = this.module('dropout', new Dropout(dropoutP));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = this.drop.forward(activate(h, this.activation));
    });
    return h;
  }
}
