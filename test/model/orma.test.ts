// The ORMA model end to end on real molecules and descriptions: shapes, scores that depend only on
// their pair, every grain's loss reaching the GNN (unless the official detaching is switched on), and
// a small overfitting run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AdamW, dispose, liveTensorCount, manualSeed, noGrad, tidy } from '../../src/tensor/index.js';
import { initRDKit, buildHierGraph } from '../../src/chem/index.js';
import { BertTokenizer } from '../../src/text/index.js';
import { batchGraphs } from '../../src/data/graph-batch.js';
import { Orma, type OrmaConfig } from '../../src/model/orma.js';
import { DEFAULT_ORMA } from '../../src/model/config.js';
import { DEFAULT_MODEL_DIR } from '../../src/util/paths.js';

const PAIRS: [string, string][] = [
  ['CC(=O)Oc1ccccc1C(=O)O', 'The molecule is a member of the class of benzoic acids that is salicylic acid in which the hydrogen of the phenolic hydroxy group is replaced by an acetoxy group.'],
  ['OC(=O)CCc1ccc2ccccc2c1', 'The molecule is a naphthalene carrying a 2-carboxyethyl substituent.'],
  ['CCO', 'The molecule is a primary alcohol that is ethane in which one of the hydrogens is substituted by a hydroxy group.'],
  ['c1ccc2ccccc2c1', 'The molecule is an ortho-fused bicyclic arene consisting of two fused benzene rings.'],
  ['C[N+](C)(C)CC(=O)[O-]', 'The molecule is an amino-acid betaine that is glycine in which the nitrogen carries three methyl groups.'],
  ['OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O', 'The molecule is a hexopyranose, a glucose in pyranose form.'],
];

const tokenizer = BertTokenizer.fromVocabFile(join(DEFAULT_MODEL_DIR, 'vocab.txt'));
const BERT = { vocabSize: tokenizer.vocab.size, hidden: 32, layers: 2, heads: 2, ffn: 64, maxPositions: 128, dropout: 0.1 };
const CONFIG: OrmaConfig = { ...DEFAULT_ORMA, dim: 16, molecule: { hidden: 16, layers: 3, dropout: 0.1 } };

async function data(indices: number[]) {
  await initRDKit();
  return {
    texts: tokenizer.encodeBatch(indices.map((i) => PAIRS[i]![1])),
    graphs: batchGraphs(indices.map((i) => buildHierGraph(PAIRS[i]![0]))),
  };
}

test('scores of every text-molecule pair, each depending only on its pair', async () => {
  manualSeed(1);
  const model = new Orma(CONFIG, BERT).eval();
  const all = await data([0, 1, 2, 3, 4, 5]);
  const one = { text: await data([2]), mol: await data([4]) };
  noGrad(() => tidy(() => {
    const s = model.scores(model.encodeText(all.texts), model.encodeMolecules(all.graphs));
    for (const g of [s.global, s.local, s.mid, s.fused]) assert.deepEqual(g.shape, [6, 6]);
    const single = model.scores(model.encodeText(one.text.texts), model.encodeMolecules(one.mol.graphs));
    for (const k of ['global', 'local', 'mid', 'fused'] as const) {
      const full = s[k].select(0, 2).select(0, 4).item();
      assert.ok(Math.abs(single[k].item() - full) < 1e-3 * Math.max(1, Math.abs(full)), `${k}: ${single[k].item()} alone vs ${full} in the batch`);
    }
  }));
  model.dispose();
});

