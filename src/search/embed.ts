// Vectors for stage 1: a text's sentence vector and a molecule's molecule vector, as the model's global
// score sees them (L2-normalised for cosine models, so that a dot product is the cosine; raw otherwise).
// Items are encoded in length-sorted batches so padding stays small; nothing tensor-valued escapes.
import { noGrad, normalize, tidy, type Tensor } from '../tensor/index.js';
import type { HierGraph } from '../chem/index.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import type { OrmaBundle } from '../model/factory.js';
import { packRecord } from './token-cache.js';

/** True when the model's global score is a cosine (then stored vectors are unit length). */
export function isCosine(b: OrmaBundle): boolean {
  return b.config.orma.logitScale === 'learned';
}

/** Indices sorted by size, cut into batches. */
function sortedBatches(sizes: readonly number[], batchSize: number): number[][] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]! || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

function rowsInto(out: Float32Array, v: Tensor, batch: number[], dim: number, cosine: boolean): void {
  const x = (cosine ? normalize(v, -1) : v).to('float32').contiguous().toArray() as Float32Array;
  batch.forEach((i, r) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
}

/** Token ids of each text, truncated to the model's maximum length. */
export function tokenize(b: OrmaBundle, texts: readonly string[]): number[][] {
  return texts.map((t) => b.tokenizer.encode(t, { maxLength: b.config.tokenizer.maxLength }).ids);
}

/** [N × D] row-major sentence vectors of token-id sequences. */
export function embedTokenIds(b: OrmaBundle, ids: readonly (readonly number[])[], o: { batchSize?: number } = {}): Float32Array {
  const dim = b.config.orma.dim, out = new Float32Array(ids.length * dim), cosine = isCosine(b);
  noGrad(() => {
    for (const batch of sortedBatches(ids.map((s) => s.length), o.batchSize ?? 32)) {
      tidy(() => rowsInto(out, b.model.encodeText(padSequences(batch.map((i) => ids[i]!), b.tokenizer.special.pad)).sentence, batch, dim, cosine));
    }
  });
  return out;
}

/** [M × D] row-major molecule vectors of graphs. */
export function embedGraphs(b: OrmaBundle, graphs: readonly HierGraph[], o: { batchSize?: number } = {}): Float32Array {
  const dim = b.config.orma.dim, out = new Float32Array(graphs.length * dim), cosine = isCosine(b);
  noGrad(() => {
    for (const batch of sortedBatches(graphs.map((g) => g.numAtoms), o.batchSize ?? 64)) {
      tidy(() => rowsInto(out, b.model.encodeMolecules(batchGraphs(batch.map((i) => graphs[i]!))).molecule, batch, dim, cosine));
    }
  });
  return out;
}

/**
 * Like embedTokenIds, and also each text's token-cache record (token-cache.ts: the sentence vector as
 * encoded and the multi-token vectors float32, the token vectors float16) from the same encoder pass,
 * handed to `onRecord(i, record)` batch by batch, so a chunk's records are never all in memory.
 */
export function embedTokenIdsWithRecords(b: OrmaBundle, ids: readonly (readonly number[])[], onRecord: (i: number, record: Uint8Array) => void, o: { batchSize?: number } = {}): Float32Array {
  const dim = b.config.orma.dim, out = new Float32Array(ids.length * dim), cosine = isCosine(b);
  noGrad(() => {
    for (const batch of sortedBatches(ids.map((s) => s.length), o.batchSize ?? 32)) {
      tidy(() => {
        const v = b.model.encodeText(padSequences(batch.map((i) => ids[i]!), b.tokenizer.special.pad));
        rowsInto(out, v.sentence, batch, dim, cosine);
        const L = v.tokens.size(1);
        const peak = v.tokens.abs().max().item();
        if (!(peak < 65504)) throw new Error(`token cache: a token vector value of ${peak} does not fit float16 (index with --no-token-cache)`);
        const sent = v.sentence.to('float32').contiguous().toArray() as Float32Array;
        const tok = v.tokens.to('float16').contiguous().toArray() as Uint16Array;
        const multi = v.multiTokens.to('float32').contiguous().toArray() as Float32Array;
        batch.forEach((i, r) => {
          const n = ids[i]!.length;
          onRecord(i, packRecord(sent.subarray(r * dim, (r + 1) * dim), tok.subarray(r * L * dim, (r * L + n) * dim), multi.subarray(r * L * dim, (r * L + n) * dim)));
        });
      });
    }
  });
  return out;
}
