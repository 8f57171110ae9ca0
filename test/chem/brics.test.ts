// The two BRICS environment matchers agree: RDKit MinimalLib running the published SMARTS, and the
// predicates of brics-rules.ts, on every atom of ChEBI-20 validation (and hand-picked cases). The same
// check over validation + test (6,601 molecules, 209,917 atoms) also passes; set ORMA_CHEM_FULL=1 to run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initRDKit, openMol, readMolecule } from '../../src/chem/rdkit.js';
import { buildTopology } from '../../src/chem/topology.js';
import { BRICS_ENVIRONMENTS, BRICS_RULES, bricsEnvironmentAtoms, findBricsBonds } from '../../src/chem/brics.js';
import { CHEBI_TEST, CHEBI_VALIDATION, haveShared, readSmilesColumn } from './helpers.js';

await initRDKit();

const LABELS = [...new Set(Object.keys(BRICS_ENVIRONMENTS).map((l) => BRICS_ENVIRONMENTS[l]!))].map((sma) => Object.keys(BRICS_ENVIRONMENTS).find((l) => BRICS_ENVIRONMENTS[l] === sma)!);

function compare(smilesList: string[]): { atoms: number; differences: string[]; bondSets: number } {
  let atoms = 0, bondSets = 0;
  const differences: string[] = [];
  for (const smiles of smilesList) {
    const mol = openMol(smiles);
    try {
      const p = readMolecule(mol, smiles), t = buildTopology(p);
      atoms += p.numAtoms;
      for (const label of LABELS) {
        const a = bricsEnvironmentAtoms(mol, p, t, label, 'rdkit'), b = bricsEnvironmentAtoms(mol, p, t, label, 'native');
        if (a.join() !== b.join() && differences.length < 10) differences.push(`${label} ${smiles}: rdkit ${[...a.keys()].filter((i) => a[i])} native ${[...b.keys()].filter((i) => b[i])}`);
      }
      if (JSON.stringify(findBricsBonds(mol, p, t, 'rdkit')) === JSON.stringify(findBricsBonds(mol, p, t, 'native'))) bondSets++;
    } finally {
      mol.delete();
    }
  }
  return { atoms, differences, bondSets };
}

test('rule table and environments as published (RDKit variant of Degen et al. 2008)', () => {
  assert.equal(BRICS_RULES.length, 46);
  assert.equal(LABELS.length, 15);
  assert.deepEqual(BRICS_RULES[0], { env1: 'L1', env2: 'L3', bond: '-' });
  assert.deepEqual(BRICS_RULES.filter((r) => r.bond === '='), [{ env1: 'L7a', env2: 'L7b', bond: '=' }]);
});

test('native predicates equal the SMARTS on tricky cases', () => {
  const cases = ['CCCOCC', 'CCCOCCC(=O)c1ccccc1', 'CC=CC', 'O=C1NCCC1', 'CC1(C)CCCCC1', 'O=C1CCCN1C', 'CS(=O)(=O)Nc1ccccc1',
    'c1ccc2[nH]ccc2c1', 'c1ccoc1C', 'CSC', 'C1CCOC1C', 'NC(=O)C', '[2H]OC', '*OC', 'CN(C)N', 'C[N+](C)(C)C', 'O=C1N(C)C(=O)c2ccccc21',
    'C#CC', 'C=C(C)C(C)=O', 'c1cc[n+](C)cc1', 'CON', 'CSc1ncccc1', 'C1CC2CC1C2N'];
  const r = compare(cases);
  assert.deepEqual(r.differences, []);
  assert.equal(r.bondSets, cases.length);
});

test('native predicates equal the SMARTS on every atom of ChEBI-20 validation', (t) => {
  if (!haveShared()) return t.skip('shared data not found');
  const files = process.env.ORMA_CHEM_FULL ? [CHEBI_VALIDATION, CHEBI_TEST] : [CHEBI_VALIDATION];
  const smiles = files.flatMap((f) => readSmilesColumn(f)).map((r) => r.smiles);
  const r = compare(smiles);
  t.diagnostic(`${smiles.length} molecules, ${r.atoms} atoms x ${LABELS.length} environments; BRICS bonds identical for ${r.bondSets}`);
  assert.deepEqual(r.differences, []);
  assert.equal(r.bondSets, smiles.length);
});
