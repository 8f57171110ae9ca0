// vocab.txt loading: the format, and clear errors (file and line) for files that would give wrong ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer, Vocab, VocabError, loadVocabFile, parseVocab, saveVocabFile } from '../../src/text/index.js';

const dir = mkdtempSync(join(tmpdir(), 'orma-vocab-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('parses one token a line; ids are line numbers minus one; CRLF and BOM tolerated', () => {
  const v = parseVocab('\ufeff[PAD]\r\n[UNK]\r\nthe\r\n##s\r\n');
  assert.deepEqual(v.tokens, ['[PAD]', '[UNK]', 'the', '##s']);
  assert.equal(v.id('the'), 2);
  assert.equal(v.token(3), '##s');
  assert.equal(parseVocab('a\nb').size, 2); // no final newline
});

test('a vocabulary without the special tokens is an error naming the file and every missing token', () => {
  const path = file('nospecial.txt', '[PAD]\n[CLS]\nthe\n');
  assert.throws(() => BertTokenizer.fromVocabFile(path), (err: Error) => {
    assert.ok(err instanceof VocabError);
    assert.match(err.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(err.message, /\[UNK\] \[SEP\] \[MASK\]/);
    assert.doesNotMatch(err.message, /lacks the special token\(s\) \[PAD\]/);
    return true;
  });
});

test('duplicate lines, empty lines and empty files are errors with the line number', () => {
  assert.throws(() => loadVocabFile(file('dup.txt', 'a\nb\nc\nb\n')), /dup\.txt:4: duplicate token "b" \(first on line 2\)/);
  assert.throws(() => loadVocabFile(file('blank.txt', 'a\n\nb\n')), /blank\.txt:2: empty line/);
  assert.throws(() => loadVocabFile(file('empty.txt', '')), /empty\.txt: vocabulary file is empty/);
  assert.throws(() => loadVocabFile(join(dir, 'missing.txt')), /cannot read .*missing\.txt/);
});

test('saveVocabFile round-trips and leaves no temporary file', () => {
  const v = new Vocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'α', '##²']);
  const sub = join(dir, 'out');
  mkdirSync(sub);
  const path = join(sub, 'vocab.txt');
  saveVocabFile(path, v);
  assert.equal(readFileSync(path, 'utf8'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nα\n##²\n');
  assert.deepEqual(loadVocabFile(path).tokens, v.tokens);
  assert.deepEqual(readdirSync(sub), ['vocab.txt']);
});
