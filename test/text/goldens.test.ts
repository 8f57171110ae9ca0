// orma's BertTokenizer against golden output of Hugging Face's BertTokenizer (transformers.js), made by
// scripts/make-tokenizer-goldens.mjs: hand-written edge cases and real ChEBI-20/PCdes validation descriptions,
// five vocabulary/casing configurations. Needs no transformers.js at test time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BertTokenizer } from '../../src/text/index.js';

interface GoldenConfig {
  name: string;
  vocab: string;
  lowercase: boolean;
  ids: number[][];
  decoded: string[];
  decodedSkippingSpecial: string[];
  truncated: number[][];
}
interface Golden {
  reference: string;
  handCases: number;
  truncateTo: number;
  texts: string[];
  configs: GoldenConfig[];
}

const golden = JSON.parse(gunzipSync(readFileSync('test/fixtures/text/goldens.json.gz')).toString('utf8')) as Golden;
const longText = golden.texts.slice(golden.handCases).join(' ');

function describeMismatch(tok: BertTokenizer, text: string, expected: number[], actual: number[]): string {
  const show = (ids: number[]) => ids.map((id) => tok.vocab.token(id) ?? `#${id}`).join(' ');
  return `text ${JSON.stringify(text.slice(0, 200))}\n  expected: ${show(expected)}\n  actual:   ${show(actual)}`;
}

test('golden file covers the cases it claims', () => {
  assert.equal(golden.configs.length, 5);
  assert.ok(golden.texts.length >= 300, `only ${golden.texts.length} texts`);
  assert.deepEqual(golden.configs.map((c) => c.lowercase), [true, true, false, true, false]);
});

for (const config of golden.configs) {
  test(`token ids equal Hugging Face BertTokenizer: ${config.name} (${config.ids.length} texts)`, () => {
    const tok = BertTokenizer.fromVocabFile(config.vocab, { lowercase: config.lowercase });
    const mismatches: string[] = [];
    config.ids.forEach((expected, i) => {
      const actual = tok.encode(golden.texts[i]!).ids;
      if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push(describeMismatch(tok, golden.texts[i]!, expected, actual));
    });
    assert.equal(mismatches.length, 0, `${mismatches.length} of ${config.ids.length} differ from ${golden.reference}:\n${mismatches.slice(0, 5).join('\n')}`);
  });

  test(`decode and truncation equal Hugging Face: ${config.name}`, () => {
    const tok = BertTokenizer.fromVocabFile(config.vocab, { lowercase: config.lowercase });
    for (let i = 0; i < golden.handCases; i++) {
      const ids = config.ids[i]!;
      assert.equal(tok.decode(ids), config.decoded[i], `decode of case ${i}`);
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), config.decodedSkippingSpecial[i], `decode (skip special) of case ${i}`);
    }
    const truncTexts = golden.texts.slice(0, golden.handCases).concat([longText]);
    truncTexts.forEach((text, i) => {
      const enc = tok.encode(text, { maxLength: golden.truncateTo });
      assert.deepEqual(enc.ids, config.truncated[i], `truncation of case ${i}`);
      const full = tok.encode(text, { maxLength: 100_000 }).ids.length;
      assert.equal(enc.truncated, full > golden.truncateTo);
      assert.equal(enc.droppedTokens, Math.max(0, full - golden.truncateTo));
    });
  });
}
