// The WordPiece trainer and the `orma vocab` command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer, loadVocabFile, trainWordPieceVocab } from '../../src/text/index.js';
import { runCli } from '../../src/cli/main.js';

const CORPUS = [
  'The molecule is a monocarboxylic acid.',
  'The molecule is a dicarboxylic acid anion.',
  'It is a conjugate base of a monocarboxylic acid.',
  'The molecule is an alpha-amino acid; 5α-reductase inhibitor.',
  'A hydroxy monocarboxylic acid that is benzoic acid carrying a hydroxy group.',
];

test('trained vocabulary: special tokens first, both forms of every character, then merges', () => {
  const { vocab, stats } = trainWordPieceVocab(CORPUS, { vocabSize: 400, progress: null });
  assert.deepEqual(vocab.tokens.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  for (const t of ['m', '##m', 'α', '##α', '##β', 'β', '²', '##²', '(', ';']) assert.ok(vocab.has(t), `missing ${t}`);
  assert.ok(!vocab.has('##('), 'punctuation is always split off, so it needs no ## form');
  for (const t of ['acid', 'monocarboxylic', 'the', 'molecule']) assert.ok(vocab.has(t), `merge missing: ${t}`);
  assert.ok(stats.merges > 0 && stats.texts === 5 && stats.distinctWords > 10);
  assert.ok(vocab.size <= 400);
  // Everything in the corpus tokenizes without [UNK], and frequent words are one piece.
  const tok = new BertTokenizer(vocab);
  for (const text of CORPUS) assert.ok(!tok.tokenize(text).includes('[UNK]'), text);
  assert.deepEqual(tok.tokenize('monocarboxylic acid'), ['monocarboxylic', 'acid']);
  // A character seen only word-initially still works inside a word (seeded ## forms).
  assert.ok(!tok.tokenize('11β-hydroxy xα').includes('[UNK]'));
});

test('training is deterministic and stops at the requested size', () => {
  const a = trainWordPieceVocab(CORPUS, { vocabSize: 300, minPairCount: 1, progress: null }).vocab.tokens;
  const b = trainWordPieceVocab(CORPUS, { vocabSize: 300, minPairCount: 1, progress: null }).vocab.tokens;
  assert.deepEqual(a, b);
  assert.equal(a.length, 300);
  const small = trainWordPieceVocab(['ab ab ab'], { vocabSize: 1000, progress: null });
  assert.equal(small.stats.stoppedEarly, true); // only one pair to merge
  assert.ok(small.vocab.has('ab'));
});

test('count and likelihood scores choose different merges', () => {
  // "x y" is frequent; "q z" is rare but q and z never occur apart, which the likelihood score prefers.
  const corpus = ['xy xy xy xy xy xa xb xc ay by cy qz qz'];
  const first = (score: 'count' | 'likelihood') => {
    const { vocab } = trainWordPieceVocab(corpus, { vocabSize: 1000, score, progress: null, seedAlphabet: false });
    return vocab.tokens.filter((t) => t.length > 1 && !t.startsWith('##') && !t.startsWith('['))[0];
  };
  assert.equal(first('count'), 'xy');
  assert.equal(first('likelihood'), 'qz');
});

test('the size must leave room for the alphabet', () => {
  assert.throws(() => trainWordPieceVocab(CORPUS, { vocabSize: 20, progress: null }), /smaller than the special tokens plus the alphabet/);
});

test('orma vocab refuses test/validation files, trains on the others and writes the file atomically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-vocab-cli-'));
  const train = join(dir, 'train.tsv');
  writeFileSync(train, 'CID\tSMILES\tdescription\n' + CORPUS.map((t, i) => `${i}\tC\t${t}`).join('\n') + '\n');
  const testFile = join(dir, 'test.tsv');
  writeFileSync(testFile, 'CID\tSMILES\tdescription\n1\tC\tThe molecule.\n');
  const plain = join(dir, 'notes.txt');
  writeFileSync(plain, 'plain text line one\n\nline two\n');
  const out = join(dir, 'vocab.txt');
  const errors: string[] = [];
  const logs: string[] = [];
  const origError = console.error, origLog = console.log;
  console.error = (...a: unknown[]) => { errors.push(a.join(' ')); };
  console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
  try {
    assert.equal(await runCli(['vocab', '--data', train, '--data', testFile, '--size', '300', '--out', out]), 2);
    assert.match(errors.join('\n'), /refusing .*test\.tsv/);
    assert.equal(existsSync(out), false);
    assert.equal(await runCli(['vocab', '--data', join(dir, 'validation.tsv'), '--size', '300', '--out', out]), 2);
    assert.equal(await runCli(['vocab', '--data', train, '--data', plain, '--size', '300', '--min-pair-count', '1', '--out', out, '--quiet']), 0);
    assert.equal(loadVocabFile(out).size, 300);
    assert.match(logs[0]!, /"texts":7,/); // 5 descriptions + 2 non-blank plain lines
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
    assert.equal(await runCli(['vocab', '--data', testFile, '--allow-eval-text', '--size', '280', '--out', out, '--quiet']), 0);
    assert.equal(await runCli(['vocab', '--data', train, '--size', '100', '--out', out, '--quiet']), 2);
    assert.match(errors.at(-1)!, /--size: vocabulary size 100 is smaller than the special tokens plus the alphabet/);
    assert.equal(await runCli(['vocab', '--data', train, '--size', 'many', '--out', out]), 2);
    assert.equal(await runCli(['vocab', '--data', train, '--size', '300', '--out', out, '--score', 'best']), 2);
  } finally {
    console.error = origError;
    console.log = origLog;
  }
  assert.match(logs[0]!, /"size":300,/);
});
