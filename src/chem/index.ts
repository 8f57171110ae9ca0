// Public face of the chemistry layer: SMILES -> hierarchical graph, its pieces, and depictions.
export { initRDKit, rdkitVersion, parseMolecule, canonicalSmiles, SmilesError, type ParsedMolecule } from './rdkit.js';
export { ATOM_VOCABULARIES, BOND_VOCABULARIES, ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT, atomFeatureDims, bondFeatureDims, describeFeatures, type Vocabulary } from './features.js';
export { BRICS_ENVIRONMENTS, BRICS_RULES, findBricsBonds, type BricsBond } from './brics.js';
export { decomposeMotifs, officialMotifs, type NoBricsFallback } from './motifs.js';
export {
  buildHierGraph, assembleHierGraph, motifLists, atomMotifs, bricsBondPairs, edgeBondFeatures, FEATURIZER_VERSION,
  NODE_ATOM, NODE_MOTIF, NODE_MOLECULE, EDGE_BOND, EDGE_TYPE_COUNT, EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE, EDGE_ATOM_MOLECULE,
  EDGE_MOTIF_ATOM, EDGE_MOLECULE_MOTIF, EDGE_MOLECULE_ATOM,
  type HierGraph, type HierGraphCore, type HierGraphOptions,
} from './hiergraph.js';
export { morganIdentifiers, connectivityInvariants, type MorganIdentifiers } from './morgan.js';
export { serializeHierGraph, deserializeHierGraph, packHierGraphs, unpackHierGraphs, GraphFormatError, GRAPH_FORMAT } from './serialize.js';
export { depictSvg, depictMotifs, MOTIF_PALETTE, type Highlight, type DepictOptions, type RGB } from './depict.js';
export type { BricsMatcher } from './brics.js';
