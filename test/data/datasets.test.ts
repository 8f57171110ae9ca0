// Pair-file reading: every bad row is reported with file, line and field; nothing is dropped silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetError, formatProblems, readPairFile } from '../../src/data/datasets.js';

test('rows with problems are reported by line and field, the rest are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-ds-'));
  try {
    const file = join(dir, 'pairs.tsv');
    writeFileSync(file, [
      'CID\tSMILES\tdescription',
      '1\tCCO\tThe molecule is ethanol.',
      '2\t\tThe molecule has no SMILES.',
      '3\tCC\t   ',
      '4\tC\tThe molecule is methane.\textra',
      '5\tCCC',
    ].join('\n'));
    const r = readPairFile(file);
    assert.deepEqual(r.rows, [{ line: 2, id: '1', smiles: 'CCO', description: 'The molecule is ethanol.' }]);
    assert.deepEqual(r.problems.map((p) => [p.line, p.field]), [[3, 'SMILES'], [4, 'description'], [5, 'row'], [6, 'row']]);
    assert.match(r.problems[3]!.message, /expected 3 tab-separated fields, got 2 \(truncated file\?\)/);
    assert.match(formatProblems(r.problems, 2), /pairs\.tsv:3: field 'SMILES': empty SMILES\n.*\n {2}\.\.\. and 2 more/);
    assert.throws(() => readPairFile(file, { strict: true }), (e: unknown) => e instanceof DatasetError && /pairs\.tsv:3: field 'SMILES': empty SMILES/.test(e.message));
    writeFileSync(file, 'CID\tname\n1\tethanol\n');
    assert.throws(() => readPairFile(file), /pairs\.tsv:1: field 'header': no SMILES column/);
    writeFileSync(file, 'index\tCID\tSMILES\n0\t7\tCCO\n');
    assert.deepEqual(readPairFile(file).rows, [{ line: 2, id: '7', smiles: 'CCO' }]);
    assert.throws(() => readPairFile(file, { requireDescription: true }), /no description column/);
    writeFileSync(file, '');
    assert.throws(() => readPairFile(file), /file is empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSV and JSONL pair files read like TSV, with bad rows reported by line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-ds-'));
  try {
    const csv = join(dir, 'pairs.csv');
    writeFileSync(csv, 'cid,smiles,description\n1,CCO,"The molecule is ethanol, an alcohol."\n2,,empty\n3,C,"multi\nline"\n');
    const a = readPairFile(csv);
    assert.deepEqual(a.rows.map((r) => [r.line, r.id, r.smiles, r.description]), [[2, '1', 'CCO', 'The molecule is ethanol, an alcohol.'], [4, '3', 'C', 'multi\nline']]);
    assert.deepEqual(a.problems.map((p) => [p.line, p.field, p.message]), [[3, 'smiles', 'empty SMILES']]);
    const jsonl = join(dir, 'pairs.jsonl');
    writeFileSync(jsonl, '{"SMILES": "CCO", "text": "ethanol", "id": 7}\nnot json\n{"SMILES": "C", "text": "methane"}\n');
    const b = readPairFile(jsonl);
    assert.deepEqual(b.rows.map((r) => [r.line, r.id, r.smiles, r.description]), [[1, '7', 'CCO', 'ethanol'], [3, '1', 'C', 'methane']]);
    assert.equal(b.problems[0]!.line, 2);
    assert.throws(() => readPairFile(jsonl, { strict: true }), /pairs\.jsonl:2: field 'row': not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
