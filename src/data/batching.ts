// Batching for training and evaluation: a length-bucketed batch sampler (few padding tokens, still random)
// and collation of token id sequences with dynamic padding.
import { padSequences, type PaddedBatch } from '../text/padding.js';

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

/** Collates the token id sequences of one batch: [B, Lmax] ids, attention mask and type ids (Int32Array). */
export function collateTokenIds(sequences: readonly (readonly number[])[], padId: number): PaddedBatch {
  return padSequences(sequences, padId);
}

/** A small, fast, seedable PRNG (mulberry32) returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mixSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((epoch + 1) >>> 0, 0x85ebca6b)) >>> 0;
}

/** Fisher–Yates shuffle in place. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