test('every grain trains the GNN; the official detaching cuts the fine grains off', async () => {
  const batch = await data([0, 1, 2, 3]);
  for (const detach of [false, true]) {
    manualSeed(2);
    const model = new Orma({ ...CONFIG, detachNodeVectors: detach }, BERT).train();
    const conv = model.molecules.convs[0]!.weight;
    for (const grain of ['global', 'local', 'mid'] as const) {
      tidy(() => {
        model.loss(model.scores(model.encodeText(batch.texts), model.encodeMolecules(batch.graphs)))[grain].backward();
        const g = conv.grad;
        const norm = g ? g.norm().item() : 0;
        if (grain === 'global' || !detach) assert.ok(norm > 0, `${grain} loss should reach the GNN (detach ${detach})`);
        else assert.equal(norm, 0, `${grain} loss reached the GNN despite detachNodeVectors`);
        conv.zeroGrad();
        for (const p of model.parameters()) p.zeroGrad();
      });
    }
    model.dispose();
  }
});

test('a few steps on six pairs overfit them', async () => {
  manualSeed(3);
  const before = liveTensorCount();
  // no dropout, so that 100 steps are enough to memorise
  const model = new Orma({ ...CONFIG, molecule: { ...CONFIG.molecule, dropout: 0 } }, { ...BERT, dropout: 0 }).train();
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  const batch = await data([0, 1, 2, 3, 4, 5]);
  const losses: number[] = [];
  for (let step = 0; step < 100; step++) {
    losses.push(tidy(() => {
      const loss = model.loss(model.scores(model.encodeText(batch.texts), model.encodeMolecules(batch.graphs))).total;
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    }));
  }
  // OT assignments flip as the vectors move, so the loss is not monotonic: judge the last ten steps
  const late = Math.min(...losses.slice(-10));
  assert.ok(late < 0.2 * losses[0]!, `loss ${losses[0]} -> ${late}`);
  model.eval();
  const correct = noGrad(() => tidy(() => {
    const fused = model.scores(model.encodeText(batch.texts), model.encodeMolecules(batch.graphs)).fused;
    return fused.argmax(1).toNumbers().filter((j, i) => j === i).length;
  }));
  assert.equal(correct, 6);
  opt.dispose();
  model.dispose();
  dispose(batch.graphs);
  assert.equal(liveTensorCount(), before, 'tensors leaked');
});

test('a molecule without motifs scores at the mid grain as a one-motif molecule (its molecule node), or 0 with zeroMotifs none', async () => {
  await initRDKit();
  const naphthalene = buildHierGraph('c1ccc2ccccc2c1', { noBricsFallback: 'none' });
  assert.equal(naphthalene.numMotifs, 0);
  const texts = tokenizer.encodeBatch([PAIRS[0]![1], PAIRS[1]![1]]);
  for (const zeroMotifs of ['molecule', 'none'] as const) {
    manualSeed(5);
    const model = new Orma({ ...CONFIG, zeroMotifs }, BERT).eval();
    noGrad(() => tidy(() => {
      const graphs = batchGraphs([naphthalene, buildHierGraph(PAIRS[0]![0])]);
      const m = model.encodeMolecules(graphs);
      const mid = model.scores(model.encodeText(texts), m).mid;
      const scale = model.scales().mid as ReturnType<typeof mid.select>;
      const cosines = mid.div(scale).toNumbers();
      if (zeroMotifs === 'none') {
        assert.equal(cosines[0], 0); assert.equal(cosines[2], 0);
      } else {
        // its one key is the motif head applied to its molecule node
        const expected = model.motifHead.forward(model.molecules.forward(graphs).indexSelect(0, graphs.moleculeIndex)).select(0, 0);
        assert.ok(m.motifs.select(0, 0).select(0, 0).sub(expected).abs().max().item() < 1e-5);
        for (const c of [cosines[0]!, cosines[2]!]) assert.ok(c !== 0 && Math.abs(c) <= 1 + 1e-5, `cosine ${c}`);
      }
      assert.ok(cosines.every(Number.isFinite));
    }));
    model.dispose();
  }
});

