// Makes the shipped search libraries in data/libraries/ from the project's development copy of ChEBI-20
// (../shared/data/chebi20; nothing at run time reads ../shared):
//   chebi20-molecules.tsv.gz  columns id (PubChem CID), smiles: all 33,010 ChEBI-20 molecules, SMILES as published
//   chebi20-texts.tsv.gz      columns id (PubChem CID of the molecule described), split, text: the ChEBI-20
//                             descriptions we have (test, validation and train rows)
//   node scripts/make-search-libraries.mjs [--shared ../shared/data]
// gzip is written with mtime 0 (Node's default) and level 9, so rebuilding from the same data gives the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTsv as readSharedTsv } from './lib/tsv.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { shared: { type: 'string' } } });
const SHARED = values.shared ?? join(ROOT, '..', 'shared', 'data');
const OUT = join(ROOT, 'data', 'libraries');

const readTsv = (rel) => readSharedTsv(join(SHARED, rel));

const clean = (s) => s.replace(/[\t\r\n]+/g, ' ').trim();
const molecules = readTsv('chebi20/all_cid_smiles.tsv.gz');
const seen = new Set();
const molLines = ['id\tsmiles'];
for (const r of molecules) {
  if (seen.has(r.CID)) throw new Error(`duplicate CID ${r.CID}`);
  seen.add(r.CID);
  molLines.push(`${r.CID}\t${clean(r.SMILES)}`);
}
const textLines = ['id\tsplit\ttext'];
const splits = {};
for (const [split, rel] of [['test', 'chebi20/test.tsv'], ['validation', 'chebi20/validation.tsv'], ['train', 'chebi20/train.tsv.gz']]) {
  let n = 0;
  for (const r of readTsv(rel)) {
    const text = clean(r.description ?? '');
    if (!text) continue;
    textLines.push(`${r.CID}\t${split}\t${text}`);
    n++;
  }
  splits[split] = n;
}
mkdirSync(OUT, { recursive: true });
const gz = (lines) => gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 9 });
const m = gz(molLines), t = gz(textLines);
writeFileSync(join(OUT, 'chebi20-molecules.tsv.gz'), m);
writeFileSync(join(OUT, 'chebi20-texts.tsv.gz'), t);
console.log(JSON.stringify({ molecules: molLines.length - 1, texts: textLines.length - 1, splits, bytes: { molecules: m.length, texts: t.length } }));
