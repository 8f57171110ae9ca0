// The committed default vocabulary, and (when ../shared is present) its behaviour on real descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { BertTokenizer } from '../../src/text/index.js';
import { readPairFile } from '../../src/data/datasets.js';
import { lengthBucketedBatches, paddingFraction, sequentialBatches } from '../../src/data/batching.js';

const VOCAB = 'models/default/vocab.txt';
const CHEBI_VAL = '../shared/data/chebi20/validation.tsv';

test('default vocabulary: small, 8,000 tokens, special tokens at 0-4', () => {
  assert.ok(statSync(VOCAB).size < 200_000);
  const tok = BertTokenizer.fromVocabFile(VOCAB);
  assert.equal(tok.vocab.size, 8000);
  assert.deepEqual(tok.special, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
  assert.deepEqual(tok.tokenize('The molecule is a monocarboxylic acid anion.'), ['the', 'molecule', 'is', 'a', 'monocarboxylic', 'acid', 'anion', '.']);
});

test('ChEBI-20 validation: no [UNK], and bucketed batches of 32 pad < 10% of slots', (t) => {
  if (!existsSync(CHEBI_VAL)) { t.skip(`${CHEBI_VAL} not present`); return; }
  const tok = BertTokenizer.fromVocabFile(VOCAB, { maxLength: 256 });
  const texts = readPairFile(CHEBI_VAL).rows.map((r) => r.description!);
  assert.equal(texts.length, 3301);
  const encoded = texts.map((text) => tok.encode(text));
  assert.equal(encoded.filter((e) => e.ids.includes(tok.special.unk)).length, 0);
  assert.ok(encoded.every((e) => e.ids.length <= 256));
  const lengths = encoded.map((e) => e.ids.length);
  const bucketed = paddingFraction(lengthBucketedBatches(lengths, { batchSize: 32, seed: 0 }), lengths);
  const plain = paddingFraction(sequentialBatches(lengths.length, 32), lengths);
  assert.ok(bucketed < 0.1, `bucketed padding ${bucketed}`);
  assert.ok(plain > 0.4, `plain padding ${plain}`);
});
