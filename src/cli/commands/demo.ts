// `orma demo`: a short tour of what works offline out of the box: the engine, a molecule's
// hierarchical graph (atoms, BRICS motifs) and the tokenization of a description.
import { join } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { DEFAULT_MODEL_DIR } from '../../util/paths.js';

const HELP = `usage: orma demo [--smiles SMILES] [--text TEXT]

Shows the tensor engine's set-up, the motif decomposition of a molecule (aspirin by default)
and how the default vocabulary tokenizes a description.`;

const ASPIRIN = 'CC(=O)Oc1ccccc1C(=O)O';
const TEXT = 'The molecule is a member of the class of benzoic acids that is salicylic acid in which the hydrogen of the phenolic hydroxy group is replaced by an acetoxy group.';

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, { smiles: { type: 'string' }, text: { type: 'string' } }, HELP);
  if (!args) return 0;
  const smiles = (args.values.smiles as string | undefined) ?? ASPIRIN;
  const text = (args.values.text as string | undefined) ?? TEXT;

  const t = await import('../../tensor/index.js');
  const blas = t.blasInfo();
  const ms = t.tidy(() => {
    const a = t.randn([512, 512]);
    a.matmul(a);
    const t0 = performance.now();
    a.matmul(a);
    return performance.now() - t0;
  });
  console.log(`engine    libtorch, ${t.getNumThreads()} threads, BLAS ${blas.kind}; 512³ matmul ${((2 * 512 ** 3) / ms / 1e6).toFixed(0)} GFLOP/s`);

  const chem = await import('../../chem/index.js');
  await chem.initRDKit();
  const g = chem.buildHierGraph(smiles);
  console.log(`molecule  ${smiles}: ${g.numAtoms} atoms, ${g.numBonds} bonds, ${g.bricsBonds.length / 2} BRICS bonds, ${g.numMotifs} motifs`);
  chem.motifLists(g).forEach((m, k) => console.log(`          motif ${k}: atoms [${m.join(', ')}]`));
  console.log(`          hierarchical graph: ${g.numNodes} nodes (atoms, motifs, 1 molecule), ${g.edgeSrc.length} directed edges`);

  const { BertTokenizer } = await import('../../text/index.js');
  const tok = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
  const enc = tok.encode(text, { returnTokens: true });
  console.log(`text      ${enc.ids.length} word pieces: ${enc.tokens!.join(' ')}`);
  console.log('\nRetrieval: `orma search "a description"` searches the shipped ChEBI-20 molecules with the default model (models/default); `orma train` trains your own (docs/training.md).');
  return 0;
}
