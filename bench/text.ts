// Text benchmark: tokenizer throughput on the 3,301 ChEBI-20 validation descriptions (optionally against
// transformers.js' BertTokenizer, with an id-by-id agreement check), the default vocabulary's tokens per
// description and [UNK] rate, and the padding fraction of batches of 32 with and without length bucketing.
// Prints one JSON object.
//   npm run bench:text                       (data from ../shared/data, or ORMA_DATA=DIR)
//   ORMA_TRANSFORMERS_JS=/tmp/hf/node_modules/@huggingface/transformers npm run bench:text
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BertTokenizer } from '../src/text/index.js';
import { readPairFile } from '../src/data/datasets.js';
import { lengthBucketedBatches, paddingFraction, sequentialBatches } from '../src/data/batching.js';
import { hostInfo, timeMs } from './stats.js';

const DATA = resolve(process.env.ORMA_DATA ?? '../shared/data');
const VOCAB = 'models/default/vocab.txt';
const MAX_LENGTH = 256;
const BATCH_SIZE = 32;
const SEED = 0;
const REPEATS = 5;

function descriptions(file: string): string[] {
  const path = join(DATA, file);
  if (!existsSync(path)) throw new Error(`${path} not found: set ORMA_DATA to the shared data folder`);
  return readPairFile(path, { requireDescription: true }).rows.map((r) => r.description!);
}

/**
 * Descriptions per second. firstPass: the first pass of this process over `texts` (JIT not warmed, word cache
 * empty). coldCache: a fresh tokenizer (empty word cache) after a JIT warm-up on `warmup` (other texts).
 * warm: best of REPEATS passes with the word cache filled.
 */
function throughput(make: () => { encode(text: string): unknown }, texts: string[], warmup: string[]) {
  const rate = (tok: { encode(text: string): unknown }) => texts.length / (timeMs(() => { for (const t of texts) tok.encode(t); }) / 1000);
  const firstPass = rate(make());
  const warmed = make();
  for (const t of warmup) warmed.encode(t);
  const fresh = make();
  const coldCache = rate(fresh);
  let warm = 0;
  for (let r = 0; r < REPEATS; r++) warm = Math.max(warm, rate(fresh));
  return { firstPassPerSecond: Math.round(firstPass), coldCachePerSecond: Math.round(coldCache), warmPerSecond: Math.round(warm) };
}

function tokenStats(tok: BertTokenizer, texts: string[]) {
  let pieces = 0, unk = 0, truncated = 0;
  const lengths = texts.map((t) => {
    const enc = tok.encode(t, { maxLength: MAX_LENGTH });
    pieces += enc.ids.length - 2 + enc.droppedTokens;
    for (const id of enc.ids) if (id === tok.special.unk) unk++;
    if (enc.truncated) truncated++;
    return enc.ids.length;
  });
  const bucketed = lengthBucketedBatches(lengths, { batchSize: BATCH_SIZE, seed: SEED });
  return {
    texts: texts.length,
    meanPiecesPerText: Number((pieces / texts.length).toFixed(2)),
    unkRate: Number((unk / pieces).toFixed(6)),
    truncatedAt256: truncated,
    paddingFractionPlain: Number(paddingFraction(sequentialBatches(lengths.length, BATCH_SIZE), lengths).toFixed(4)),
    paddingFractionBucketed: Number(paddingFraction(bucketed, lengths).toFixed(4)),
  };
}

async function transformersJs(texts: string[], warmup: string[], ours: BertTokenizer) {
  const dir = process.env.ORMA_TRANSFORMERS_JS;
  if (!dir) return undefined;
  const script = pathToFileURL(resolve('scripts/make-tokenizer-goldens.mjs')).href;
  const { loadTransformers, referenceTokenizer } = await import(script);
  const { transformers, version } = await loadTransformers(dir);
  const make = () => referenceTokenizer(transformers, VOCAB, true) as { encode(text: string): number[] };
  const reference = make();
  const differing = texts.filter((t) => JSON.stringify(reference.encode(t)) !== JSON.stringify(ours.encode(t, { maxLength: 1_000_000 }).ids)).length;
  return { version, ...throughput(make, texts, warmup), textsWithDifferentIds: differing };
}

async function main(): Promise<void> {
  const chebiVal = descriptions('chebi20/validation.tsv');
  const pcdesTrain = descriptions('pcdes/train.tsv.gz');
  const warmup = pcdesTrain.slice(0, 3000);
  const make = () => BertTokenizer.fromVocabFile(VOCAB, { maxLength: MAX_LENGTH });
  const tok = make();
  const result = {
    machine: hostInfo(),
    config: { vocab: VOCAB, vocabSize: tok.vocab.size, lowercase: true, maxLength: MAX_LENGTH, batchSize: BATCH_SIZE, bucketBatches: 50, seed: SEED, repeats: REPEATS, data: DATA },
    throughput: {
      texts: `ChEBI-20 validation (${chebiVal.length} descriptions), single thread, encode() with [CLS]/[SEP]; JIT warm-up on 3,000 PCdes train texts`,
      orma: throughput(make, chebiVal, warmup),
      transformersJs: await transformersJs(chebiVal, warmup, tok),
    },
    chebi20Validation: tokenStats(tok, chebiVal),
    pcdesTrain: tokenStats(tok, pcdesTrain),
  };
  console.log(JSON.stringify(result, null, 2));
}

await main();
