// Atom and bond features against RDKit: python3-rdkit values committed for hand-picked molecules,
// and RDKit MinimalLib's own hybridization (SMARTS ^n) on ChEBI-20 validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initRDKit, rdkit } from '../../src/chem/rdkit.js';
import { buildHierGraph } from '../../src/chem/hiergraph.js';
import { ATOM_VOCABULARIES, BOND_VOCABULARIES, atomFeatureDims, bondFeatureDims, ATOM_FEATURE_COUNT } from '../../src/chem/features.js';
import { DEFAULT_VALENCE, OUTER_ELECTRONS } from '../../src/chem/periodic.js';
import { graphJson } from '../../src/cli/commands/featurize.js';
import { CHEBI_VALIDATION, FIXTURES, haveShared, readJsonl, readSmilesColumn } from './helpers.js';

await initRDKit();

test('vocabularies: names, sizes and an other bucket where values can fall outside', () => {
  assert.deepEqual(ATOM_VOCABULARIES.map((v) => v.name), ['atomic_num', 'chirality', 'degree', 'formal_charge', 'total_hs', 'radical_electrons', 'hybridization', 'aromatic', 'in_ring']);
  assert.deepEqual(BOND_VOCABULARIES.map((v) => v.name), ['bond_type', 'stereo', 'conjugated', 'in_ring']);
  assert.deepEqual(atomFeatureDims(), [119, 4, 12, 12, 10, 6, 7, 2, 2]);
  assert.deepEqual(bondFeatureDims(), [5, 7, 2, 2]);
  assert.equal(DEFAULT_VALENCE.length, 119);
  assert.equal(OUTER_ELECTRONS.length, 119);
  // a dummy atom and a +7 charge land in the other buckets
  const g = buildHierGraph('*C');
  assert.equal(g.atomFeatures[0], 118);
  const rows = buildHierGraph('[Cl+7]').atomFeatures; // unusual charge, still a graph
  assert.equal(rows[3], 11);
});

const CHIRAL: Record<string, string> = { CHI_UNSPECIFIED: 'CHI_UNSPECIFIED', CHI_TETRAHEDRAL_CW: 'CHI_TETRAHEDRAL_CW', CHI_TETRAHEDRAL_CCW: 'CHI_TETRAHEDRAL_CCW' };

test('hand-picked molecules: every atom and bond feature equals python RDKit', () => {
  for (const r of readJsonl(join(FIXTURES, 'handpicked-golden.jsonl'))) {
    const g = graphJson(buildHierGraph(r.smiles)) as { atoms: Record<string, unknown>[]; bonds: Record<string, unknown>[] };
    r.atoms!.forEach((a, i) => {
      const o = g.atoms[i]!;
      const got = [o.atomic_num, o.chirality, o.degree, o.formal_charge, o.total_hs, o.radical_electrons, o.hybridization, o.aromatic, o.in_ring];
      const want = [a.z, CHIRAL[a.chiral as string] ?? 'other', a.degree, a.charge, a.hs, a.radicals, a.hyb === 'OTHER' ? 'other' : a.hyb, a.aromatic, a.ring];
      assert.deepEqual(got, want, `${r.smiles} atom ${i}`);
    });
    r.bonds!.forEach((b, i) => {
      const o = g.bonds[i]!;
      const type = ['SINGLE', 'DOUBLE', 'TRIPLE', 'AROMATIC'].includes(b.type as string) ? b.type : 'other';
      assert.deepEqual([o.atoms, o.bond_type, o.stereo, o.conjugated, o.in_ring], [b.atoms, type, b.stereo, b.conjugated, b.ring], `${r.smiles} bond ${i}`);
    });
  }
});

test('derived hybridization equals MinimalLib\'s own (SMARTS ^0..^5) on ChEBI-20 validation', (t) => {
  if (!haveShared()) return t.skip('shared data not found');
  const R = rdkit();
  // our vocabulary index -> SMARTS hybridization primitive (S=^0? no: RDKit SMARTS ^0=S, ^1=SP, ^2=SP2, ^3=SP3, ^4=SP3D, ^5=SP3D2)
  const queries = [0, 1, 2, 3, 4, 5].map((h) => R.get_qmol(`[^${h}]`)!);
  let atoms = 0, agree = 0;
  const bad: string[] = [];
  for (const { line, smiles } of readSmilesColumn(CHEBI_VALIDATION)) {
    const g = buildHierGraph(smiles);
    const mol = R.get_mol(smiles, '{}')!;
    try {
      const truth = new Array<number>(g.numAtoms).fill(6); // 6 = other (unspecified)
      queries.forEach((q, h) => { for (const m of mol.get_substruct_matches(q).matchAll(/"atoms":\[(\d+)\]/g)) truth[Number(m[1])] = h; });
      for (let i = 0; i < g.numAtoms; i++) {
        atoms++;
        if (g.atomFeatures[i * ATOM_FEATURE_COUNT + 6] === truth[i]) agree++;
        else if (bad.length < 5) bad.push(`line ${line} atom ${i}: ours ${g.atomFeatures[i * ATOM_FEATURE_COUNT + 6]} rdkit ${truth[i]}`);
      }
    } finally {
      mol.delete();
    }
  }
  queries.forEach((q) => q.delete());
  t.diagnostic(`hybridization agrees on ${agree}/${atoms} atoms`);
  assert.equal(agree, atoms, bad.join('\n'));
});
