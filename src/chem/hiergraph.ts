// SMILES -> hierarchical heterogeneous graph (orma-reference.md section 3.3, built from one RDKit parse):
// nodes are atoms 0..A-1, motifs A..A+M-1 and the molecule node A+M. Everything is plain typed arrays.
import { atomFeatures, bondFeatures } from './features.js';
import { findBricsBonds, type BricsMatcher } from './brics.js';
import { decomposeMotifs, type NoBricsFallback } from './motifs.js';
import { openHypervalentMol, openMol, readMolecule, SmilesError, type ParsedMolecule } from './rdkit.js';
import type { Mol } from '@rdkit/rdkit';
import { buildTopology } from './topology.js';
import { morganIdentifiers } from './morgan.js';

/** Bumped whenever features, BRICS, motifs or the layout change; part of every cache key. */
export const FEATURIZER_VERSION = 1;

export const NODE_ATOM = 0, NODE_MOTIF = 1, NODE_MOLECULE = 2;
/** Edge types. Upward edges always exist; the downward ones only with `downwardEdges`. */
export const EDGE_BOND = 0, EDGE_ATOM_MOTIF = 1, EDGE_MOTIF_MOLECULE = 2, EDGE_ATOM_MOLECULE = 3,
  EDGE_MOTIF_ATOM = 4, EDGE_MOLECULE_MOTIF = 5, EDGE_MOLECULE_ATOM = 6;
/** Number of edge types (EDGE_BOND ... EDGE_MOLECULE_ATOM), the size of an edge-type embedding. */
export const EDGE_TYPE_COUNT = 7;

export interface HierGraphOptions {
  /** What a molecule without official motifs gets (see motifs.ts). Default 'rings'. */
  noBricsFallback?: NoBricsFallback;
  /** Add motif->atom and molecule->motif edges (molecule->atom when there are no motifs). Default false. */
  downwardEdges?: boolean;
  /** How BRICS environments are matched (same result; 'rdkit' runs the SMARTS in MinimalLib). Default 'native'. */
  bricsMatcher?: BricsMatcher;
  /**
   * Give a graph (with `sanitized: false`) instead of a SmilesError for acyclic, non-aromatic molecules
   * that RDKit rejects only for valence (hypervalent halogens in PCdes). Default false.
   */
  allowHypervalent?: boolean;
}

/** The data a graph is made of; everything else in HierGraph is derived from it (and not serialized). */
export interface HierGraphCore {
  smiles: string;
  numAtoms: number;
  /** [numAtoms x ATOM_FEATURE_COUNT] vocabulary indices. */
  atomFeatures: Uint8Array;
  /**
   * [numAtoms x 2] the atom's Morgan identifiers of radius 0 and 1 (morgan.ts; radius 1 falls back to
   * radius 0 where RDKit reports none): the Mol2vec tokens. Model-independent, like atomFeatures.
   */
  morgan: Uint32Array;
  /** Bond b joins bondAtoms[2b] and bondAtoms[2b+1] (RDKit bond order). */
  bondAtoms: Int32Array;
  /** [numBonds x BOND_FEATURE_COUNT] vocabulary indices. */
  bondFeatures: Uint8Array;
  /** BRICS bonds as atom pairs, FindBRICSBonds order and orientation. */
  bricsBonds: Int32Array;
  /** Motif membership (CSR): motif k holds motifAtoms[motifOffsets[k] .. motifOffsets[k+1]). */
  motifOffsets: Int32Array;
  motifAtoms: Int32Array;
  /** True when the motifs come from the no-BRICS fallback. */
  motifFallback: boolean;
  /** False when the molecule came through the hypervalent fallback (RDKit did not sanitize it). */
  sanitized: boolean;
  downwardEdges: boolean;
}

export interface HierGraph extends HierGraphCore {
  numBonds: number;
  numMotifs: number;
  /** numAtoms + numMotifs + 1. */
  numNodes: number;
  nodeType: Uint8Array;
  /**
   * Directed edges. Bond b gives edges 2b (begin->end) and 2b+1 (end->begin), so the bond feature row of
   * edge e < 2*numBonds is e >> 1. Then atom->motif, motif->molecule (or atom->molecule when M = 0),
   * then the downward edges if enabled.
   */
  edgeSrc: Int32Array;
  edgeDst: Int32Array;
  edgeType: Uint8Array;
}

