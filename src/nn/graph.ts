// Graph convolutions on an edge list, aggregated with index_add (scatter-sum).
// edgeIndex is int64 [2, E]: row 0 the source node, row 1 the target (PyG's source_to_target flow).
import { arange, cat, ones, zeros, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';
import { Linear, MLP, type Activation } from './layers.js';
import { glorotUniform } from './init.js';

/** Edges with self-loops and their symmetric GCN weights; compute once per batch, reuse in every layer. */
export interface GcnGraph {
  numNodes: number;
  src: Tensor;
  dst: Tensor;
  /** deg(src)^-½ · deg(dst)^-½, deg = in-degree + 1 (the self-loop). */
  weight: Tensor;
}

/** PyG's gcn_norm with add_self_loops for a graph without self-loops. */
export function gcnNorm(edgeIndex: Tensor, numNodes: number, dtype: 'float32' | 'float64' = 'float32'): GcnGraph {
  const loops = arange(numNodes);
  const src = cat([edgeIndex.select(0, 0), loops]);
  const dst = cat([edgeIndex.select(0, 1), loops]);
  const deg = zeros([numNodes], { dtype }).indexAdd(0, dst, ones([src.size(0)], { dtype }));
  const dinv = deg.pow(-0.5);
  return { numNodes, src, dst, weight: dinv.indexSelect(0, src).mul(dinv.indexSelect(0, dst)) };
}

/** Sums rows of `messages` [E, F] into their target nodes: out[dst[e]] += messages[e]. */
export function scatterSum(messages: Tensor, dst: Tensor, numNodes: number): Tensor {
  return zeros([numNodes, messages.size(1)], { dtype: messages.dtype }).indexAdd(0, dst, messages);
}

/** Kipf & Welling's graph convolution, as PyG's GCNConv: transform, then normalised aggregation, then bias. */
export class GCNConv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly inChannels: number, readonly outChannels: number) {
    super();
    this.weight = this.param('lin.weight', glorotUniform([outChannels, inChannels]));
    this.bias = this.param('bias', zeros([outChannels]));
  }
  forward(x: Tensor, g: GcnGraph): Tensor {
    const h = x.matmul(this.weight.transpose(0, 1));
    const messages = h.indexSelect(0, g.src).mul(g.weight.unsqueeze(1));
    return scatterSum(messages, g.dst, g.numNodes).add(this.bias);
  }
}

/**
 * GINE (Hu et al. 2020), as PyG's GINEConv: out_i = mlp((1+ε)·x_i + Σ_{j→i} ReLU(x_j + W_e·e_ji)).
 * ε is fixed at 0 unless trainEps.
 */
export class GINEConv extends Module {
  readonly mlp: MLP;
  readonly edgeLin: Linear;
  readonly eps: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, edgeDim: number, o: { hidden?: number; activation?: Activation; trainEps?: boolean } = {}) {
    super();
    this.mlp = this.module('nn', new MLP([inChannels, o.hidden ?? outChannels, outChannels], o.activation ?? 'relu'));
    this.edgeLin = this.module('lin', new Linear(edgeDim, inChannels));
    this.eps = o.trainEps ? this.param('eps', zeros([1])) : null;
  }
  /** x: [N, in]; edgeIndex: int64 [2, E]; edgeAttr: [E, edgeDim]. */
  forward(x: Tensor, edgeIndex: Tensor, edgeAttr: Tensor): Tensor {
    const src = edgeIndex.select(0, 0);
    const dst = edgeIndex.select(0, 1);
    const messages = x.indexSelect(0, src).add(this.edgeLin.forward(edgeAttr)).relu();
    const self = this.eps ? x.mul(this.eps.add(1)) : x;
    return this.mlp.forward(self.add(scatterSum(messages, dst, x.size(0))));
  }
}
