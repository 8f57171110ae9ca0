// The training-step benchmarks' inputs (orma.ts, step-passes.ts, block-fill.ts): ChEBI-20 validation pairs,
// used for timing only, in length-bucketed batches as the trainer makes them, and the untrained default
// model they are timed on (seed 0), so that every step benchmark times the same batches on the same weights.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed } from '../src/tensor/index.js';
import { buildHierGraph, initRDKit, type HierGraph } from '../src/chem/index.js';
import { BertTokenizer } from '../src/text/index.js';
import { padSequences, type PaddedBatch } from '../src/text/padding.js';
import { readPairFile } from '../src/data/datasets.js';
import { lengthBucketedBatches } from '../src/data/batching.js';
import { DEFAULT_ORMA, DEFAULT_TEXT_ENCODER } from '../src/model/config.js';
import { Orma } from '../src/model/orma.js';
import { DEFAULT_MODEL_DIR } from '../src/util/paths.js';

export interface StepBatch { texts: PaddedBatch; graphs: HierGraph[] }

/** The first `count` length-bucketed batches of `batchSize` validation pairs, and what they are made from. */
export async function stepBatches(count: number, batchSize = 32) {
  const file = join(resolve(process.env.ORMA_DATA ?? '../shared/data'), 'chebi20', 'validation.tsv');
  if (!existsSync(file)) throw new Error(`${file} not found: set ORMA_DATA to the shared data folder`);
  await initRDKit();
  const rows = readPairFile(file).rows;
  const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
  const ids = rows.map((r) => tokenizer.encode(r.description!, { maxLength: 256 }).ids);
  const order = lengthBucketedBatches(ids.map((s) => s.length), { batchSize, seed: 0, dropLast: true }).slice(0, count);
  const graphs = new Map<number, HierGraph>();
  const graphOf = (i: number) => graphs.get(i) ?? graphs.set(i, buildHierGraph(rows[i]!.smiles)).get(i)!;
  const collate = (idx: number[]): StepBatch => ({ texts: padSequences(idx.map((i) => ids[i]!), tokenizer.special.pad), graphs: idx.map(graphOf) });
  return { rows, ids, tokenizer, order, graphOf, collate, batches: order.map(collate) };
}

/** The default ORMA model and text encoder for this vocabulary, seed 0, in training mode. */
export function initialModel(vocabSize: number): Orma {
  manualSeed(0);
  return new Orma(DEFAULT_ORMA, { ...DEFAULT_TEXT_ENCODER, vocabSize }).train();
}
