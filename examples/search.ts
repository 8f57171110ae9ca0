// The search API: load a model directory, search a molecule library for a description (two stages:
// global score, then the fused ORMA score on the top 50), filter by a SMARTS, explain a match.
//   node dist/examples/search.js [MODEL_DIR]   (default: the tiny fixture model and a 122-molecule library)
// With no arguments it runs on test fixtures; on the shipped ChEBI-20 libraries pass just { model }.
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrmaSearch } from 'orma/search';

const root = fileURLToPath(new URL('../../', import.meta.url));
const search = await OrmaSearch.load({
  model: process.argv[2] ?? join(root, 'test/fixtures/models/tiny'),
  molecules: join(root, 'test/fixtures/search/molecules.tsv'),
  texts: join(root, 'test/fixtures/search/texts.tsv'),
  indexDir: join(tmpdir(), 'orma-example-index'),
});
try {
  console.log(`model dim ${search.info.dim}, ${search.info.molecules} molecules, ${search.info.texts} texts`);
  for (const hit of await search.searchMolecules('an ethyl ester of a hydroxy acid', { k: 3, substructure: 'C(=O)OCC' })) {
    console.log(`${hit.rank}. ${hit.id} ${hit.smiles} fused ${hit.score.toFixed(3)} (global ${hit.grains.global.toFixed(3)})`);
  }
  const e = await search.explain('ethyl lactate is an ester', 'CCOC(=O)[C@H](C)O');
  console.log(`explain: ${e.tokens.length} tokens, ${e.motifs.length} motifs, fused ${e.fused.toFixed(3)}`);
  e.tokens.forEach((t, i) => { if (e.tokenMotif[i]! >= 0) console.log(`  ${t} -> motif ${e.tokenMotif[i]} atoms [${e.motifs[e.tokenMotif[i]!]!.join(', ')}]`); });
} finally {
  search.close();
}
