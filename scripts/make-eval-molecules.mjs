// Makes the shipped benchmark files in data/benchmarks/ from ../shared/data (development only):
//
//   eval-molecules.tsv.gz  columns set, CID, canonical_smiles: the molecules of every benchmark split
//                          used for evaluation or model selection (chebi20_test, chebi20_validation,
//                          chebi20_selection, pcdes_validation, pcdes_test). `orma data check` and the
//                          trainer's default exclusions read it; nothing at run time reads ../shared.
//   pcdes-cids.tsv.gz      columns index, CID: PubChem CID of each line of KV-PLM's Ret/align_smiles.txt
//                          (from KV-PLM's synid_dic.pkl, via ../shared/data/pcdes), which `orma data
//                          download pcdes` needs because the two downloaded text files carry no CIDs.
//
// canonical_smiles is orma's molecule key (src/data/leakage.ts `moleculeKey`: RDKit MinimalLib's
// canonical SMILES, or the trimmed input when RDKit cannot parse it), so the build must come first:
//   npm run build && node scripts/make-eval-molecules.mjs [--shared ../shared/data]
// gzip is written with mtime 0, so rebuilding from the same data and RDKit gives the same bytes.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readTsv as readSharedTsv } from './lib/tsv.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { shared: { type: 'string' } } });
const SHARED = values.shared ?? join(ROOT, '..', 'shared', 'data');
const OUT = join(ROOT, 'data', 'benchmarks');

const leakagePath = join(ROOT, 'dist', 'src', 'data', 'leakage.js');
if (!existsSync(leakagePath)) {
  console.error('make-eval-molecules: build first (npm run build): missing ' + leakagePath);
  process.exit(2);
}
const { moleculeKey } = await import(pathToFileURL(leakagePath).href);
const { initRDKit, rdkitVersion, canonicalSmiles } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'chem', 'rdkit.js')).href);
await initRDKit();

const readTsv = (rel) => readSharedTsv(join(SHARED, rel));

const SETS = [
  ['chebi20_test', 'chebi20/test.tsv'],
  ['chebi20_validation', 'chebi20/validation.tsv'],
  ['chebi20_selection', 'chebi20/selection.tsv'],
  ['pcdes_validation', 'pcdes/validation.tsv'],
  ['pcdes_test', 'pcdes/test_molecules.tsv'],
];

const out = ['set\tCID\tcanonical_smiles'];
const counts = {};
let unparsable = 0;
for (const [set, rel] of SETS) {
  const rows = readTsv(rel);
  counts[set] = rows.length;
  for (const r of rows) {
    const key = moleculeKey(r.SMILES);
    try { canonicalSmiles(r.SMILES); } catch { unparsable++; }
    out.push(`${set}\t${r.CID}\t${key}`);
  }
}

const cids = new Map();
for (const rel of ['pcdes/train.tsv.gz', 'pcdes/train_missing_description.tsv', 'pcdes/validation.tsv', 'pcdes/test_molecules.tsv']) {
  for (const r of readTsv(rel)) cids.set(Number(r.index), r.CID);
}
const cidLines = ['index\tCID'];
for (let i = 0; i < 15000; i++) {
  if (!cids.has(i)) throw new Error(`no CID for PCdes index ${i}`);
  cidLines.push(`${i}\t${cids.get(i)}`);
}

mkdirSync(OUT, { recursive: true });
const gz = (lines) => gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 9 });
writeFileSync(join(OUT, 'eval-molecules.tsv.gz'), gz(out));
writeFileSync(join(OUT, 'pcdes-cids.tsv.gz'), gz(cidLines));
console.log(JSON.stringify({ rdkit: rdkitVersion(), sets: counts, rows: out.length - 1, unparsable_kept_verbatim: unparsable, pcdes_cids: cidLines.length - 1 }));