test('the official preset trains (same-slot pairing, raw logits, argmin, padded slots) and still scores any pair in eval mode', async () => {
  const { ORMA_PRESETS } = await import('../../src/model/config.js');
  manualSeed(6);
  // the preset's 256 token slots, in a test BERT of 128 positions: fewer slots, the same code
  assert.deepEqual(ORMA_PRESETS.official.slots, { tokens: 256, atoms: 580, motifs: 140 });
  const model = new Orma({ ...ORMA_PRESETS.official, slots: { tokens: 96, atoms: 40, motifs: 12 }, dim: 16, molecule: CONFIG.molecule }, BERT).train();
  const batch = await data([0, 1, 2, 3]);
  tidy(() => {
    const loss = model.loss(model.scores(model.encodeText(batch.texts), model.encodeMolecules(batch.graphs)));
    assert.ok(Number.isFinite(loss.total.item()));
    loss.total.backward();
    assert.ok(model.temp!.grad!.abs().item() > 0, 'the official exp(temp) gets a gradient');
  });
  model.eval();
  const one = await data([2]);
  noGrad(() => tidy(() => {
    const s = model.scores(model.encodeText(one.texts), model.encodeMolecules(batch.graphs));
    assert.deepEqual(s.fused.shape, [1, 4]);
  }));
  model.dispose(); dispose(batch.graphs); dispose(one.graphs);
});

test('the official padded slots: the text encoder runs on every slot, scores stay per pair, a step trains, the pool scorer agrees', async () => {
  const { createOrma } = await import('../../src/model/factory.js');
  const { encodeTexts, encodeMolecules, disposeEncoded } = await import('../../src/eval/retrieval.js');
  const { PoolScorer } = await import('../../src/model/pool-scores.js');
  manualSeed(7);
  const slots = { tokens: 64, atoms: 40, motifs: 12 };
  const bundle = createOrma({ orma: { ...CONFIG, slots }, text: BERT, tokenizer, maxLength: 64 });
  const model = bundle.model.eval();
  const all = await data([0, 1, 2, 3, 4, 5]);
  const one = { text: await data([2]), mol: await data([4]) };
  noGrad(() => tidy(() => {
    const t = model.encodeText(all.texts);
    assert.equal(t.tokens.size(1), 64, 'every token slot');
    const s = model.scores(t, model.encodeMolecules(all.graphs));
    const single = model.scores(model.encodeText(one.text.texts), model.encodeMolecules(one.mol.graphs));
    for (const k of ['local', 'mid', 'fused'] as const) {
      const full = s[k].select(0, 2).select(0, 4).item();
      assert.ok(Math.abs(single[k].item() - full) < 1e-3 * Math.max(1, Math.abs(full)), `${k}: ${single[k].item()} alone vs ${full} in the batch`);
    }
    // the same weights with masked padding score otherwise
    const masked = new Orma({ ...CONFIG, slots: null }, model.text.bert.config);
    masked.loadStateDict(model.stateDict());
    assert.ok(masked.eval().scores(model.encodeText(all.texts), model.encodeMolecules(all.graphs)).local.sub(s.local).abs().max().item() > 1e-3);
    masked.dispose();
    // the pool scorer (evaluation, reranking) scores such a model through the same functions
    const ids = PAIRS.map(([, text]) => tokenizer.encode(text, { maxLength: 64 }).ids);
    const et = encodeTexts(bundle, ids), em = encodeMolecules(bundle, PAIRS.map(([smiles]) => buildHierGraph(smiles)));
    const pool = new PoolScorer(model, et, em);
    const diff = pool.fused([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]).sub(s.fused).abs().max().item();
    assert.ok(diff < 1e-4, `pool scorer vs scores: ${diff}`);
    pool.dispose(); disposeEncoded(et); disposeEncoded(em);
  }));
  model.train();
  tidy(() => {
    const loss = model.loss(model.scores(model.encodeText(all.texts), model.encodeMolecules(all.graphs))).total;
    assert.ok(Number.isFinite(loss.item()));
    loss.backward();
  });
  assert.throws(() => model.encodeText(tokenizer.encodeBatch([PAIRS[0]![1].repeat(4)], { maxLength: 100 })), /does not fit 64 token slots/);
  model.dispose(); dispose(all.graphs); dispose(one.text.graphs); dispose(one.mol.graphs);
});
