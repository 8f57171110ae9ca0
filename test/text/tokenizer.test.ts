// Behaviour of the BERT tokenizer beyond the goldens: cases where orma follows Python's BertTokenizer and
// transformers.js does not, special tokens, truncation, huge and malformed input, batches, decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTokenizer, BertTokenizer, Vocab, cleanText } from '../../src/text/index.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
function tokenizerWith(tokens: string[], lowercase = true): BertTokenizer {
  return new BertTokenizer(new Vocab([...SPECIALS, ...tokens]), { lowercase, maxLength: 512 });
}
const chem = tokenizerWith(['the', 'molecule', 'acid', 'benz', '##ene', '##oic', 'hydroxy', '##l', '(', ')', ',', '-', '2', '3', 'r', 's', '##r', '##s', 'a', '##a', '##b', 'b', 'x', '##x', 'α', 'β', '²', '##²', '##⁺', 'cu', 'ca', '°', 'f', '##°', '##f', 'é', 'e', '中', '𠀀', 'abc', '##bc']);

test('basic tokenization: lower-case, accents, punctuation, symbols stay in their word', () => {
  const basic = new BasicTokenizer();
  assert.deepEqual(basic.tokenize('(2R,3S)-Tartaric ACID'), ['(', '2r', ',', '3s', ')', '-', 'tartaric', 'acid']);
  assert.deepEqual(basic.tokenize('Café Ångström naïve'), ['cafe', 'angstrom', 'naive']);
  assert.deepEqual(basic.tokenize('Cu²⁺ 126Â°F ±5 a→b'), ['cu²⁺', '126a°f', '±5', 'a→b']);
  assert.deepEqual(new BasicTokenizer({ lowercase: false }).tokenize('Café ACID'), ['Café', 'ACID']);
  assert.deepEqual(new BasicTokenizer({ lowercase: false, stripAccents: true }).tokenize('Café'), ['Cafe']);
  assert.deepEqual(new BasicTokenizer({ lowercase: true, stripAccents: false }).tokenize('Café'), ['café']);
  assert.deepEqual(basic.tokenize('a\u0000b\u0007c\u200bd\ufffde'), ['abcde']);
  assert.deepEqual(basic.tokenize('a\u00a0b\u3000c\u2028d\te\r\nf'), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('CJK ideographs are words of their own, also outside the BMP (Python BertTokenizer; transformers.js misses those)', () => {
  const basic = new BasicTokenizer();
  assert.deepEqual(basic.tokenize('化学abc'), ['化', '学', 'abc']);
  assert.deepEqual(basic.tokenize('x𠀀y'), ['x', '𠀀', 'y']); // U+20000, CJK extension B
  assert.deepEqual(new BasicTokenizer({ tokenizeChineseChars: false }).tokenize('化学abc'), ['化学abc']);
  assert.deepEqual(chem.tokenize('x𠀀x'), ['x', '𠀀', 'x']);
});

test('unassigned code points are removed as control characters (category Cn, as in Python)', () => {
  assert.equal(cleanText('a\u0378b'), 'ab'); // U+0378 is unassigned
  assert.equal(cleanText('a\udfffb'), 'ab'); // a lone surrogate (category Cs)
});

test('WordPiece: greedy longest match, ## continuations, [UNK] for the whole word', () => {
  assert.deepEqual(chem.tokenize('benzene benzoic'), ['benz', '##ene', 'benz', '##oic']);
  assert.deepEqual(chem.tokenize('abc abbc'), ['abc', 'a', '##b', '##bc']);
  assert.deepEqual(chem.tokenize('benzzz hydroxyl'), ['[UNK]', 'hydroxy', '##l']);
  assert.deepEqual(chem.tokenize('(2R,3S)'), ['(', '2', '##r', ',', '3', '##s', ')']);
  assert.deepEqual(chem.tokenize('Cu²⁺ 2°F α β'), ['cu', '##²', '##⁺', '2', '##°', '##f', 'α', 'β']);
});

test('a word over 100 characters is one [UNK]; exactly 100 is split normally', () => {
  assert.deepEqual(chem.tokenize('a' + 'b'.repeat(99)), ['a', ...Array(99).fill('##b')]);
  assert.deepEqual(chem.tokenize('a' + 'b'.repeat(100) + ' x'), ['[UNK]', 'x']);
  // Length counts code points: 50 astral characters are 100 UTF-16 units but only 50 characters.
  const astral = '𝐁'.repeat(50);
  assert.equal(chem.wordPiece.wordIds(astral).length, 1);
});

test('special tokens in the text are kept whole (case-sensitive), as in Hugging Face', () => {
  assert.deepEqual(chem.tokenize('a [MASK] b[SEP]x'), ['a', '[MASK]', 'b', '[SEP]', 'x']);
  // Lower-case "[mask]" is ordinary text: '[', 'mask', ']', none of them in this vocabulary.
  assert.deepEqual(chem.tokenize('[mask]'), ['[UNK]', '[UNK]', '[UNK]']);
  assert.deepEqual(chem.tokenize('[MASK'), ['[UNK]', '[UNK]']);
});

test('encode adds [CLS]/[SEP], truncates to maxLength and says how much it dropped', () => {
  const enc = chem.encode('the acid', { returnTokens: true });
  assert.deepEqual(enc.tokens, ['[CLS]', 'the', 'acid', '[SEP]']);
  assert.equal(enc.truncated, false);
  assert.equal(enc.droppedTokens, 0);
  const cut = chem.encode('a b a b a b', { maxLength: 5, returnTokens: true });
  assert.deepEqual(cut.tokens, ['[CLS]', 'a', 'b', 'a', '[SEP]']);
  assert.equal(cut.truncated, true);
  assert.equal(cut.droppedTokens, 3);
  assert.deepEqual(chem.encode('a b', { addSpecialTokens: false }).ids, [chem.vocab.id('a'), chem.vocab.id('b')]);
  assert.throws(() => chem.encode('a', { maxLength: 1 }), /maxLength must be an integer >= 2/);
});

test('empty text gives [CLS] [SEP]; 100 kB of text is truncated, quickly, and says so', () => {
  assert.deepEqual(chem.encode('').ids, [chem.special.cls, chem.special.sep]);
  assert.deepEqual(chem.encode(' \t\n\u0000').ids, [chem.special.cls, chem.special.sep]);
  const big = 'the molecule, benzoic acid. '.repeat(4000); // 112 kB
  const started = performance.now();
  const enc = chem.encode(big, { maxLength: 256 });
  assert.ok(performance.now() - started < 2000);
  assert.equal(enc.ids.length, 256);
  assert.equal(enc.truncated, true);
  assert.equal(enc.droppedTokens, 4000 * 7 - 254); // the molecule , benz ##oic acid [UNK](.)
});

test('invalid UTF-8 and mojibake never crash: U+FFFD is removed, Â° is a normal word', () => {
  const decoded = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x20, 0xc3]).toString('utf8'); // 'a\ufffd\ufffdb \ufffd'
  assert.deepEqual(chem.tokenize(decoded), ['a', '##b']);
  assert.deepEqual(new BasicTokenizer().tokenize(decoded), ['ab']);
  assert.deepEqual(new BasicTokenizer().tokenize('126Â°F'), ['126a°f']);
});

test('encodeBatch pads to the longest text of the batch, never to a fixed length', () => {
  const batch = chem.encodeBatch(['the acid', 'the', 'a b a b a b'], { maxLength: 6 });
  assert.equal(batch.batchSize, 3);
  assert.equal(batch.seqLength, 6);
  assert.deepEqual(batch.lengths, [4, 3, 6]);
  assert.deepEqual(batch.truncatedRows, [2]);
  const { cls, sep, pad } = chem.special;
  const the = chem.vocab.id('the')!, acid = chem.vocab.id('acid')!;
  assert.deepEqual(Array.from(batch.inputIds.subarray(0, 12)), [cls, the, acid, sep, pad, pad, cls, the, sep, pad, pad, pad]);
  assert.deepEqual(Array.from(batch.attentionMask.subarray(0, 12)), [1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0]);
  assert.ok(batch.typeIds.every((t) => t === 0));
  assert.ok(batch.inputIds instanceof Int32Array && batch.attentionMask instanceof Int32Array);
  assert.equal(chem.encodeBatch(['the']).seqLength, 3);
  assert.equal(chem.encodeBatch([]).seqLength, 0);
});

test('decode glues ## pieces, can skip special tokens, and rejects unknown ids', () => {
  const ids = chem.encode('benzoic acid, the benzene').ids;
  assert.equal(chem.decode(ids), '[CLS] benzoic acid, the benzene [SEP]');
  assert.equal(chem.decode(ids, { skipSpecialTokens: true }), 'benzoic acid, the benzene');
  assert.equal(chem.decode(ids, { skipSpecialTokens: true, cleanUpSpaces: false }), 'benzoic acid , the benzene');
  assert.throws(() => chem.decode([999]), /outside the vocabulary/);
});

test('cased tokenizer keeps case and accents', () => {
  const cased = tokenizerWith(['The', 'the', 'Café', 'cafe'], false);
  assert.deepEqual(cased.tokenize('The the Café'), ['The', 'the', 'Café']);
  assert.deepEqual(tokenizerWith(['The', 'the', 'Café', 'cafe']).tokenize('The Café'), ['the', 'cafe']);
});

test('fromDirectory reads vocab.txt and tokenizer_config.json (Hugging Face folder); options override it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-hf-tok-'));
  writeFileSync(join(dir, 'vocab.txt'), [...SPECIALS, 'The', 'the', 'Café', 'cafe'].join('\n') + '\n');
  assert.deepEqual(BertTokenizer.fromDirectory(dir).tokenize('The Café'), ['the', 'cafe']); // no config: uncased
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false, model_max_length: 1e30, mask_token: { content: '[MASK]' } }));
  const cased = BertTokenizer.fromDirectory(dir);
  assert.deepEqual(cased.tokenize('The Café'), ['The', 'Café']);
  assert.equal(cased.maxLength, 512); // the "no limit" sentinel is ignored
  assert.deepEqual(BertTokenizer.fromDirectory(dir, { lowercase: true, maxLength: 256 }).tokenize('The'), ['the']);
  writeFileSync(join(dir, 'tokenizer_config.json'), '{ not json');
  assert.throws(() => BertTokenizer.fromDirectory(dir), /tokenizer_config\.json: not valid JSON/);
});
