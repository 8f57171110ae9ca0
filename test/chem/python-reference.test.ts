// Live comparison with RDKit itself: runs bench/reference/brics_motifs.py (python3-rdkit) on every
// ChEBI-20 validation molecule and compares BRICS bonds and motifs. Skips without Python RDKit or
// without the shared data; golden.test.ts covers the same ground from a committed file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { initRDKit } from '../../src/chem/rdkit.js';
import { buildHierGraph, bricsBondPairs, motifLists } from '../../src/chem/hiergraph.js';
import { CHEBI_VALIDATION, PYTHON, REPO, canonicalMotifs, haveShared, havePythonRDKit, type GoldenRecord } from './helpers.js';

test('BRICS bonds and motifs agree with python RDKit on ChEBI-20 validation', async (t) => {
  if (!havePythonRDKit()) return t.skip('python3-rdkit not installed');
  if (!haveShared()) return t.skip('shared data not found');
  await initRDKit();
  const run = spawnSync(PYTHON, [join(REPO, 'bench/reference/brics_motifs.py'), '--data', CHEBI_VALIDATION], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, run.stderr);
  const ref = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as GoldenRecord);
  assert.equal(ref.length, 3301);
  let bonds = 0, motifs = 0;
  const differ: number[] = [];
  for (const r of ref) {
    const g = buildHierGraph(r.smiles, { noBricsFallback: 'none' });
    if (JSON.stringify(bricsBondPairs(g)) === JSON.stringify(r.brics_bonds)) bonds++;
    if (JSON.stringify(canonicalMotifs(motifLists(g))) === JSON.stringify(canonicalMotifs(r.motifs!))) motifs++;
    else differ.push(r.line);
  }
  t.diagnostic(`BRICS bonds identical for ${bonds}/3301, motif sets for ${motifs}/3301 (differ: ${differ.join(', ')})`);
  assert.equal(bonds, 3301);
  assert.ok(motifs >= 3297, `motif agreement ${motifs}`);
});
