// Batching for training and evaluation: a length-bucketed batch sampler (few padding tokens, still random).
// Collation with dynamic padding is text/padding.ts's padSequences; MLM masking is data/mlm-collator.ts.
import { mixSeed, mulberry32, shuffle } from '../util/random.js';

export interface BucketedBatchOptions {
  batchSize: number;
  /** Seed of the shuffles; the same seed and epoch give the same batches. */
  seed: number;
  /** Mixed into the seed, so that each epoch has other batches. Default 0. */
  epoch?: number;
  /**
   * Examples per bucket, as a multiple of the batch size. A bucket is a random slice of the shuffled
   * data, sorted by length and cut into batches: larger buckets pad less, smaller ones mix more. Default 50.
   */
  bucketBatches?: number;
  /** Drop the last, smaller batch of each bucket? Default false (every example exactly once per epoch). */
  dropLast?: boolean;
}

/**
 * Batches of example indices with similar lengths. Every index appears exactly once per epoch (unless
 * `dropLast`); the order of batches, and which examples share a bucket, are shuffled with the seed.
 */
export function lengthBucketedBatches(lengths: readonly number[], options: BucketedBatchOptions): number[][] {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const bucketSize = batchSize * (options.bucketBatches ?? 50);
  const random = mulberry32(mixSeed(options.seed, options.epoch ?? 0));
  const order = shuffle(Array.from(lengths, (_, i) => i), random);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += bucketSize) {
    // Stable sort by length: ties keep their shuffled order, so equal-length examples still mix.
    const bucket = order.slice(start, start + bucketSize).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let b = 0; b < bucket.length; b += batchSize) {
      const batch = bucket.slice(b, b + batchSize);
      if (batch.length < batchSize && options.dropLast) continue;
      batches.push(batch);
    }
  }
  return shuffle(batches, random);
}

/** Consecutive batches in the given order, without bucketing (the baseline the bucketing is measured against). */
export function sequentialBatches(count: number, batchSize: number): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < count; start += batchSize) {
    batches.push(Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i));
  }
  return batches;
}

/** The fraction of token slots that are padding when each batch is padded to its longest example. */
export function paddingFraction(batches: readonly (readonly number[])[], lengths: readonly number[]): number {
  let slots = 0, real = 0;
  for (const batch of batches) {
    let longest = 0;
    for (const i of batch) {
      longest = Math.max(longest, lengths[i]!);
      real += lengths[i]!;
    }
    slots += longest * batch.length;
  }
  return slots === 0 ? 0 : (slots - real) / slots;
}
