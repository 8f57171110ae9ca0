// The programs in examples/ (the README's code) compile with the rest and run: each one's output is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function run(name: string, args: string[] = []): string {
  const script = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${name} failed:\n${r.stderr}`);
  return r.stdout;
}

test('examples/tensor-engine: the README snippet trains a step and frees every tensor', () => {
  const out = run('tensor-engine');
  assert.match(out, /^loss \d+\.\d{4}; live tensors: 3 /m);
  assert.match(out, /^after dispose: 0 live tensors$/m);
});

test('examples/load-hf-bert: loads a Hugging Face BERT folder and encodes a sentence', () => {
  const out = run('load-hf-bert');
  assert.match(out, /hf-bert-tiny: 2 layers, hidden 16, vocabulary 25, \d+ parameters/);
  assert.match(out, /^tokens: \[CLS\] .* \[SEP\]$/m);
  assert.match(out, /^last hidden state: \[1, \d+, 16\]$/m);
});

test('examples/motifs: aspirin into atoms, BRICS bonds and motifs', () => {
  const out = run('motifs');
  assert.match(out, /^CC\(=O\)Oc1ccccc1C\(=O\)O: 13 atoms, 13 bonds, 3 BRICS bonds, 4 motifs$/m);
  assert.match(out, /^motif 1: atoms \[4, 5, 6, 7, 8, 9\]$/m);
  assert.match(out, /^hierarchical graph: 18 nodes, 43 directed edges$/m);
});
