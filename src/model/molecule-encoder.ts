// The molecule side of ORMA (orma-reference.md §3.3-4, with our fixes): categorical atom features are
// embedded; motif and molecule nodes start as the mean of their members; node types get their own
// embedding; a GCN over the hierarchical graph, a node-wise MLP and a LayerNorm give every node a vector.
import { ones, tensor, zeros, type Tensor } from '../tensor/index.js';
import { Embedding, GCNConv, LayerNorm, MLP, Module, ModuleList, Dropout, gcnNorm } from '../nn/index.js';
import { ATOM_FEATURE_COUNT, atomFeatureDims, EDGE_ATOM_MOLECULE, EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE } from '../chem/index.js';
import type { GraphBatch } from './graph-batch.js';

export interface MoleculeEncoderConfig {
  hidden: number;
  layers: number;
  dropout: number;
}

export interface NodeVectors {
  /** [numNodes, hidden] for every node of the batch. */
  nodes: Tensor;
}

const int64 = (a: Int32Array, shape: number[]) => tensor(a, { dtype: 'int32', shape }).long();

/** The edges of `types` as [src, dst] int64 tensors. */
function edgesOfType(b: GraphBatch, types: readonly number[]): { src: Tensor; dst: Tensor } {
  const src: number[] = [], dst: number[] = [];
  for (let e = 0; e < b.edgeType.length; e++) {
    if (types.includes(b.edgeType[e]!)) { src.push(b.edgeSrc[e]!); dst.push(b.edgeDst[e]!); }
  }
  return { src: tensor(src, { dtype: 'int64' }), dst: tensor(dst, { dtype: 'int64' }) };
}

export class MoleculeEncoder extends Module {
  readonly atomEmbeddings: Embedding[];
  readonly typeEmbedding: Embedding;
  readonly convs: GCNConv[];
  readonly mlp: MLP;
  readonly norm: LayerNorm;
  readonly drop: Dropout;

  constructor(readonly config: MoleculeEncoderConfig) {
    super();
    const d = config.hidden;
    this.atomEmbeddings = this.module('atom_embeddings', new ModuleList(atomFeatureDims().map((n) => new Embedding(n, d, { std: 1 / Math.sqrt(ATOM_FEATURE_COUNT) })))).items;
    this.typeEmbedding = this.module('type_embedding', new Embedding(3, d, { std: 0.1 }));
    this.convs = this.module('convs', new ModuleList(Array.from({ length: config.layers }, () => new GCNConv(d, d)))).items;
    this.mlp = this.module('mlp', new MLP([d, d, d, d], 'relu', config.dropout));
    this.norm = this.module('norm', new LayerNorm(d));
    this.drop = this.module('dropout', new Dropout(config.dropout));
  }

  forward(b: GraphBatch): Tensor {
    const x0 = this.initialNodes(b);
    const graph = gcnNorm(tensor([...b.edgeSrc, ...b.edgeDst], { dtype: 'int64', shape: [2, b.edgeSrc.length] }), b.numNodes, x0.dtype as 'float32');
    let h = x0;
    this.convs.forEach((conv, i) => {
      h = this.drop.forward(conv.forward(h, graph));
      if (i < this.convs.length - 1) h = h.relu();
    });
    return this.norm.forward(this.mlp.forward(h));
  }

  /** Atoms: Σ of feature embeddings; motifs, then the molecule: the mean of their members; + a type embedding. */
  private initialNodes(b: GraphBatch): Tensor {
    const feats = int64(b.atomFeatures, [b.atomNode.length, ATOM_FEATURE_COUNT]);
    let atoms = this.atomEmbeddings[0]!.forward(feats.select(1, 0));
    for (let f = 1; f < ATOM_FEATURE_COUNT; f++) atoms = atoms.add(this.atomEmbeddings[f]!.forward(feats.select(1, f)));
    let x = zeros([b.numNodes, this.config.hidden], { dtype: atoms.dtype }).indexAdd(0, int64(b.atomNode, [b.atomNode.length]), atoms);
    x = this.addMemberMeans(x, edgesOfType(b, [EDGE_ATOM_MOTIF]));
    x = this.addMemberMeans(x, edgesOfType(b, [EDGE_MOTIF_MOLECULE, EDGE_ATOM_MOLECULE]));
    return x.add(this.typeEmbedding.forward(tensor(b.nodeType, { dtype: 'uint8', shape: [b.numNodes] }).long()));
  }

  private addMemberMeans(x: Tensor, e: { src: Tensor; dst: Tensor }): Tensor {
    if (e.src.size(0) === 0) return x;
    const sums = zeros(x.shape, { dtype: x.dtype }).indexAdd(0, e.dst, x.indexSelect(0, e.src));
    const counts = zeros([x.size(0)], { dtype: x.dtype }).indexAdd(0, e.dst, ones([e.src.size(0)], { dtype: x.dtype }));
    return x.add(sums.div(counts.clampMin(1).unsqueeze(1)));
  }
}
