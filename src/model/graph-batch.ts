// Many hierarchical graphs as one disjoint graph (node indices offset per graph), plus padded per-graph
// index tables that let the scores gather atoms and motifs as [B, k, D] key sets.
import { ATOM_FEATURE_COUNT, EDGE_ATOM_MOLECULE, EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE, type HierGraph } from '../chem/index.js';

export interface GraphBatch {
  graphs: number;
  numNodes: number;
  /** [numAtoms, ATOM_FEATURE_COUNT] categorical feature indices of every atom, graph by graph. */
  atomFeatures: Int32Array;
  /** Node index of each atom row. */
  atomNode: Int32Array;
  nodeType: Uint8Array;
  edgeSrc: Int32Array;
  edgeDst: Int32Array;
  edgeType: Uint8Array;
  maxAtoms: number;
  /** [graphs × maxAtoms] node index of the graph's atoms (0 where padded) and the mask (1 real). */
  atomIndex: Int32Array;
  atomMask: Uint8Array;
  maxMotifs: number;
  motifIndex: Int32Array;
  motifMask: Uint8Array;
  /** [graphs] node index of each molecule node. */
  moleculeIndex: Int32Array;
}

/** Edge types that carry the mean-of-members initialisation upward (atom→motif, motif/atom→molecule). */
export const MEMBERSHIP_EDGES = [EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE, EDGE_ATOM_MOLECULE] as const;

export function batchGraphs(graphs: readonly HierGraph[]): GraphBatch {
  if (graphs.length === 0) throw new Error('batchGraphs: no graphs');
  const numNodes = graphs.reduce((n, g) => n + g.numNodes, 0);
  const numAtoms = graphs.reduce((n, g) => n + g.numAtoms, 0);
  const numEdges = graphs.reduce((n, g) => n + g.edgeSrc.length, 0);
  const maxAtoms = Math.max(...graphs.map((g) => g.numAtoms));
  const maxMotifs = Math.max(1, ...graphs.map((g) => g.numMotifs));  // ≥ 1 keeps key tensors non-empty
  const b: GraphBatch = {
    graphs: graphs.length, numNodes, maxAtoms, maxMotifs,
    atomFeatures: new Int32Array(numAtoms * ATOM_FEATURE_COUNT), atomNode: new Int32Array(numAtoms),
    nodeType: new Uint8Array(numNodes), edgeSrc: new Int32Array(numEdges), edgeDst: new Int32Array(numEdges), edgeType: new Uint8Array(numEdges),
    atomIndex: new Int32Array(graphs.length * maxAtoms), atomMask: new Uint8Array(graphs.length * maxAtoms),
    motifIndex: new Int32Array(graphs.length * maxMotifs), motifMask: new Uint8Array(graphs.length * maxMotifs),
    moleculeIndex: new Int32Array(graphs.length),
  };
  let node = 0, atom = 0, edge = 0;
  graphs.forEach((g, i) => {
    b.atomFeatures.set(g.atomFeatures, atom * ATOM_FEATURE_COUNT);
    for (let a = 0; a < g.numAtoms; a++) {
      b.atomNode[atom + a] = node + a;
      b.atomIndex[i * maxAtoms + a] = node + a;
      b.atomMask[i * maxAtoms + a] = 1;
    }
    for (let k = 0; k < g.numMotifs; k++) {
      b.motifIndex[i * maxMotifs + k] = node + g.numAtoms + k;
      b.motifMask[i * maxMotifs + k] = 1;
    }
    b.moleculeIndex[i] = node + g.numNodes - 1;
    b.nodeType.set(g.nodeType, node);
    for (let e = 0; e < g.edgeSrc.length; e++) {
      b.edgeSrc[edge + e] = g.edgeSrc[e]! + node;
      b.edgeDst[edge + e] = g.edgeDst[e]! + node;
    }
    b.edgeType.set(g.edgeType, edge);
    node += g.numNodes;
    atom += g.numAtoms;
    edge += g.edgeSrc.length;
  });
  return b;
}
