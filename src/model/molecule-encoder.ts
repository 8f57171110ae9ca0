// The molecule side of ORMA (orma-reference.md §3.3-4, with our fixes): categorical atom features are
// embedded; motif and molecule nodes start as the mean of their members; node types get their own
// embedding; a GCN over the hierarchical graph, a node-wise MLP and a LayerNorm give every node a vector.
import { zeros, type Tensor } from '../tensor/index.js';
import { Embedding, GCNConv, LayerNorm, MLP, Module, ModuleList, Dropout, gcnNorm } from '../nn/index.js';
import { ATOM_FEATURE_COUNT, atomFeatureDims } from '../chem/index.js';
import type { GraphBatch, Pooling } from '../data/graph-batch.js';

export interface MoleculeEncoderConfig {
  hidden: number;
  layers: number;
  dropout: number;
  /** Add a learned embedding of the node type (atom, motif, molecule). Default true; ORMA has none. */
  typeEmbedding?: boolean;
}

export class MoleculeEncoder extends Module {
  readonly atomEmbeddings: Embedding[];
  readonly typeEmbedding: Embedding | null;
  readonly convs: GCNConv[];
  readonly mlp: MLP;
  readonly norm: LayerNorm;
  readonly drop: Dropout;

  constructor(readonly config: MoleculeEncoderConfig) {
    super();
    const d = config.hidden;
    this.atomEmbeddings = this.module('atom_embeddings', new ModuleList(atomFeatureDims().map((n) => new Embedding(n, d, { std: 1 / Math.sqrt(ATOM_FEATURE_COUNT) })))).items;
    this.typeEmbedding = config.typeEmbedding === false ? null : this.module('type_embedding', new Embedding(3, d, { std: 0.1 }));
    this.convs = this.module('convs', new ModuleList(Array.from({ length: config.layers }, () => new GCNConv(d, d)))).items;
    this.mlp = this.module('mlp', new MLP([d, d, d, d], 'relu', config.dropout));
    this.norm = this.module('norm', new LayerNorm(d));
    this.drop = this.module('dropout', new Dropout(config.dropout));
  }

  forward(b: GraphBatch): Tensor {
    const x0 = this.initialNodes(b);
    const graph = gcnNorm(b.edgeIndex, b.numNodes, x0.dtype as 'float32');
    let h = x0;
    this.convs.forEach((conv, i) => {
      h = this.drop.forward(conv.forward(h, graph));
      if (i < this.convs.length - 1) h = h.relu();
    });
    return this.norm.forward(this.mlp.forward(h));
  }

  /** Atoms: Σ of feature embeddings; motifs, then the molecule: the mean of their members; + a type embedding. */
  private initialNodes(b: GraphBatch): Tensor {
    let atoms = this.atomEmbeddings[0]!.forward(b.atomFeatures.select(1, 0));
    for (let f = 1; f < ATOM_FEATURE_COUNT; f++) atoms = atoms.add(this.atomEmbeddings[f]!.forward(b.atomFeatures.select(1, f)));
    let x = zeros([b.numNodes, this.config.hidden], { dtype: atoms.dtype }).indexAdd(0, b.atomNode, atoms);
    x = addPooled(x, b.motifPooling);
    x = addPooled(x, b.moleculePooling);
    return this.typeEmbedding ? x.add(this.typeEmbedding.forward(b.nodeType)) : x;
  }
}

/** x[dst] += weight · x[src] (member means, with the weights computed at collate time). */
function addPooled(x: Tensor, p: Pooling): Tensor {
  if (p.src.size(0) === 0) return x;
  return x.indexAdd(0, p.dst, x.indexSelect(0, p.src).mul(p.weight.to(x.dtype as 'float32')));
}
