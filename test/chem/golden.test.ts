// Golden tests: the worked examples of orma-reference.md section 3.2, hand-picked molecules, and every
// ChEBI-20 validation molecule, against files written by test/reference/brics_motifs.py (RDKit 2022.09
// FindBRICSBonds + the official ORMA motif rule). Runs without Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initRDKit } from '../../src/chem/rdkit.js';
import { buildHierGraph, bricsBondPairs, motifLists } from '../../src/chem/hiergraph.js';
import { FIXTURES, canonicalMotifs, readJsonl, sortedWithin } from './helpers.js';

await initRDKit();
const official = (smiles: string) => buildHierGraph(smiles, { noBricsFallback: 'none' });

test('worked examples of reference 3.2: aspirin, naphthalene, overlapping fused rings', () => {
  const aspirin = official('CC(=O)Oc1ccccc1C(=O)O');
  assert.deepEqual(bricsBondPairs(aspirin), [[1, 3], [3, 4], [10, 9]]);
  assert.deepEqual(motifLists(aspirin), [[0, 1, 2], [4, 5, 6, 7, 8, 9], [10, 11, 12], [3]]);

  const naphthalene = official('c1ccc2ccccc2c1');
  assert.deepEqual(bricsBondPairs(naphthalene), []);
  assert.deepEqual(motifLists(naphthalene), []);

  const fused = official('OC(=O)CCc1ccc2ccccc2c1');
  assert.deepEqual(bricsBondPairs(fused), [[4, 5]]);
  assert.deepEqual(motifLists(fused), [[0, 1, 2, 3, 4], [5, 6, 7, 8, 13, 14], [8, 9, 10, 11, 12, 13]]);
});

test('hand-picked molecules (stereo, charges, salts, macrocycles, metals) match the RDKit reference', () => {
  const golden = readJsonl(join(FIXTURES, 'handpicked-golden.jsonl'));
  assert.ok(golden.length >= 12);
  for (const r of golden) {
    const g = official(r.smiles);
    assert.equal(g.numAtoms, r.n_atoms, r.smiles);
    assert.deepEqual(bricsBondPairs(g), r.brics_bonds, `BRICS bonds of ${r.smiles}`);
    assert.deepEqual(motifLists(g), sortedWithin(r.motifs!), `motifs of ${r.smiles}`);
  }
});

// Molecules whose symmetrized SSSR differs between RDKit 2022.09 (golden) and MinimalLib 2026.09 in
// bridged/cage ring systems, so the ring split sees different rings (line numbers in validation.tsv).
const KNOWN_RING_PERCEPTION_DIFFERENCES = [1720, 1896, 2562, 3164];

test('every ChEBI-20 validation molecule: BRICS bonds exact, motifs equal as sets', () => {
  const golden = readJsonl(join(FIXTURES, 'brics-golden-chebi20-validation.jsonl.gz'));
  assert.equal(golden.length, 3301);
  let bricsExact = 0, motifSets = 0, motifOrder = 0;
  const motifMismatch: number[] = [];
  for (const r of golden) {
    assert.equal(r.error, undefined, `reference failed on line ${r.line}`);
    const g = official(r.smiles);
    if (JSON.stringify(bricsBondPairs(g)) === JSON.stringify(r.brics_bonds)) bricsExact++;
    const ours = motifLists(g);
    if (JSON.stringify(canonicalMotifs(ours)) === JSON.stringify(canonicalMotifs(r.motifs!))) motifSets++;
    else motifMismatch.push(r.line);
    if (JSON.stringify(ours) === JSON.stringify(sortedWithin(r.motifs!))) motifOrder++;
  }
  assert.equal(bricsExact, 3301, 'BRICS bonds (order and orientation included)');
  assert.deepEqual(motifMismatch, KNOWN_RING_PERCEPTION_DIFFERENCES);
  assert.equal(motifSets, 3297);
  // Motif order differs only where the two RDKit versions list SSSR rings differently (see motifs.ts).
  assert.ok(motifOrder >= 3096, `motif order agreement ${motifOrder}`);
});
