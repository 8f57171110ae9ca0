// Agreement of orma's per-atom Morgan identifiers (src/chem/morgan.ts) with a Python RDKit golden
// (test/reference/morgan_golden.py --data FILE --out GOLDEN.jsonl[.gz]), and Mol2vec table coverage:
//   node scripts/morgan-check.mjs GOLDEN.jsonl[.gz] [MOL2VEC_DIR]
// Prints one JSON object: atoms equal / total per radius, the first differences, coverage per radius.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { initRDKit, parseMolecule } from '../dist/src/chem/rdkit.js';
import { buildTopology } from '../dist/src/chem/topology.js';
import { morganIdentifiers } from '../dist/src/chem/morgan.js';

const [goldenPath, tableDir] = process.argv.slice(2);
if (!goldenPath) { console.error('usage: node scripts/morgan-check.mjs GOLDEN.jsonl[.gz] [MOL2VEC_DIR]'); process.exit(2); }
await initRDKit();
let raw = readFileSync(goldenPath);
if (goldenPath.endsWith('.gz')) raw = gunzipSync(raw);
const tokens = tableDir ? new Set(readFileSync(join(tableDir, 'tokens.txt'), 'utf8').split('\n').slice(1).filter(Boolean).map(Number)) : null;
const r = { molecules: 0, failed: [], atomCountDiffers: [], radius0: { equal: 0, total: 0 }, radius1: { equal: 0, total: 0, reported: 0 }, differences: [],
  coverage: tokens && { radius0: { inTable: 0, total: 0 }, radius1Reported: { inTable: 0, total: 0 }, radius1WithFallback: { inTable: 0, total: 0 } } };
for (const line of raw.toString('utf8').trim().split('\n')) {
  const g = JSON.parse(line);
  if (g.error) continue;
  r.molecules++;
  let p;
  try { p = parseMolecule(g.smiles); } catch (e) { r.failed.push(g.line); continue; }
  if (p.numAtoms !== g.r0.length) { r.atomCountDiffers.push(g.line); continue; }
  const m = morganIdentifiers(p, buildTopology(p));
  for (let i = 0; i < p.numAtoms; i++) {
    const ours1 = m.radius1Reported[i] ? m.radius1[i] : null;
    r.radius0.total++; r.radius1.total++;
    if (m.radius0[i] === g.r0[i]) r.radius0.equal++;
    if (ours1 === g.r1[i]) r.radius1.equal++;
    if (g.r1[i] !== null) r.radius1.reported++;
    if ((m.radius0[i] !== g.r0[i] || ours1 !== g.r1[i]) && r.differences.length < 20) r.differences.push({ line: g.line, smiles: g.smiles, atom: i, ours: [m.radius0[i], ours1], rdkit: [g.r0[i], g.r1[i]] });
    if (tokens) {
      const c = r.coverage;
      c.radius0.total++; if (tokens.has(g.r0[i])) c.radius0.inTable++;
      if (g.r1[i] !== null) { c.radius1Reported.total++; if (tokens.has(g.r1[i])) c.radius1Reported.inTable++; }
      c.radius1WithFallback.total++; if (tokens.has(g.r1[i] ?? g.r0[i])) c.radius1WithFallback.inTable++;
    }
  }
}
console.log(JSON.stringify(r, null, 1));
