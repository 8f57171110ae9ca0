// Mol2vec atom inputs (orma.molecule.atomInput 'mol2vec'): table lookup per radius with UNK, the
// frozen table (no parameter, no gradient, not in AdamW), the projection's gradients (float64 finite
// differences), a model folder that carries the table (create / save / load / export give equal
// scores), the training config's option and its errors, and a short training run whose checkpoints
// load as models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveTensorCount, manualSeed, noGrad, setDefaultDtype, tidy } from '../../src/tensor/index.js';
import { initRDKit, buildHierGraph, type HierGraph } from '../../src/chem/index.js';
import { batchGraphs, mol2vecRows } from '../../src/data/graph-batch.js';
import { BertTokenizer } from '../../src/text/index.js';
import { MoleculeEncoder } from '../../src/model/molecule-encoder.js';
import { MOL2VEC_FILE, encodeMol2vecTable, mol2vecRowIndex, readMol2vecTable, type Mol2vecTable } from '../../src/model/mol2vec.js';
import { createOrma, loadOrmaModel, saveOrmaModel } from '../../src/model/factory.js';
import { DEFAULT_ORMA } from '../../src/model/config.js';
import { paramGroups } from '../../src/train/param-groups.js';
import { ConfigError, resolveTrainConfig } from '../../src/train/config.js';
import { trainOrma } from '../../src/train/train-orma.js';
import { DEFAULT_MODEL_DIR, PACKAGE_ROOT } from '../../src/util/paths.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

await initRDKit();
const tmp = mkdtempSync(join(tmpdir(), 'orma-mol2vec-'));
const SHARED_TABLE = join(PACKAGE_ROOT, '..', 'shared', 'data', 'mol2vec');
const SMILES = ['CC(=O)Oc1ccccc1C(=O)O', 'C[N+](C)(C)CC(=O)[O-]', 'CCO', 'FC(F)(F)Br'];
const graphs: HierGraph[] = SMILES.map((s) => buildHierGraph(s));

/** A small table holding the radius-1 tokens of the first three molecules (bromotrifluoromethane's are UNK). */
function smallTable(dim = 5): Mol2vecTable {
  const ids = [...new Set(graphs.slice(0, 3).flatMap((g) => Array.from(g.morgan.filter((_, i) => i % 2 === 1))))];
  const rows = ids.length + 1;
  const vectors = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(1 + i));
  return { tokens: Uint32Array.from(ids), vectors, rows, dim, source: 'test' };
}

test('rows per atom: the radius\'s identifier looked up in the table, UNK (row 0) when absent', () => {
  const table = smallTable(), rowOf = mol2vecRowIndex(table);
  tidy(() => {
    const b = batchGraphs(graphs);
    const r1 = mol2vecRows(b, rowOf, 1).toNumbers(), r0 = mol2vecRows(b, rowOf, 0).toNumbers();
    assert.equal(r1.length, graphs.reduce((n, g) => n + g.numAtoms, 0));
    const known = graphs.slice(0, 3).reduce((n, g) => n + g.numAtoms, 0);
    assert.ok(r1.slice(0, known).every((r) => r > 0), 'tokens of the table found');
    assert.ok(r1.slice(known).every((r) => r === 0), 'bromotrifluoromethane is UNK');
    assert.ok(r0.some((r) => r === 0), 'radius-0 identifiers are not in a radius-1 table');
    for (let a = 0; a < r1.length; a++) if (r1[a]! > 0) assert.equal(table.tokens[r1[a]! - 1], b.atomMorgan[2 * a + 1]);
  });
});

test('the table is frozen: not a parameter (so not in the state dict or AdamW), no gradient; the encoder gradchecks', () => {
  setDefaultDtype('float64');
  try {
    manualSeed(3);
    const enc = new MoleculeEncoder({ hidden: 6, layers: 2, dropout: 0, atomInput: 'mol2vec' }, smallTable()).eval();
    try {
      const names = enc.namedParameters().map(([n]) => n);
      assert.ok(names.includes('mol2vec.projection.weight') && names.includes('mol2vec.projection.bias'));
      assert.ok(!names.some((n) => n.startsWith('atom_embeddings')), 'no categorical embeddings');
      const groups = paramGroups(enc.namedParameters(), { weightDecay: 0.1 });
      assert.equal(groups.reduce((n, g) => n + g.params.length, 0), names.length);
      tidy(() => {
        const b = batchGraphs(graphs.slice(0, 3));
        const params = enc.parameters();
        const r = assertGradcheck(() => enc.forward(b).sum(1).pow(2).sum(), params, { wrt: params.map((_, i) => i) }, 'mol2vec encoder');
        assert.ok(r.checked > 0);
      });
    } finally {
      enc.dispose();
    }
  } finally {
    setDefaultDtype('float32');
  }
});

