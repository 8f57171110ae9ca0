// Dynamic padding: a batch of token id sequences becomes row-major [B, Lmax] arrays, Lmax being the
// longest sequence of *this* batch (never a fixed 256), so short batches cost short compute.

export interface PaddedBatch {
  /** [batchSize, seqLength] row-major token ids; padding positions hold the pad id. */
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Segment (token type) ids: all 0 for single-sentence input. */
  typeIds: Int32Array;
  batchSize: number;
  seqLength: number;
  /** Unpadded length of each row. */
  lengths: number[];
}

/** Pads `sequences` with `padId` to the longest one. An empty batch gives a [0, 0] batch. */
export function padSequences(sequences: readonly (readonly number[])[], padId: number): PaddedBatch {
  const batchSize = sequences.length;
  const lengths = sequences.map((s) => s.length);
  const seqLength = lengths.reduce((a, b) => Math.max(a, b), 0);
  const inputIds = new Int32Array(batchSize * seqLength).fill(padId);
  const attentionMask = new Int32Array(batchSize * seqLength);
  for (let b = 0; b < batchSize; b++) {
    const seq = sequences[b]!;
    const row = b * seqLength;
    for (let t = 0; t < seq.length; t++) inputIds[row + t] = seq[t]!;
    attentionMask.fill(1, row, row + seq.length);
  }
  return { inputIds, attentionMask, typeIds: new Int32Array(batchSize * seqLength), batchSize, seqLength, lengths };
}

/** The batch with every row padded further, to `length` positions (at least), with `padId`. */
export function padTo(batch: PaddedBatch, length: number, padId: number): PaddedBatch {
  if (batch.seqLength >= length) return batch;
  const { batchSize: b, seqLength: l } = batch;
  const inputIds = new Int32Array(b * length).fill(padId), attentionMask = new Int32Array(b * length);
  for (let r = 0; r < b; r++) {
    inputIds.set(batch.inputIds.subarray(r * l, (r + 1) * l), r * length);
    attentionMask.set(batch.attentionMask.subarray(r * l, (r + 1) * l), r * length);
  }
  return { ...batch, inputIds, attentionMask, typeIds: new Int32Array(b * length), seqLength: length };
}
