// The training set's leakage accounting: benchmark files and a source's own eval_overlap flags both
// remove pairs, every removal is counted, and a flagged molecule leaves every source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPairFile } from '../../src/data/datasets.js';
import { flagsExcluded, loadTrainingSet } from '../../src/data/training-set.js';

test("rows a source flags in its eval_overlap column are excluded from every source, and counted", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-trainset-'));
  try {
    const main = join(dir, 'train.tsv');
    // Ethanol is a ChEBI-20 test molecule (the benchmark exclusion), acetic acid a held-out file's.
    writeFileSync(main, 'CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol.\n8\tCCCCCCCO\tThe molecule is heptanol.\n2\tc1ccccc1\tThe molecule is benzene.\n3\tCC(=O)O\tThe molecule is acetic acid.\n');
    const extra = join(dir, 'extra.tsv');
    // Benzene is flagged with a benchmark (as if its CID were a test molecule's); propanol not at all;
    // methanol with validation molecules outside the selection slice, which this run trains on.
    writeFileSync(extra, 'CID\tSMILES\tdescription\tsource\teval_overlap\n2\tC1=CC=CC=C1\tBenzene, a natural product.\tx\tchebi20_test;pcdes_test\n' +
      '4\tCCCO\tThe molecule is propanol.\tx\t\n5\tCO\tThe molecule is methanol.\tx\tchebi20_validation_other\n');
    const heldOut = join(dir, 'held_out.tsv');
    writeFileSync(heldOut, 'CID\tSMILES\n3\tOC(C)=O\n');
    assert.equal(readPairFile(extra).rows[0]!.evalOverlap, 'chebi20_test;pcdes_test');
    assert.equal(readPairFile(extra).rows[1]!.evalOverlap, undefined);
    const o = { sources: [main, extra], exclude: [heldOut], featurizer: {}, cacheDir: join(dir, 'cache') };
    const set = await loadTrainingSet({ ...o, benchmarks: ['chebi20_test'] });
    assert.deepEqual(set.pairs.map((p) => p.text).sort(), ['The molecule is heptanol.', 'The molecule is methanol.', 'The molecule is propanol.']);
    const testMolecules = set.exclusions[0]!.molecules;
    assert.ok(testMolecules > 3000, `ChEBI-20 test molecules: ${testMolecules}`);
    assert.deepEqual(set.exclusions.map((e) => [e.exclusion, e.molecules, e.droppedPairs]), [
      ['benchmarks: chebi20_test', testMolecules, 1],
      [heldOut, 1, 1],
      ["rows their source flags (eval_overlap) with chebi20_test", 1, 2],
    ]);
    assert.deepEqual(set.sources.map((s) => [s.rows, s.kept, s.excluded]), [[4, 1, 3], [3, 2, 1]]);
    // excluding all of ChEBI-20 validation also drops the validation-other flag
    const strict = await loadTrainingSet({ ...o, benchmarks: ['chebi20_test', 'chebi20_validation'] });
    assert.deepEqual(strict.pairs.map((p) => p.text).sort(), ['The molecule is heptanol.', 'The molecule is propanol.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eval_overlap flags: known sets by the run\'s benchmarks, unknown names always excluded', () => {
  assert.equal(flagsExcluded('pcdes_test', ['chebi20_test']), false);
  assert.equal(flagsExcluded('pcdes_test; chebi20_test', ['chebi20_test']), true);
  assert.equal(flagsExcluded('chebi20_validation_other', ['chebi20_selection']), false);
  assert.equal(flagsExcluded('chebi20_validation_other', ['chebi20_validation']), true);
  assert.equal(flagsExcluded('some_new_benchmark', []), true);
  assert.equal(flagsExcluded(' ; ', ['chebi20_test']), false);
});
