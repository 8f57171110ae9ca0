// Length-bucketed batching and dynamic-padding collation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lengthBucketedBatches, paddingFraction, sequentialBatches } from '../../src/data/batching.js';
import { padSequences } from '../../src/text/padding.js';

function randomLengths(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2147483648; return 10 + (s % 240); });
}

test('every example exactly once per epoch, batches of the requested size', () => {
  const lengths = randomLengths(1003, 7);
  const batches = lengthBucketedBatches(lengths, { batchSize: 32, seed: 1 });
  const seen = batches.flat().sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: 1003 }, (_, i) => i));
  assert.ok(batches.every((b) => b.length <= 32 && b.length > 0));
  assert.equal(batches.filter((b) => b.length < 32).length, 1); // 1003 = 1 bucket of 1003: one short batch
  const dropped = lengthBucketedBatches(lengths, { batchSize: 32, seed: 1, dropLast: true });
  assert.ok(dropped.every((b) => b.length === 32));
});

test('deterministic for a seed and epoch; other seeds and epochs give other batches', () => {
  const lengths = randomLengths(500, 3);
  const a = lengthBucketedBatches(lengths, { batchSize: 16, seed: 42, epoch: 3 });
  assert.deepEqual(lengthBucketedBatches(lengths, { batchSize: 16, seed: 42, epoch: 3 }), a);
  assert.notDeepEqual(lengthBucketedBatches(lengths, { batchSize: 16, seed: 43, epoch: 3 }), a);
  assert.notDeepEqual(lengthBucketedBatches(lengths, { batchSize: 16, seed: 42, epoch: 4 }), a);
});

test('bucketing cuts padding below 10% where plain batching wastes about half', () => {
  const lengths = randomLengths(5000, 11);
  const plain = paddingFraction(sequentialBatches(lengths.length, 32), lengths);
  const bucketed = paddingFraction(lengthBucketedBatches(lengths, { batchSize: 32, seed: 5 }), lengths);
  assert.ok(plain > 0.3, `plain ${plain}`);
  assert.ok(bucketed < 0.1, `bucketed ${bucketed}`);
  // Not one sorted list: batches still come in random order of length.
  const means = lengthBucketedBatches(lengths, { batchSize: 32, seed: 5 }).map((b) => b.reduce((s, i) => s + lengths[i]!, 0) / b.length);
  assert.ok(means.some((m, i) => i > 0 && m < means[i - 1]!) && means.some((m, i) => i > 0 && m > means[i - 1]!));
});

test('paddingFraction counts pad slots over all slots', () => {
  assert.equal(paddingFraction([[0, 1]], [2, 4]), 2 / 8);
  assert.equal(paddingFraction([[0], [1]], [2, 4]), 0);
  assert.equal(paddingFraction([], []), 0);
});

test('padSequences pads to the longest sequence of the batch', () => {
  const b = padSequences([[5, 6, 7], [8]], 0);
  assert.equal(b.seqLength, 3);
  assert.deepEqual(Array.from(b.inputIds), [5, 6, 7, 8, 0, 0]);
  assert.deepEqual(Array.from(b.attentionMask), [1, 1, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(b.typeIds), [0, 0, 0, 0, 0, 0]);
  assert.throws(() => lengthBucketedBatches([1, 2], { batchSize: 0, seed: 1 }), /batchSize/);
});
