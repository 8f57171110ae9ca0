// Collation of hierarchical graphs (PyTorch Geometric's `Batch`): many graphs become one disjoint graph
// (node indices offset per graph), and every index tensor the encoder and the scores need is computed
// here, once per batch, instead of in every forward pass:
//   - atom features, node types and the edge list;
//   - the member-mean pooling that initialises motif nodes (mean of their atoms) and the molecule node
//     (mean of its motifs, or of its atoms when it has none), as weighted edges;
//   - padded per-graph gathers of atom and motif nodes ([B, k] index + mask), real slots first;
//   - every atom's Morgan identifiers (plain numbers): `mol2vecRows` turns them into rows of a Mol2vec
//     table. That lookup cannot happen here, since the table belongs to the model and evaluation and
//     search collate graphs without it; it is still data work, done once per batch, not a layer's.
import { tensor, tidy, type Tensor } from '../tensor/index.js';
import { ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT, EDGE_ATOM_MOLECULE, EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE, type HierGraph } from '../chem/index.js';

/** Weighted edges that pool members into a node: out[dst] += weight · x[src]. */
export interface Pooling {
  src: Tensor;
  dst: Tensor;
  /** [E, 1] float32: 1 / (number of members of dst). */
  weight: Tensor;
}

export interface GraphBatch {
  graphs: number;
  numNodes: number;
  /** int64 [numAtoms, ATOM_FEATURE_COUNT]: categorical feature indices of every atom, graph by graph. */
  atomFeatures: Tensor;
  /** int64 [numAtoms]: the node index of each atom row. */
  atomNode: Tensor;
  /** [numAtoms x 2] each atom's Morgan identifiers of radius 0 and 1 (chem/morgan.ts), graph by graph. */
  atomMorgan: Uint32Array;
  /** int64 [numNodes]: 0 atom, 1 motif, 2 molecule. */
  nodeType: Tensor;
  /** int64 [2, E]: every edge of the hierarchical graphs (source row 0, target row 1). */
  edgeIndex: Tensor;
  /** int64 [E]: each edge's type (EDGE_BOND, EDGE_ATOM_MOTIF, ...; chem/hiergraph.ts). */
  edgeType: Tensor;
  /** int64 [Eb]: the edges that are bonds (both directions), and int64 [Eb, BOND_FEATURE_COUNT] their bond features. */
  bondEdge: Tensor;
  bondFeatures: Tensor;
  /** atom → motif means, then motif (or atom, for motif-less molecules) → molecule means. */
  motifPooling: Pooling;
  moleculePooling: Pooling;
  maxAtoms: number;
  /** int64 [graphs · maxAtoms] node index of each graph's atoms (0 where padded); bool mask [graphs, maxAtoms]. */
  atomIndex: Tensor;
  atomMask: Tensor;
  maxMotifs: number;
  motifIndex: Tensor;
  motifMask: Tensor;
  /**
   * The same gather where a molecule without motifs has its molecule node as its single motif, so the
   * mid grain scores it like any other molecule (a one-motif molecule) instead of 0.
   */
  motifOrMoleculeIndex: Tensor;
  motifOrMoleculeMask: Tensor;
  /** int64 [graphs] node index of each molecule node. */
  moleculeIndex: Tensor;
  /** Per graph: real atoms and motifs (plain numbers, for chunking without reading tensors back). */
  atomCounts: number[];
  motifCounts: number[];
}

const int64 = (a: Int32Array, shape: number[]) => tensor(a, { dtype: 'int32', shape }).long();
const bools = (a: Uint8Array, shape: number[]) => tensor(a, { dtype: 'uint8', shape }).bool();

