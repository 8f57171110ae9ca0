// Shared helpers: atomic writes, gzip-aware reads, progress formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTextFile, writeFileAtomic } from '../../src/util/fs.js';
import { Progress, formatDuration } from '../../src/util/progress.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'orma-util-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('writeFileAtomic replaces the file whole and leaves no temp file', () => withDir((dir) => {
  const path = join(dir, 'a.txt');
  writeFileAtomic(path, 'first');
  writeFileAtomic(path, [Buffer.from('second '), new Uint8Array([0x21])]);
  assert.equal(readFileSync(path, 'utf8'), 'second !');
  assert.deepEqual(readdirSync(dir), ['a.txt']);
  assert.throws(() => writeFileAtomic(join(dir, 'missing', 'b.txt'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(dir), ['a.txt']);
}));

test('readTextFile reads plain and gzip files, and names a corrupt or missing one', () => withDir((dir) => {
  writeFileSync(join(dir, 'p.tsv'), 'a\tb\n');
  writeFileSync(join(dir, 'z.tsv.gz'), gzipSync('a\tb\n'));
  writeFileSync(join(dir, 'bad.tsv.gz'), gzipSync('a\tb\n'.repeat(100)).subarray(0, 20));
  assert.equal(readTextFile(join(dir, 'p.tsv')), 'a\tb\n');
  assert.equal(readTextFile(join(dir, 'z.tsv.gz')), 'a\tb\n');
  assert.throws(() => readTextFile(join(dir, 'bad.tsv.gz')), /bad\.tsv\.gz: not a valid gzip file \(truncated or corrupt\?\)/);
  assert.throws(() => readTextFile(join(dir, 'none.tsv')), /cannot read .*none\.tsv/);
}));

test('durations and progress lines', () => {
  assert.equal(formatDuration(5.4), '5s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(3 * 3600 + 61), '3h01m');
  assert.equal(formatDuration(Infinity), '?');
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WriteStream;
  const p = new Progress({ label: 'work', total: 4, unit: 'items', stream });
  p.tick(4, 'loss 1.0');
  p.finish();
  assert.equal(lines.length, 1, 'the final line is printed once');
  assert.match(lines[0]!, /^work 4\/4 \(100\.0%\) [\d.]+ items\/s elapsed \d+s ETA 0s loss 1\.0\n$/);
  // a time budget: the percentage and the ETA follow the clock, not the nominal item count
  const budgeted: string[] = [];
  const q = new Progress({ label: 'train', total: 1e12, unit: 'steps', stream: { isTTY: false, write: (s: string) => { budgeted.push(s); return true; } } as unknown as NodeJS.WriteStream,
    timeBudget: { seconds: 600, used: () => 150 } });
  q.tick(1);
  q.finish();
  assert.match(budgeted[0]!, /^train 1 steps \(25\.0% of 10m00s\) [\d.]+ steps\/s elapsed \d+s ETA 7m30s\n$/);
});
