// `orma data check`: per-file reports for TSV, CSV and JSONL (gzip or not), by line, that never
// crash on bad rows; the shipped evaluation molecules; the CLI's table and --json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { checkFile, detectFormat, findColumn, ID_COLUMNS, reportOk, SMILES_COLUMNS, TEXT_COLUMNS, type CheckReport } from '../../src/data/check.js';
import { EVAL_SETS, evalMoleculeKeys, loadEvalMolecules } from '../../src/data/eval-molecules.js';
import { readPairFile } from '../../src/data/datasets.js';
import { initRDKit } from '../../src/chem/rdkit.js';
import { moleculeKey } from '../../src/data/leakage.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'data', 'check');
const BIN = join(PACKAGE_ROOT, 'bin', 'orma.js');
const QUIET = { progress: null } as const;

test('the shipped evaluation molecules: every set, keyed like moleculeKey', async () => {
  await initRDKit();
  const map = loadEvalMolecules();
  const rows = new Map<string, number>();
  for (const list of map.values()) for (const m of list) rows.set(m.set, (rows.get(m.set) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(rows), { chebi20_test: 3300, chebi20_validation: 3301, chebi20_selection: 500, pcdes_validation: 1500, pcdes_test: 3000 });
  // The first ChEBI-20 test row, as MolT5 writes it (doubled backslash).
  const steroid = moleculeKey('C[C@]12CCC(=O)C=C1CC[C@@H]3[C@@H]2C(=O)C[C@]\\\\4([C@H]3CC/C4=C/C(=O)OC)C');
  assert.deepEqual(map.get(steroid), [{ set: 'chebi20_test', cid: '5354212' }]);
  // PCdes test's hypervalent SMILES RDKit rejects is kept verbatim.
  assert.ok(map.get('O=Cl(=O)(=O)F')?.some((m) => m.set === 'pcdes_test'));
  assert.ok(evalMoleculeKeys(['chebi20_selection']).size <= 500);
  assert.equal(evalMoleculeKeys().size, map.size);
  assert.deepEqual([...EVAL_SETS], ['chebi20_test', 'chebi20_validation', 'chebi20_selection', 'pcdes_validation', 'pcdes_test']);
});

test('a TSV with every kind of problem is reported by line and field, without crashing', async () => {
  const r = await checkFile(join(FIXTURES, 'pairs.tsv'), QUIET);
  assert.equal(r.error, undefined);
  assert.equal(r.format, 'tsv');
  assert.equal(r.rows, 8);
  assert.deepEqual(r.columns, ['CID', 'SMILES', 'description']);
  assert.deepEqual(r.detected, { smiles: 'SMILES', description: 'description', id: 'CID' });
  assert.deepEqual(r.emptyFields, { CID: 0, SMILES: 1, description: 1 });
  assert.deepEqual(r.problems.map((p) => [p.line, p.field, p.message]), [
    [4, 'SMILES', 'empty SMILES'],
    [7, 'description', 'empty description'],
    [8, 'row', 'expected 3 tab-separated fields, got 4'],
  ]);
  assert.deepEqual(r.unparsable.map((u) => [u.line, u.smiles]), [[5, 'O=Cl=O'], [6, 'C1CC']]);
  assert.match(r.unparsable[0]!.reason, /valence for atom # 1 Cl/);
  assert.match(r.unparsable[1]!.reason, /unclosed ring/i);
  assert.deepEqual(r.duplicates, { molecules: 1, extraRows: 1, list: [{ molecule: 'CCO', lines: [2, 3], ids: ['1', '2'] }] });
  // Ethanol is in ChEBI-20 test and PCdes validation; the steroid (line 9) is the first ChEBI-20 test row.
  assert.equal(r.sharedWithEval.molecules, 2);
  assert.equal(r.sharedWithEval.rows, 3);
  assert.deepEqual(r.sharedWithEval.list.map((s) => [s.line, s.id, s.sets]), [
    [2, '1', ['chebi20_test', 'pcdes_validation']],
    [3, '2', ['chebi20_test', 'pcdes_validation']],
    [9, '5354212', ['chebi20_test']],
  ]);
  assert.deepEqual(r.sharedWithEval.bySet.chebi20_test, { molecules: 2, rows: 3 });
  assert.deepEqual(r.sharedWithEval.bySet.pcdes_test, { molecules: 0, rows: 0 });
  assert.equal(reportOk(r), false);
});

test('column detection agrees with the training reader (readPairFile)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-check-'));
  try {
    const headers = [['index', 'CID', 'SMILES', 'description'], ['id', 'smiles', 'text'], ['ID', 'CanonicalSMILES', 'Description', 'smiles'], ['SMILES']];
    for (const h of headers) {
      const file = join(dir, 'x.tsv');
      writeFileSync(file, `${h.join('\t')}\n${h.map((c, k) => (/smiles/i.test(c) ? 'C'.repeat(k + 1) : `${c}-v`)).join('\t')}\n`);
      const read = readPairFile(file).rows[0]!;
      const r = await checkFile(file, QUIET);
      const d = r.detected;
      assert.equal(read.smiles, 'C'.repeat(h.indexOf(d.smiles!) + 1), h.join(','));
      assert.equal(read.description, d.description ? `${d.description}-v` : undefined);
      assert.equal(read.id, d.id ? `${d.id}-v` : '0');
      assert.equal(findColumn(h, SMILES_COLUMNS), h.indexOf(d.smiles!));
      assert.equal(findColumn(h, TEXT_COLUMNS) >= 0, d.description !== null);
      assert.equal(findColumn(h, ID_COLUMNS) >= 0, d.id !== null);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSV: quoted commas, quotes and newlines; a record is reported at the line it starts', async () => {
  const r = await checkFile(join(FIXTURES, 'pairs.csv'), QUIET);
  assert.equal(r.format, 'csv');
  assert.deepEqual(r.detected, { smiles: 'smiles', description: 'text', id: 'cid' });
  assert.equal(r.rows, 4);
  assert.deepEqual(r.problems.map((p) => [p.line, p.message]), [[6, 'expected 3 comma-separated fields, got 2']]);
  assert.deepEqual(r.unparsable, []);
  assert.deepEqual(r.duplicates.molecules, 0);
  const dir = mkdtempSync(join(tmpdir(), 'orma-check-'));
  try {
    const file = join(dir, 'open.csv');
    writeFileSync(file, 'smiles,description\nCCO,"never closed\n');
    const open = await checkFile(file, QUIET);
    assert.deepEqual(open.problems.map((p) => [p.line, p.message]), [[2, 'malformed CSV: unterminated quoted field (the file ends inside it)']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gzipped JSONL: bad JSON and non-objects are rows with problems; missing keys are empty fields', async () => {
  const r = await checkFile(join(FIXTURES, 'pairs.jsonl.gz'), QUIET);
  assert.equal(r.format, 'jsonl');
  assert.equal(r.gzip, true);
  assert.deepEqual(r.columns, ['id', 'smiles', 'description', 'extra']);
  assert.equal(r.rows, 5);
  assert.deepEqual(r.emptyFields, { id: 0, smiles: 0, description: 1, extra: 2 });
  assert.deepEqual(r.problems.map((p) => [p.line, p.field]), [[2, 'row'], [4, 'description'], [5, 'row']]);
  assert.match(r.problems[0]!.message, /^not valid JSON/);
  assert.equal(r.problems[2]!.message, 'not a JSON object');
});

test('files that cannot be read get an error, not an exception', async () => {
  const missing = await checkFile(join(FIXTURES, 'no-such-file.tsv'), QUIET);
  assert.match(missing.error ?? '', /cannot read .*no-such-file\.tsv/);
  const dir = mkdtempSync(join(tmpdir(), 'orma-check-'));
  try {
    const file = join(dir, 'names.tsv');
    writeFileSync(file, 'CID\tname\n1\tethanol\n');
    const r = await checkFile(file, QUIET);
    assert.match(r.error ?? '', /names\.tsv:1: no SMILES column \(expected one of SMILES, smiles, CanonicalSMILES; got CID, name\)/);
    writeFileSync(join(dir, 'empty.tsv'), '');
    assert.match((await checkFile(join(dir, 'empty.tsv'), QUIET)).error ?? '', /file is empty/);
    writeFileSync(join(dir, 'bad.tsv.gz'), 'not gzip');
    assert.match((await checkFile(join(dir, 'bad.tsv.gz'), QUIET)).error ?? '', /not a valid gzip file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('format detection by extension, then by content', () => {
  assert.equal(detectFormat('a.tsv.gz', 'x,y'), 'tsv');
  assert.equal(detectFormat('a.csv', 'x\ty'), 'csv');
  assert.equal(detectFormat('a.ndjson', ''), 'jsonl');
  assert.equal(detectFormat('a.txt', '{"smiles": "C"}'), 'jsonl');
  assert.equal(detectFormat('a.txt', 'SMILES,description'), 'csv');
  assert.equal(detectFormat('a.txt', 'CID\tSMILES'), 'tsv');
});

function ormaAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('CLI: a table by default, one JSON object with --json; exit 1 when a file has unusable rows', async () => {
  const table = await ormaAsync(['data', 'check', join(FIXTURES, 'pairs.tsv'), join(FIXTURES, 'molecules.tsv')]);
  assert.equal(table.code, 1, table.stderr);
  assert.match(table.stdout, /^file +format +rows +problems +unparsable +duplicate molecules +shared with eval\n/);
  assert.match(table.stdout, /pairs\.tsv:5: field 'SMILES': O=Cl=O: Explicit valence for atom # 1 Cl/);
  assert.match(table.stdout, /pairs\.tsv:8: field 'row': expected 3 tab-separated fields, got 4/);
  assert.match(table.stdout, /duplicate molecules: 1 molecules on more than one row \(1 extra rows\):\n {4}lines 2, 3: CCO/);
  assert.match(table.stdout, /molecules\.tsv\n.*\n {2}detected: SMILES = SMILES, description = \(none: a molecule list\), id = CID/);
  assert.match(table.stdout, /molecules\.tsv:3: id 5419: chebi20_validation, pcdes_validation/);

  const json = await ormaAsync(['data', 'check', '--json', join(FIXTURES, 'molecules.tsv')]);
  assert.equal(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const doc = JSON.parse(lines[0]!) as { ok: boolean; files: CheckReport[] };
  assert.equal(doc.ok, true);
  assert.equal(doc.files[0]!.rows, 2);
  assert.equal(doc.files[0]!.sharedWithEval.bySet.pcdes_validation.molecules, 2);

  const none = await ormaAsync(['data', 'check']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name at least one file/);
  const missing = await ormaAsync(['data', 'check', '--json', join(FIXTURES, 'nope.tsv')]);
  assert.equal(missing.code, 1);
  assert.match((JSON.parse(missing.stdout) as { files: CheckReport[] }).files[0]!.error ?? '', /cannot read/);
});
