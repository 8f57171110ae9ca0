// Featurizing a molecule: SMILES -> hierarchical graph (atoms, BRICS motifs, one molecule node).
//   node dist/examples/motifs.js [SMILES]     (default: aspirin)
import { buildHierGraph, initRDKit, motifLists } from 'orma/chem';

const smiles = process.argv[2] ?? 'CC(=O)Oc1ccccc1C(=O)O';
await initRDKit();
const g = buildHierGraph(smiles);
console.log(`${smiles}: ${g.numAtoms} atoms, ${g.numBonds} bonds, ${g.bricsBonds.length / 2} BRICS bonds, ${g.numMotifs} motifs`);
motifLists(g).forEach((atoms, k) => console.log(`motif ${k}: atoms [${atoms.join(', ')}]`));
console.log(`hierarchical graph: ${g.numNodes} nodes, ${g.edgeSrc.length} directed edges`);
