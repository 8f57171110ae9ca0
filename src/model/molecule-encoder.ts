// The molecule side of ORMA (orma-reference.md §3.3-4, with our fixes): categorical atom features are
// embedded; motif and molecule nodes start as the mean of their members; node types get their own
// embedding; a GCN over the hierarchical graph, a node-wise MLP and a LayerNorm give every node a vector.
// `conv: 'gine'` swaps the GCN for GINE layers (Hu et al. 2020) that see the bond features and the
// hierarchy edge types (a GCN's normalised mean cannot tell a double bond from a single one).
import { zeros, type Tensor } from '../tensor/index.js';
import { Embedding, GCNConv, GINEConv, LayerNorm, MLP, Module, ModuleList, Dropout, gcnNorm } from '../nn/index.js';
import { ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT, EDGE_TYPE_COUNT, atomFeatureDims, bondFeatureDims } from '../chem/index.js';
import type { GraphBatch, Pooling } from '../data/graph-batch.js';

export interface MoleculeEncoderConfig {
  hidden: number;
  layers: number;
  dropout: number;
  /** Add a learned embedding of the node type (atom, motif, molecule). Default true; ORMA has none. */
  typeEmbedding?: boolean;
  /** h ← h + GCN(h) from the second layer on (a deeper GNN without over-smoothing). Default false (ORMA). */
  residual?: boolean;
  /**
   * 'gcn' (ORMA): GCN layers. 'gine': each layer LayerNorm(GINE(h, edge embedding)), ReLU, dropout and a
   * residual, the edge embedding being its edge type's plus, for bonds, the sum of its bond features'.
   */
  conv?: 'gcn' | 'gine';
}

/** One GINE layer's edge embeddings: type embedding + Σ bond-feature embeddings on the bond edges. */
class EdgeEmbedding extends Module {
  readonly type: Embedding;
  readonly bond: Embedding[];
  constructor(d: number) {
    super();
    this.type = this.module('type', new Embedding(EDGE_TYPE_COUNT, d, { std: 0.1 }));
    this.bond = this.module('bond', new ModuleList(bondFeatureDims().map((n) => new Embedding(n, d, { std: 0.1 })))).items;
  }
  forward(b: GraphBatch): Tensor {
    const e = this.type.forward(b.edgeType);
    if (b.bondEdge.size(0) === 0) return e;
    let bonds = this.bond[0]!.forward(b.bondFeatures.select(1, 0));
    for (let f = 1; f < BOND_FEATURE_COUNT; f++) bonds = bonds.add(this.bond[f]!.forward(b.bondFeatures.select(1, f)));
    return e.indexAdd(0, b.bondEdge, bonds);
  }
}

/** GINE layer with its edge embeddings and output LayerNorm. */
class GineLayer extends Module {
  readonly edges: EdgeEmbedding;
  readonly conv: GINEConv;
  readonly norm: LayerNorm;
  constructor(d: number) {
    super();
    this.edges = this.module('edges', new EdgeEmbedding(d));
    this.conv = this.module('conv', new GINEConv(d, d, d, { hidden: 2 * d }));
    this.norm = this.module('norm', new LayerNorm(d));
  }
  forward(h: Tensor, b: GraphBatch): Tensor {
    return this.norm.forward(this.conv.forward(h, b.edgeIndex, this.edges.forward(b)));
  }
}

export class MoleculeEncoder extends Module {
  readonly atomEmbeddings: Embedding[];
  readonly typeEmbedding: Embedding | null;
  readonly convs: GCNConv[];
  readonly gine: GineLayer[];
  readonly mlp: MLP;
  readonly norm: LayerNorm;
  readonly drop: Dropout;

  constructor(readonly config: MoleculeEncoderConfig) {
    super();
    const d = config.hidden;
    this.atomEmbeddings = this.module('atom_embeddings', new ModuleList(atomFeatureDims().map((n) => new Embedding(n, d, { std: 1 / Math.sqrt(ATOM_FEATURE_COUNT) })))).items;
    this.typeEmbedding = config.typeEmbedding === false ? null : this.module('type_embedding', new Embedding(3, d, { std: 0.1 }));
    const gine = config.conv === 'gine';
    this.convs = gine ? [] : this.module('convs', new ModuleList(Array.from({ length: config.layers }, () => new GCNConv(d, d)))).items;
    this.gine = gine ? this.module('gine', new ModuleList(Array.from({ length: config.layers }, () => new GineLayer(d)))).items : [];
    this.mlp = this.module('mlp', new MLP([d, d, d, d], 'relu', config.dropout));
    this.norm = this.module('norm', new LayerNorm(d));
    this.drop = this.module('dropout', new Dropout(config.dropout));
  }

  forward(b: GraphBatch): Tensor {
    const x0 = this.initialNodes(b);
    if (this.gine.length > 0) return this.norm.forward(this.mlp.forward(this.gineLayers(x0, b)));
    const graph = gcnNorm(b.edgeIndex, b.numNodes, x0.dtype as 'float32');
    let h = x0;
    this.convs.forEach((conv, i) => {
      let out = this.drop.forward(conv.forward(h, graph));
      if (i < this.convs.length - 1) out = out.relu();
      h = this.config.residual && i > 0 ? h.add(out) : out;
    });
    return this.norm.forward(this.mlp.forward(h));
  }

  private gineLayers(x0: Tensor, b: GraphBatch): Tensor {
    let h = x0;
    this.gine.forEach((layer, i) => {
      let out = layer.forward(h, b);
      if (i < this.gine.length - 1) out = out.relu();
      h = h.add(this.drop.forward(out));
    });
    return h;
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