/** Featurizes one SMILES. Throws SmilesError (naming the input) when RDKit cannot parse it. */
export function buildHierGraph(smiles: string, options: HierGraphOptions = {}): HierGraph {
  let mol: Mol, p: ParsedMolecule;
  try {
    mol = openMol(smiles);
    p = readMolecule(mol, smiles);
  } catch (err) {
    if (!options.allowHypervalent || !(err instanceof SmilesError)) throw err;
    ({ mol, parsed: p } = openHypervalentMol(smiles, err));
  }
  try {
    const t = buildTopology(p);
    // an unsanitized molecule has no ring info for RDKit's SMARTS engine; the predicates need none
    const brics = findBricsBonds(mol, p, t, p.sanitized ? options.bricsMatcher ?? 'native' : 'native');
    const bondAtoms = new Int32Array(2 * p.numBonds);
    for (let b = 0; b < p.numBonds; b++) { bondAtoms[2 * b] = p.bondBegin[b]!; bondAtoms[2 * b + 1] = p.bondEnd[b]!; }
    const { motifs, fallback } = decomposeMotifs(
      { numAtoms: p.numAtoms, bondBegin: p.bondBegin, bondEnd: p.bondEnd, bricsBonds: brics.map((x) => x.atoms), rings: p.rings },
      options.noBricsFallback ?? 'rings',
    );
    const ids = morganIdentifiers(p, t);
    const morgan = new Uint32Array(2 * p.numAtoms);
    for (let i = 0; i < p.numAtoms; i++) { morgan[2 * i] = ids.radius0[i]!; morgan[2 * i + 1] = ids.radius1[i]!; }
    const motifOffsets = new Int32Array(motifs.length + 1);
    motifs.forEach((m, k) => { motifOffsets[k + 1] = motifOffsets[k]! + m.length; });
    return assembleHierGraph({
      smiles, numAtoms: p.numAtoms, atomFeatures: atomFeatures(p, t), morgan, bondAtoms, bondFeatures: bondFeatures(p, t),
      bricsBonds: Int32Array.from(brics.flatMap((x) => x.atoms)),
      motifOffsets, motifAtoms: Int32Array.from(motifs.flat()), motifFallback: fallback, sanitized: p.sanitized,
      downwardEdges: options.downwardEdges ?? false,
    });
  } finally {
    mol.delete();
  }
}

/** Derives node types and edges from the core data (also used after deserialization). */
export function assembleHierGraph(core: HierGraphCore): HierGraph {
  const A = core.numAtoms, M = core.motifOffsets.length - 1, nb = core.bondAtoms.length / 2;
  const mol = A + M;
  const membership = core.motifAtoms.length;
  const up = 2 * nb + membership + (M > 0 ? M : A);
  const total = up + (core.downwardEdges ? membership + (M > 0 ? M : A) : 0);
  const edgeSrc = new Int32Array(total), edgeDst = new Int32Array(total), edgeType = new Uint8Array(total);
  let e = 0;
  const add = (s: number, d: number, type: number) => { edgeSrc[e] = s; edgeDst[e] = d; edgeType[e++] = type; };
  for (let b = 0; b < nb; b++) {
    add(core.bondAtoms[2 * b]!, core.bondAtoms[2 * b + 1]!, EDGE_BOND);
    add(core.bondAtoms[2 * b + 1]!, core.bondAtoms[2 * b]!, EDGE_BOND);
  }
  forEachMember(core, (k, a) => add(a, A + k, EDGE_ATOM_MOTIF));
  if (M > 0) for (let k = 0; k < M; k++) add(A + k, mol, EDGE_MOTIF_MOLECULE);
  else for (let a = 0; a < A; a++) add(a, mol, EDGE_ATOM_MOLECULE);
  if (core.downwardEdges) {
    forEachMember(core, (k, a) => add(A + k, a, EDGE_MOTIF_ATOM));
    if (M > 0) for (let k = 0; k < M; k++) add(mol, A + k, EDGE_MOLECULE_MOTIF);
    else for (let a = 0; a < A; a++) add(mol, a, EDGE_MOLECULE_ATOM);
  }
  const nodeType = new Uint8Array(A + M + 1);
  nodeType.fill(NODE_MOTIF, A, A + M);
  nodeType[mol] = NODE_MOLECULE;
  return { ...core, numBonds: nb, numMotifs: M, numNodes: A + M + 1, nodeType, edgeSrc, edgeDst, edgeType };
}

function forEachMember(core: HierGraphCore, fn: (motif: number, atom: number) => void): void {
  for (let k = 0; k + 1 < core.motifOffsets.length; k++) {
    for (let j = core.motifOffsets[k]!; j < core.motifOffsets[k + 1]!; j++) fn(k, core.motifAtoms[j]!);
  }
}

/** Motifs as lists of atom indices. */
export function motifLists(g: HierGraphCore): number[][] {
  const out: number[][] = [];
  for (let k = 0; k + 1 < g.motifOffsets.length; k++) out.push(Array.from(g.motifAtoms.subarray(g.motifOffsets[k]!, g.motifOffsets[k + 1]!)));
  return out;
}

/** For each atom, the motifs that contain it (atoms of fused rings can be in several). */
export function atomMotifs(g: HierGraphCore): number[][] {
  const out: number[][] = Array.from({ length: g.numAtoms }, () => []);
  forEachMember(g, (k, a) => out[a]!.push(k));
  return out;
}

/** BRICS bonds as [i, j] pairs. */
export function bricsBondPairs(g: HierGraphCore): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < g.bricsBonds.length; i += 2) out.push([g.bricsBonds[i]!, g.bricsBonds[i + 1]!]);
  return out;
}

/** Bond features per atom-atom edge ([2*numBonds x BOND_FEATURE_COUNT]): row e is bond e >> 1's row. */
export function edgeBondFeatures(g: HierGraph): Uint8Array {
  const width = g.numBonds > 0 ? g.bondFeatures.length / g.numBonds : 0;
  const out = new Uint8Array(2 * g.bondFeatures.length);
  for (let b = 0; b < g.numBonds; b++) {
    const row = g.bondFeatures.subarray(b * width, (b + 1) * width);
    out.set(row, 2 * b * width);
    out.set(row, (2 * b + 1) * width);
  }
  return out;
}