export function batchGraphs(graphs: readonly HierGraph[]): GraphBatch {
  if (graphs.length === 0) throw new Error('batchGraphs: no graphs');
  const B = graphs.length;
  const numNodes = graphs.reduce((n, g) => n + g.numNodes, 0);
  const numAtoms = graphs.reduce((n, g) => n + g.numAtoms, 0);
  const numEdges = graphs.reduce((n, g) => n + g.edgeSrc.length, 0);
  const maxAtoms = Math.max(1, ...graphs.map((g) => g.numAtoms));
  const maxMotifs = Math.max(1, ...graphs.map((g) => g.numMotifs));  // ≥ 1 keeps key tensors non-empty
  const atomFeatures = new Int32Array(numAtoms * ATOM_FEATURE_COUNT), atomNode = new Int32Array(numAtoms);
  const atomMorgan = new Uint32Array(2 * numAtoms);
  const nodeType = new Int32Array(numNodes), edges = new Int32Array(2 * numEdges), edgeType = new Int32Array(numEdges);
  const numBondEdges = graphs.reduce((n, g) => n + 2 * g.numBonds, 0);
  const bondEdge = new Int32Array(numBondEdges), bondFeatures = new Int32Array(numBondEdges * BOND_FEATURE_COUNT);
  const atomIndex = new Int32Array(B * maxAtoms), atomMask = new Uint8Array(B * maxAtoms);
  const motifIndex = new Int32Array(B * maxMotifs), motifMask = new Uint8Array(B * maxMotifs);
  const motifOrMoleculeIndex = new Int32Array(B * maxMotifs), motifOrMoleculeMask = new Uint8Array(B * maxMotifs);
  const moleculeIndex = new Int32Array(B);
  const pool = { motif: [] as number[][], molecule: [] as number[][] };  // [src, dst, members of dst]
  let node = 0, atom = 0, edge = 0, bondRow = 0;
  graphs.forEach((g, i) => {
    atomFeatures.set(g.atomFeatures, atom * ATOM_FEATURE_COUNT);
    atomMorgan.set(g.morgan, 2 * atom);
    for (let a = 0; a < g.numAtoms; a++) {
      atomNode[atom + a] = node + a;
      atomIndex[i * maxAtoms + a] = node + a;
      atomMask[i * maxAtoms + a] = 1;
    }
    const mol = node + g.numNodes - 1;
    for (let k = 0; k < g.numMotifs; k++) {
      motifIndex[i * maxMotifs + k] = motifOrMoleculeIndex[i * maxMotifs + k] = node + g.numAtoms + k;
      motifMask[i * maxMotifs + k] = motifOrMoleculeMask[i * maxMotifs + k] = 1;
    }
    if (g.numMotifs === 0) { motifOrMoleculeIndex[i * maxMotifs] = mol; motifOrMoleculeMask[i * maxMotifs] = 1; }
    moleculeIndex[i] = mol;
    for (let n = 0; n < g.numNodes; n++) nodeType[node + n] = g.nodeType[n]!;
    const members = new Map<number, number>();
    for (let e = 0; e < g.edgeSrc.length; e++) {
      edges[edge + e] = g.edgeSrc[e]! + node;
      edges[numEdges + edge + e] = g.edgeDst[e]! + node;
      const t = g.edgeType[e]!;
      edgeType[edge + e] = t;
      if (t === EDGE_ATOM_MOTIF || t === EDGE_MOTIF_MOLECULE || t === EDGE_ATOM_MOLECULE) members.set(g.edgeDst[e]!, (members.get(g.edgeDst[e]!) ?? 0) + 1);
    }
    for (let e = 0; e < g.edgeSrc.length; e++) {
      const t = g.edgeType[e]!, dst = g.edgeDst[e]!;
      if (t === EDGE_ATOM_MOTIF) pool.motif.push([g.edgeSrc[e]! + node, dst + node, members.get(dst)!]);
      else if (t === EDGE_MOTIF_MOLECULE || t === EDGE_ATOM_MOLECULE) pool.molecule.push([g.edgeSrc[e]! + node, dst + node, members.get(dst)!]);
    }
    // bond b gives edges 2b and 2b+1 (chem/hiergraph.ts), both with bond b's features
    for (let e = 0; e < 2 * g.numBonds; e++) {
      bondEdge[bondRow + e] = edge + e;
      for (let f = 0; f < BOND_FEATURE_COUNT; f++) bondFeatures[(bondRow + e) * BOND_FEATURE_COUNT + f] = g.bondFeatures[(e >> 1) * BOND_FEATURE_COUNT + f]!;
    }
    bondRow += 2 * g.numBonds;
    node += g.numNodes;
    atom += g.numAtoms;
    edge += g.edgeSrc.length;
  });
  const pooling = (rows: number[][]): Pooling => ({
    src: int64(Int32Array.from(rows, (r) => r[0]!), [rows.length]),
    dst: int64(Int32Array.from(rows, (r) => r[1]!), [rows.length]),
    weight: tensor(Float32Array.from(rows, (r) => 1 / r[2]!), { shape: [rows.length, 1], dtype: 'float32' }),
  });
  // in a scope: the int32 staging tensors of the int64 conversions are freed here
  return tidy(() => ({
    graphs: B, numNodes, maxAtoms, maxMotifs,
    atomFeatures: int64(atomFeatures, [numAtoms, ATOM_FEATURE_COUNT]), atomNode: int64(atomNode, [numAtoms]), atomMorgan,
    nodeType: int64(nodeType, [numNodes]), edgeIndex: int64(edges, [2, numEdges]), edgeType: int64(edgeType, [numEdges]),
    bondEdge: int64(bondEdge, [numBondEdges]), bondFeatures: int64(bondFeatures, [numBondEdges, BOND_FEATURE_COUNT]),
    motifPooling: pooling(pool.motif), moleculePooling: pooling(pool.molecule),
    atomIndex: int64(atomIndex, [B * maxAtoms]), atomMask: bools(atomMask, [B, maxAtoms]),
    motifIndex: int64(motifIndex, [B * maxMotifs]), motifMask: bools(motifMask, [B, maxMotifs]),
    motifOrMoleculeIndex: int64(motifOrMoleculeIndex, [B * maxMotifs]), motifOrMoleculeMask: bools(motifOrMoleculeMask, [B, maxMotifs]),
    moleculeIndex: int64(moleculeIndex, [B]),
    atomCounts: graphs.map((g) => g.numAtoms), motifCounts: graphs.map((g) => g.numMotifs),
  }));
}

/**
 * int64 [numAtoms]: each atom's row in a Mol2vec table (its radius-`radius` Morgan identifier looked up
 * in `rowOf`, model/mol2vec.ts mol2vecRowIndex), 0 (UNK) for identifiers the table lacks.
 */
export function mol2vecRows(b: GraphBatch, rowOf: ReadonlyMap<number, number>, radius: 0 | 1): Tensor {
  const rows = new Int32Array(b.atomMorgan.length / 2);
  for (let i = 0; i < rows.length; i++) rows[i] = rowOf.get(b.atomMorgan[2 * i + radius]!) ?? 0;
  return tidy(() => int64(rows, [rows.length]));
}
