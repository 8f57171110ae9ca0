// The training set's leakage accounting: benchmark files and a source's own eval_overlap flags both
// remove pairs, every removal is counted, and a flagged molecule leaves every source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPairFile } from '../../src/data/datasets.js';
import { loadTrainingSet } from '../../src/data/training-set.js';

test("rows a source flags in its eval_overlap column are excluded from every source, and counted", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-trainset-'));
  try {
    const main = join(dir, 'train.tsv');
    writeFileSync(main, 'CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol.\n2\tc1ccccc1\tThe molecule is benzene.\n3\tCC(=O)O\tThe molecule is acetic acid.\n');
    const extra = join(dir, 'extra.tsv');
    // Benzene is flagged (as if its CID were an evaluation molecule's); propanol is not.
    writeFileSync(extra, 'CID\tSMILES\tdescription\tsource\teval_overlap\n2\tC1=CC=CC=C1\tBenzene, a natural product.\tx\tchebi20_test;pcdes_test\n4\tCCCO\tThe molecule is propanol.\tx\t\n');
    const heldOut = join(dir, 'held_out.tsv');
    writeFileSync(heldOut, 'CID\tSMILES\n3\tOC(C)=O\n');
    assert.equal(readPairFile(extra).rows[0]!.evalOverlap, 'chebi20_test;pcdes_test');
    assert.equal(readPairFile(extra).rows[1]!.evalOverlap, undefined);
    const set = await loadTrainingSet({ sources: [main, extra], exclude: [heldOut], benchmarks: [], featurizer: {}, cacheDir: join(dir, 'cache') });
    assert.deepEqual(set.pairs.map((p) => p.text).sort(), ['The molecule is ethanol.', 'The molecule is propanol.']);
    assert.deepEqual(set.exclusions.map((e) => [e.exclusion, e.molecules, e.droppedPairs]), [
      [heldOut, 1, 1],
      ["rows flagged in the sources' eval_overlap column", 1, 2],
    ]);
    assert.deepEqual(set.sources.map((s) => [s.rows, s.kept, s.excluded]), [[3, 1, 2], [2, 1, 1]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
