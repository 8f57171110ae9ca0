// The molecule side of ORMA (orma-reference.md §3.3-4, with our fixes): categorical atom features are
// embedded; motif and molecule nodes start as the mean of their members; node types get their own
// embedding; a GCN over the hierarchical graph, a node-wise MLP and a LayerNorm give every node a vector.
// `conv: 'gine'` swaps the GCN for GINE layers (Hu et al. 2020) that see the bond features and the
// hierarchy edge types (a GCN's normalised mean cannot tell a double bond from a single one).
// `atomInput: 'mol2vec'` starts atoms from the official code's features instead: the frozen Mol2vec
// vector of each atom's Morgan identifier (model/mol2vec.ts), through a learned Linear to the hidden size.
import { keep, tensor, zeros, type Device, type Tensor } from '../tensor/index.js';
import { Embedding, GCNConv, GINEConv, LayerNorm, Linear, MLP, Module, ModuleList, Dropout, gcnNorm } from '../nn/index.js';
import { ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT, EDGE_TYPE_COUNT, atomFeatureDims, bondFeatureDims } from '../chem/index.js';
import { mol2vecRows, type GraphBatch, type Pooling } from '../data/graph-batch.js';
import { mol2vecRowIndex, type Mol2vecTable } from './mol2vec.js';

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
  /**
   * What an atom node starts from. 'categorical' (default): the sum of learned embeddings of its
   * categorical features (chem/features.ts). 'mol2vec' (the official code, reference §3.1): the frozen
   * Mol2vec vector of its Morgan identifier (UNK's when the table lacks it), Linear-projected.
   */
  atomInput?: 'categorical' | 'mol2vec';
  /** The Morgan radius of the Mol2vec identifier (0: the atom alone; 1: with its neighbours). Default 1. */
  mol2vecRadius?: 0 | 1;
}

/**
 * Atom inputs from a frozen Mol2vec table: table[row] · Wᵀ + b. The table is a kept tensor, not a
 * parameter: no gradient, not in the optimizer or the state dict (the model folder carries it as
 * mol2vec.safetensors, factory.ts).
 */
export class Mol2vecAtoms extends Module {
  readonly projection: Linear;
  private readonly vectors: Tensor;
  private readonly rowOf: Map<number, number>;
  constructor(readonly table: Mol2vecTable, hidden: number, readonly radius: 0 | 1) {
    super();
    this.vectors = keep(tensor(table.vectors, { shape: [table.rows, table.dim], dtype: 'float32' }));
    this.rowOf = mol2vecRowIndex(table);
    this.projection = this.module('projection', new Linear(table.dim, hidden));
  }
  forward(b: GraphBatch): Tensor {
    const x = this.vectors.indexSelect(0, mol2vecRows(b, this.rowOf, this.radius));
    return this.projection.forward(x.to(this.projection.weight.dtype));
  }
  override to(device: Device): this {
    this.vectors.moveTo_(device);
    return super.to(device);
  }
  override dispose(): void {
    this.vectors.dispose();
    super.dispose();
  }
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
  readonly mol2vec: Mol2vecAtoms | null;
  readonly typeEmbedding: Embedding | null;
  readonly convs: GCNConv[];
  readonly gine: GineLayer[];
  readonly mlp: MLP;
  readonly norm: LayerNorm;
  readonly drop: Dropout;

  /** `mol2vec`: the table, required with `atomInput: 'mol2vec'`. */
  constructor(readonly config: MoleculeEncoderConfig, mol2vec?: Mol2vecTable) {
    super();
    const d = config.hidden;
    if (config.atomInput === 'mol2vec') {
      if (!mol2vec) throw new Error("MoleculeEncoder: atomInput 'mol2vec' needs the Mol2vec table");
      this.atomEmbeddings = [];
      this.mol2vec = this.module('mol2vec', new Mol2vecAtoms(mol2vec, d, config.mol2vecRadius ?? 1));
    } else {
      this.atomEmbeddings = this.module('atom_embeddings', new ModuleList(atomFeatureDims().map((n) => new Embedding(n, d, { std: 1 / Math.sqrt(ATOM_FEATURE_COUNT) })))).items;
      this.mol2vec = null;
    }
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

  /** Atoms: Σ of feature embeddings (or projected Mol2vec); motifs, then the molecule: the mean of their members; + a type embedding. */
  private initialNodes(b: GraphBatch): Tensor {
    const atoms = this.mol2vec ? this.mol2vec.forward(b) : this.categoricalAtoms(b);
    let x = zeros([b.numNodes, this.config.hidden], { dtype: atoms.dtype }).indexAdd(0, b.atomNode, atoms);
    x = addPooled(x, b.motifPooling);
    x = addPooled(x, b.moleculePooling);
    return this.typeEmbedding ? x.add(this.typeEmbedding.forward(b.nodeType)) : x;
  }

  private categoricalAtoms(b: GraphBatch): Tensor {
    let atoms = this.atomEmbeddings[0]!.forward(b.atomFeatures.select(1, 0));
    for (let f = 1; f < ATOM_FEATURE_COUNT; f++) atoms = atoms.add(this.atomEmbeddings[f]!.forward(b.atomFeatures.select(1, f)));
    return atoms;
  }
}

/** x[dst] += weight · x[src] (member means, with the weights computed at collate time). */
function addPooled(x: Tensor, p: Pooling): Tensor {
  if (p.src.size(0) === 0) return x;
  return x.indexAdd(0, p.dst, x.indexSelect(0, p.src).mul(p.weight.to(x.dtype as 'float32')));
}