test('the model folder carries the table: create, save, load and export score the same; a missing table is named', () => {
  const before = liveTensorCount();
  const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
  const text = { vocabSize: tokenizer.vocab.size, hidden: 16, layers: 2, heads: 2, ffn: 32, maxPositions: 64, dropout: 0 };
  manualSeed(7);
  const table = smallTable(8);
  const bundle = createOrma({ orma: { ...DEFAULT_ORMA, dim: 8, molecule: { hidden: 8, layers: 2, dropout: 0, atomInput: 'mol2vec', mol2vecRadius: 1 } }, text, tokenizer, mol2vec: table });
  const texts = tokenizer.encodeBatch(['The molecule is an acetate ester.', 'A primary alcohol.']);
  const score = (b: typeof bundle) => noGrad(() => tidy(() => b.model.eval().scores(b.model.encodeText(texts), b.model.encodeMolecules(batchGraphs(graphs))).fused.toNumbers()));
  const expected = score(bundle);
  const dir = join(tmp, 'model'), exported = join(tmp, 'exported');
  saveOrmaModel(dir, bundle);
  bundle.model.dispose();
  assert.ok(existsSync(join(dir, MOL2VEC_FILE)));
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).orma.molecule.atomInput, 'mol2vec');
  const loaded = loadOrmaModel(dir);
  assert.deepEqual(score(loaded), expected);
  assert.deepEqual(Array.from(loaded.model.molecules.mol2vec!.table.tokens), Array.from(table.tokens));
  assert.equal(loaded.model.molecules.mol2vec!.table.source, 'test');
  saveOrmaModel(exported, loaded);  // what `orma export` does
  loaded.model.dispose();
  const again = loadOrmaModel(exported);
  assert.deepEqual(score(again), expected);
  again.model.dispose();
  rmSync(join(exported, MOL2VEC_FILE));
  assert.throws(() => loadOrmaModel(exported), /atomInput.*mol2vec\.safetensors is missing/);
  assert.equal(liveTensorCount(), before, 'tensors leaked');
});

test('the shared table reads as published (3,138 x 300, row 0 UNK) and survives the model-file round trip', { skip: !existsSync(SHARED_TABLE) }, () => {
  const t = readMol2vecTable(SHARED_TABLE);
  assert.equal(t.rows, 3138);
  assert.equal(t.dim, 300);
  assert.equal(t.tokens.length, 3137);
  const path = join(tmp, MOL2VEC_FILE);
  writeFileSync(path, encodeMol2vecTable(t));
  const back = readMol2vecTable(path);
  assert.deepEqual(back.tokens, t.tokens);
  assert.deepEqual(back.vectors, t.vectors);
  assert.equal(back.source, SHARED_TABLE);
});

test('training config: model.atoms is checked and errors name the field', () => {
  const file = { data: { sources: ['x.tsv'] } };
  const bad = (overrides: string[], pattern: RegExp) => assert.throws(() => resolveTrainConfig(file, overrides, 't.json'), (e: Error) => e instanceof ConfigError && pattern.test(e.message));
  bad(['model.atoms.input=onehot'], /model\.atoms\.input/);
  bad(['model.atoms.radius=2'], /model\.atoms\.radius/);
  bad(['model.atoms.mol2vec=""'], /model\.atoms\.mol2vec/);
  bad(['model.atoms.table=x'], /model\.atoms.*table/);
  const ok = resolveTrainConfig(file, ['model.atoms.input=mol2vec', 'model.atoms.radius=0'], 't.json');
  assert.deepEqual(ok.model.atoms, { input: 'mol2vec', radius: 0, mol2vec: '../shared/data/mol2vec/' });
});

test('a short Mol2vec training run: its checkpoint is a model folder with the table; a bad table path names the field', { skip: !existsSync(SHARED_TABLE) }, async () => {
  const fixtures = join(PACKAGE_ROOT, 'test', 'fixtures', 'train');
  const config = (overrides: string[]) => {
    const file = JSON.parse(readFileSync(join(fixtures, 'tiny.json'), 'utf8')) as { data: Record<string, unknown> };
    file.data.sources = [join(fixtures, 'pairs-train.tsv')];
    file.data.validation = [{ name: 'val', file: join(fixtures, 'pairs-val.tsv') }];
    file.data.cache = join(tmp, 'cache');
    return resolveTrainConfig(file, ['model.atoms.input=mol2vec', `model.atoms.mol2vec=${SHARED_TABLE}`, ...overrides], 'tiny.json');
  };
  const quiet = { log: () => {}, progress: null };
  const out = join(tmp, 'run');
  const r = await trainOrma({ config: config([]), out, maxSteps: 3, ...quiet });
  assert.equal(r.steps, 3);
  const b = loadOrmaModel(join(out, 'last'));
  assert.equal(b.config.orma.molecule.atomInput, 'mol2vec');
  assert.equal(b.config.orma.molecule.mol2vecRadius, 1);
  assert.equal(b.model.molecules.mol2vec!.table.rows, 3138);
  b.model.dispose();
  await assert.rejects(trainOrma({ config: config(['model.atoms.mol2vec=/nonexistent/mol2vec']), out: join(tmp, 'bad'), maxSteps: 1, ...quiet }),
    (e: Error) => e instanceof ConfigError && /model\.atoms\.mol2vec: .*nonexistent/.test(e.message));
  await assert.rejects(trainOrma({ config: config(['model.orma={"molecule":{"hidden":32,"layers":2,"dropout":0,"atomInput":"mol2vec"}}']), out: join(tmp, 'bad2'), maxSteps: 1, ...quiet }),
    (e: Error) => e instanceof ConfigError && /model\.orma\.molecule\.atomInput/.test(e.message));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
