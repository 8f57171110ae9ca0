// The molecule encoder's two GNNs: gradients (float64 finite differences), batch independence, and
// GINE's use of bond features and edge types (the GCN ignores them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, setDefaultDtype, tidy } from '../../src/tensor/index.js';
import { initRDKit, buildHierGraph } from '../../src/chem/index.js';
import { batchGraphs } from '../../src/data/graph-batch.js';
import { MoleculeEncoder } from '../../src/model/molecule-encoder.js';
import { assertGradcheck } from '../helpers/gradcheck.js';

const SMILES = ['CC(=O)Oc1ccccc1C(=O)O', 'C=CC(=O)N', 'CCO'];

test('GINE molecule encoder: gradcheck of every parameter', async () => {
  await initRDKit();
  setDefaultDtype('float64');
  try {
    manualSeed(4);
    const enc = new MoleculeEncoder({ hidden: 6, layers: 2, dropout: 0, conv: 'gine' }).eval();
    try {
      tidy(() => {
      const b = batchGraphs(SMILES.map((s) => buildHierGraph(s)));
      const params = enc.parameters();
      const r = assertGradcheck(() => enc.forward(b).sum(1).pow(2).sum(), params, { wrt: params.map((_, i) => i) }, 'gine encoder');
      assert.ok(r.checked > 0);
      });
    } finally {
      enc.dispose();
    }
  } finally {
    setDefaultDtype('float32');
  }
});

test('a molecule\'s node vectors do not depend on the rest of the batch (GCN and GINE)', async () => {
  await initRDKit();
  for (const conv of ['gcn', 'gine'] as const) {
    manualSeed(5);
    const enc = new MoleculeEncoder({ hidden: 16, layers: 3, dropout: 0, conv, residual: true }).eval();
    noGrad(() => tidy(() => {
      const graphs = SMILES.map((s) => buildHierGraph(s));
      const all = enc.forward(batchGraphs(graphs));
      const alone = enc.forward(batchGraphs([graphs[1]!]));
      const offset = graphs[0]!.numNodes;
      const same = all.narrow(0, offset, graphs[1]!.numNodes);
      assert.ok(same.sub(alone).abs().max().item() < 1e-5, `${conv}: batch-dependent vectors`);
    }));
    enc.dispose();
  }
});

test('GINE sees bond features and edge types; the GCN sees neither', async () => {
  await initRDKit();
  for (const conv of ['gcn', 'gine'] as const) {
    manualSeed(6);
    const enc = new MoleculeEncoder({ hidden: 16, layers: 2, dropout: 0, conv }).eval();
    noGrad(() => tidy(() => {
      const b = batchGraphs([buildHierGraph('C=CC(=O)N')]);
      const base = enc.forward(b);
      const bonds = enc.forward({ ...b, bondFeatures: b.bondFeatures.mul(0).long() });
      const types = enc.forward({ ...b, edgeType: b.edgeType.mul(0).long() });
      const moved = (x: typeof base) => x.sub(base).abs().max().item();
      if (conv === 'gine') {
        assert.ok(moved(bonds) > 1e-4 && moved(types) > 1e-4, 'GINE ignored its edge inputs');
      } else {
        assert.equal(moved(bonds), 0);
        assert.equal(moved(types), 0);
      }
    }));
    enc.dispose();
  }
});
