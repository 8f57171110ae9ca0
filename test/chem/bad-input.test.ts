// Bad input: every case gives a graph or a SmilesError naming the input; data-set featurization
// reports failures by file:line and keeps going, unless --strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRDKit, SmilesError } from '../../src/chem/rdkit.js';
import { buildHierGraph, motifLists } from '../../src/chem/hiergraph.js';
import { deserializeHierGraph, serializeHierGraph, unpackHierGraphs } from '../../src/chem/serialize.js';
import { FIXTURES, REPO } from './helpers.js';

await initRDKit();

test('unparsable, hypervalent and empty SMILES throw SmilesError naming the input and the reason', () => {
  const cases: [string, RegExp][] = [
    ['C1CC', /unclosed ring/], ['not a smiles', /syntax error/], ['FBr(F)(F)(F)F', /valence .*Br/i],
    ['O=Cl(=O)(=O)F', /valence .*Cl/i], ['', /empty/], ['   ', /empty/], ['c1cccc1', /kekulize/i], ['CC>>CO', /reaction/],
  ];
  for (const [smiles, reason] of cases) {
    assert.throws(() => buildHierGraph(smiles), (err: unknown) => {
      assert.ok(err instanceof SmilesError, `${smiles}: ${String(err)}`);
      assert.equal(err.smiles, smiles);
      assert.match(err.message, reason);
      assert.ok(err.message.includes(`'${smiles}'`));
      return true;
    });
  }
});

test('opt-in hypervalent fallback: graphs for acyclic valence-only failures, errors otherwise', () => {
  const brf5 = buildHierGraph('FBr(F)(F)(F)F', { allowHypervalent: true });
  assert.equal(brf5.sanitized, false);
  assert.deepEqual([brf5.numAtoms, brf5.numBonds], [6, 5]);
  assert.equal(brf5.atomFeatures[1 * 9 + 2], 5); // Br degree 5
  assert.equal(brf5.atomFeatures[1 * 9 + 6], 5); // Br hybridization SP3D2 (5 bonds + 1 lone pair)
  assert.deepEqual(deserializeHierGraph(serializeHierGraph(brf5)), brf5);
  assert.equal(buildHierGraph('O=Cl(=O)(=O)F', { allowHypervalent: true }).numAtoms, 5);
  assert.equal(buildHierGraph('CCO', { allowHypervalent: true }).sanitized, true);
  // rings, aromatic atoms and non-valence errors still fail
  for (const smiles of ['C1CC1[Br](F)F', 'c1ccccc1[Br](F)F', 'C1CC', 'c1cccc1']) {
    assert.throws(() => buildHierGraph(smiles, { allowHypervalent: true }), SmilesError, smiles);
  }
});

test('single atoms, salts and very large molecules give graphs', () => {
  const na = buildHierGraph('[Na+]', { noBricsFallback: 'none' });
  assert.deepEqual([na.numAtoms, na.numBonds, motifLists(na)], [1, 0, [[0]]]);
  const salt = buildHierGraph('CC(=O)[O-].[Na+]', { noBricsFallback: 'none' });
  assert.deepEqual(motifLists(salt), [[0, 1, 2, 3]]); // the free Na+ is in no motif, as in the official code
  const ions = buildHierGraph('[Na+].[Cl-]');
  assert.deepEqual(motifLists(ions), [[0], [1]]); // rings fallback: each free ion its own motif
  const big = buildHierGraph('C'.repeat(250) + 'c1ccccc1' + 'C'.repeat(250), { noBricsFallback: 'none' });
  assert.equal(big.numAtoms, 506);
  assert.equal(big.numMotifs, 3);
  const chain = buildHierGraph('C'.repeat(600));
  assert.equal(chain.numAtoms, 600);
});

const orma = (...args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin/orma.js'), 'featurize', ...args], { encoding: 'utf8' });

test('featurize --data reports bad rows by line and writes the good ones', () => {
  const out = mkdtempSync(join(tmpdir(), 'orma-feat-'));
  try {
    const file = join(FIXTURES, 'bad-rows.tsv');
    const r = orma('--data', file, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /featurized 4 of 10 rows/);
    for (const line of [3, 4, 5, 6, 10, 11]) assert.ok(r.stdout.includes(`bad-rows.tsv:${line}:`), `line ${line} reported:\n${r.stdout}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.molecules, 4);
    assert.equal(summary.failures, 6);
    assert.equal(summary.atoms.max, 506);
    const graphs = unpackHierGraphs(readFileSync(join(out, 'graphs.ormg')));
    assert.deepEqual(graphs.map((g) => g.numAtoms), [13, 1, 5, 506]);
    assert.deepEqual(summary.failed_rows.map((f: { line: number }) => f.line), [3, 4, 5, 6, 10, 11]);
    const index = readFileSync(join(out, 'index.tsv'), 'utf8').trim().split('\n');
    assert.equal(index.length, 1 + 8); // header + rows that reached the featurizer (not the 2 malformed rows)
    assert.ok(index.some((l) => l.startsWith('4\t3\terror')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('featurize --data --allow-hypervalent turns the PCdes-style rows into graphs', () => {
  const out = mkdtempSync(join(tmpdir(), 'orma-feat-'));
  try {
    const r = orma('--data', join(FIXTURES, 'bad-rows.tsv'), '--out', out, '--allow-hypervalent');
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.failed_rows.map((f: { line: number }) => f.line), [3, 6, 10, 11]);
    assert.deepEqual(unpackHierGraphs(readFileSync(join(out, 'graphs.ormg'))).map((g) => g.sanitized), [true, false, false, true, true, true]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('featurize --strict stops at the first bad row with exit code 1', () => {
  const out = mkdtempSync(join(tmpdir(), 'orma-feat-'));
  try {
    const r = orma('--data', join(FIXTURES, 'bad-rows.tsv'), '--out', out, '--strict');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad-rows\.tsv:(3|6|11)/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
