// Per-atom Morgan identifiers (src/chem/morgan.ts) against Python RDKit 2022.09's
// GetMorganFingerprint(mol, 1, bitInfo) (test/reference/morgan_golden.py): 300 diverse ChEBI-20
// validation molecules (--select 300: charged, aromatic heteroatoms, isotopes, H-bearing N, metals,
// salts, bond-less atoms, then every 11th) and hand-picked edge cases (morgan-handpicked.tsv: radius-1
// duplicates, hydrogens kept as atoms, known and unknown isotopes, dative and quadruple bonds). All of
// validation (3,301 molecules, 106,335 atoms) agrees too: node scripts/morgan-check.mjs on a golden of
// the whole file; set ORMA_CHEM_FULL=1 to run that check here (needs /usr/bin/python3 with RDKit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { initRDKit, parseMolecule } from '../../src/chem/rdkit.js';
import { buildTopology } from '../../src/chem/topology.js';
import { hashCombine, morganIdentifiers } from '../../src/chem/morgan.js';
import { deltaMass } from '../../src/chem/isotopes.js';
import { buildHierGraph } from '../../src/chem/hiergraph.js';
import { GRAPH_FORMAT, GraphFormatError, deserializeHierGraph, serializeHierGraph } from '../../src/chem/serialize.js';
import { CHEBI_VALIDATION, FIXTURES, PYTHON, REPO, haveShared, havePythonRDKit } from './helpers.js';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

await initRDKit();

interface MorganGolden { line: number; smiles: string; r0?: number[]; r1?: (number | null)[]; error?: string }

function readGolden(path: string): MorganGolden[] {
  let raw = readFileSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  return raw.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as MorganGolden);
}

/** Atoms that differ from the golden, as readable lines (empty: all agree). */
function differences(golden: MorganGolden[]): { atoms: number; diffs: string[] } {
  let atoms = 0;
  const diffs: string[] = [];
  for (const g of golden) {
    assert.equal(g.error, undefined, `reference failed on ${g.smiles}`);
    const p = parseMolecule(g.smiles);
    assert.equal(p.numAtoms, g.r0!.length, `atom count of ${g.smiles}`);
    const m = morganIdentifiers(p, buildTopology(p));
    for (let i = 0; i < p.numAtoms; i++, atoms++) {
      const r1 = m.radius1Reported[i] ? m.radius1[i] : null;
      if (m.radius0[i] !== g.r0![i] || r1 !== g.r1![i]) diffs.push(`line ${g.line} ${g.smiles} atom ${i}: ours ${m.radius0[i]}/${r1}, RDKit ${g.r0![i]}/${g.r1![i]}`);
    }
  }
  return { atoms, diffs };
}

test('hash_combine is RDKit\'s 32-bit boost::hash_combine', () => {
  assert.equal(hashCombine(0, 0), 0x9e3779b9);
  assert.equal(hashCombine(1, 2), (1 ^ (2 + 0x9e3779b9 + 64 + 0)) >>> 0);
  assert.equal(hashCombine(0xffffffff, 0xffffffff) >>> 0, hashCombine(0xffffffff, 0xffffffff));
});

test('deltaMass follows RDKit\'s masses: exact masses of known isotopes, the number of unknown ones', () => {
  assert.equal(deltaMass(6, 0), 0);
  assert.equal(deltaMass(1, 2), 1);    // 2.0141 - 1.008
  assert.equal(deltaMass(6, 13), 0);   // 13.0034 - 12.011
  assert.equal(deltaMass(6, 14), 1);
  assert.equal(deltaMass(92, 235), -2); // 235.0439 - 238.029, truncated toward zero
  assert.equal(deltaMass(6, 7), -5);   // unknown isotope: mass 7
  assert.equal(deltaMass(0, 1), 0);    // dummy atoms weigh 0
});

test('300 diverse ChEBI-20 validation molecules: every radius-0 and radius-1 identifier equals RDKit\'s', () => {
  const golden = readGolden(join(FIXTURES, 'morgan-golden-chebi20-validation.jsonl.gz'));
  assert.equal(golden.length, 300);
  const { atoms, diffs } = differences(golden);
  assert.ok(atoms > 9000, `only ${atoms} atoms`);
  assert.deepEqual(diffs.slice(0, 10), []);
});

test('hand-picked edge cases (duplicates, hydrogen atoms, isotopes, dative and quadruple bonds) equal RDKit\'s', () => {
  const golden = readGolden(join(FIXTURES, 'morgan-handpicked-golden.jsonl'));
  assert.ok(golden.length >= 35);
  assert.deepEqual(differences(golden).diffs, []);
});

test('radius 1 falls back to radius 0 where RDKit reports none; graphs carry both tokens', () => {
  // O=O: one environment for both atoms, reported once (lower index on a tie)
  const o2 = parseMolecule('O=O'), m = morganIdentifiers(o2, buildTopology(o2));
  assert.deepEqual(Array.from(m.radius1Reported), [1, 0]);
  assert.equal(m.radius1[1], m.radius0[1]);
  assert.notEqual(m.radius1[0], m.radius0[0]);
  // a free ion has no radius-1 environment
  const salt = buildHierGraph('CC(=O)[O-].[Na+]');
  const na = parseMolecule('CC(=O)[O-].[Na+]'), ids = morganIdentifiers(na, buildTopology(na));
  assert.equal(ids.radius1Reported[4], 0);
  assert.deepEqual(Array.from(salt.morgan), Array.from(ids.radius0).flatMap((r0, i) => [r0, ids.radius1[i]!]));
});

test('graph records keep the tokens (format 2); format-1 records, made before them, are refused', () => {
  const g = buildHierGraph('CC(=O)[O-].[Na+]');
  const bytes = serializeHierGraph(g);
  assert.equal(GRAPH_FORMAT, 2);
  assert.deepEqual(deserializeHierGraph(bytes).morgan, g.morgan);
  const old = Uint8Array.from(bytes);
  new DataView(old.buffer).setUint16(4, 1, true);
  assert.throws(() => deserializeHierGraph(old), (e: Error) => e instanceof GraphFormatError && /format 1 has no Morgan identifiers/.test(e.message));
});

test('every ChEBI-20 validation molecule (ORMA_CHEM_FULL=1, Python RDKit)', { skip: !process.env.ORMA_CHEM_FULL || !haveShared() || !havePythonRDKit() }, () => {
  const out = spawnSync(PYTHON, [join(REPO, 'test', 'reference', 'morgan_golden.py'), '--data', CHEBI_VALIDATION], { maxBuffer: 1 << 28, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const golden = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as MorganGolden);
  assert.equal(golden.length, 3301);
  const { atoms, diffs } = differences(golden);
  assert.equal(atoms, 106335);
  assert.deepEqual(diffs.slice(0, 10), []);
});
