// Evaluation molecules are dropped from training by canonical SMILES, whatever SMILES spelling each file uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moleculeKey, moleculeKeysOf, withoutMolecules } from '../../src/data/leakage.js';
import { readTextRows } from '../../src/data/texts.js';

test('training rows whose molecule is in an evaluation file are dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-leak-'));
  try {
    const evalFile = join(dir, 'test_molecules.tsv');
    writeFileSync(evalFile, 'index\tCID\tSMILES\n1\t702\tOCC\n2\t5\tO=Cl(=O)(=O)F\n');
    const train = join(dir, 'train.tsv');
    writeFileSync(train, 'CID\tSMILES\tdescription\n702\tCCO\tThe molecule is ethanol.\n6\tC1=CC=CC=C1\tThe molecule is benzene.\n7\tO=Cl(=O)(=O)F\tThe molecule is perchloryl fluoride.\n');
    const keys = await moleculeKeysOf([evalFile]);
    assert.equal(moleculeKey('CCO'), moleculeKey('OCC'));
    const { kept, dropped } = withoutMolecules(readTextRows(train), keys);
    assert.deepEqual(kept.map((r) => r.text), ['The molecule is benzene.']);
    // Unparsable (hypervalent) SMILES still match by their raw string.
    assert.deepEqual(dropped.map((r) => r.text), ['The molecule is ethanol.', 'The molecule is perchloryl fluoride.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
