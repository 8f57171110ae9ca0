#!/usr/bin/env node
// Where a model's wrong top hits come from in the 33k ChEBI-20 library: for each description of a
// validation file (default: the selection slice, whose molecules no training source holds), the global
// top 1 over the shipped library, and whether a wrong one is a molecule the model trained on (ChEBI-20
// train, or ChEBI-20 validation outside the slice) or an unseen one (ChEBI-20 test, the slice), against
// each group's share of the library. A model that favours its training molecules picks them more often
// than their share. By CID; run from the repository root after `npm run build`.
//   node scripts/diagnose-pool.mjs [MODEL_DIR] [DATA_FILE]
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { OrmaSearch } from '../dist/src/search/index.js';

const model = process.argv[2] ?? 'models/default';
const dataFile = process.argv[3] ?? '../shared/data/chebi20/selection.tsv';
const rows = (file) => {
  const buf = readFileSync(file), text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  const [head, ...lines] = text.split('\n').filter(Boolean);
  const cols = head.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
};
const cid = (r) => String(r.CID ?? r.cid);
const selection = new Set(rows('../shared/data/chebi20/selection.tsv').map(cid));
const groups = new Map();
for (const r of rows('../shared/data/chebi20/train.tsv.gz')) groups.set(cid(r), 'trained on (ChEBI-20 train)');
for (const r of rows('../shared/data/chebi20/validation.tsv')) groups.set(cid(r), selection.has(cid(r)) ? 'unseen (selection slice)' : 'trained on (ChEBI-20 validation)');
for (const r of rows('../shared/data/chebi20/test.tsv')) groups.set(cid(r), 'unseen (ChEBI-20 test)');
const queries = rows(dataFile);

const search = await OrmaSearch.load({ model });
try {
  const libraryIds = rows('data/libraries/chebi20-molecules.tsv.gz').map((r) => r.id);  // the default library
  const counts = {}, share = {};
  let correct = 0;
  const t0 = performance.now();
  for (const q of queries) {
    const [top] = await search.searchMolecules(q.description, { k: 1, rerank: 0 });
    if (String(top.id) === cid(q)) { correct++; continue; }
    const g = groups.get(String(top.id)) ?? 'other';
    counts[g] = (counts[g] ?? 0) + 1;
  }
  for (const id of libraryIds) { const g = groups.get(String(id)) ?? 'other'; share[g] = (share[g] ?? 0) + 1; }
  const wrong = queries.length - correct;
  console.log(JSON.stringify({
    model, data: dataFile, queries: queries.length, top1_correct: correct,
    wrong_top1_by_group: Object.fromEntries(Object.entries(counts).map(([g, n]) => [g, { n, share: +(n / wrong).toFixed(3) }])),
    library_by_group: Object.fromEntries(Object.entries(share).map(([g, n]) => [g, { n, share: +(n / libraryIds.length).toFixed(3) }])),
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  }, null, 1));
} finally {
  search.close();
}
