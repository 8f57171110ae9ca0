// HierGraph layout (nodes, edges, switches), motif fallbacks, serialization, the on-disk cache and depiction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { initRDKit, canonicalSmiles } from '../../src/chem/rdkit.js';
import {
  buildHierGraph, motifLists, atomMotifs, edgeBondFeatures, EDGE_BOND, EDGE_ATOM_MOTIF, EDGE_MOTIF_MOLECULE, EDGE_ATOM_MOLECULE,
  EDGE_MOTIF_ATOM, EDGE_MOLECULE_MOTIF, EDGE_MOLECULE_ATOM, NODE_ATOM, NODE_MOTIF, NODE_MOLECULE, type HierGraph,
} from '../../src/chem/hiergraph.js';
import { decomposeMotifs } from '../../src/chem/motifs.js';
import { serializeHierGraph, deserializeHierGraph, packHierGraphs, unpackHierGraphs, GraphFormatError } from '../../src/chem/serialize.js';
import { depictMotifs, depictSvg, MOTIF_PALETTE } from '../../src/chem/depict.js';
import { GraphCache } from '../../src/data/graph-cache.js';
import { REPO } from './helpers.js';

await initRDKit();

const edgesOfType = (g: HierGraph, type: number) =>
  Array.from(g.edgeType.keys()).filter((e) => g.edgeType[e] === type).map((e) => [g.edgeSrc[e], g.edgeDst[e]]);

test('aspirin graph: node order, both-direction bond edges, upward edges only by default', () => {
  const g = buildHierGraph('CC(=O)Oc1ccccc1C(=O)O');
  assert.equal(g.numAtoms, 13); assert.equal(g.numMotifs, 4); assert.equal(g.numNodes, 18);
  assert.deepEqual(Array.from(g.nodeType), [...Array(13).fill(NODE_ATOM), ...Array(4).fill(NODE_MOTIF), NODE_MOLECULE]);
  const bonds = edgesOfType(g, EDGE_BOND);
  assert.equal(bonds.length, 26);
  for (let b = 0; b < g.numBonds; b++) {
    assert.deepEqual(bonds[2 * b], [g.bondAtoms[2 * b], g.bondAtoms[2 * b + 1]]);
    assert.deepEqual(bonds[2 * b + 1], [g.bondAtoms[2 * b + 1], g.bondAtoms[2 * b]]);
  }
  assert.deepEqual(edgesOfType(g, EDGE_ATOM_MOTIF), [[0, 13], [1, 13], [2, 13], [4, 14], [5, 14], [6, 14], [7, 14], [8, 14], [9, 14], [10, 15], [11, 15], [12, 15], [3, 16]]);
  assert.deepEqual(edgesOfType(g, EDGE_MOTIF_MOLECULE), [[13, 17], [14, 17], [15, 17], [16, 17]]);
  for (const t of [EDGE_ATOM_MOLECULE, EDGE_MOTIF_ATOM, EDGE_MOLECULE_MOTIF, EDGE_MOLECULE_ATOM]) assert.equal(edgesOfType(g, t).length, 0);
  assert.equal(g.bondFeatures.length, 13 * 4);
  const perEdge = edgeBondFeatures(g);
  assert.equal(perEdge.length, 26 * 4);
  // edge 12/13 = bond 6 (aromatic ring bond): AROMATIC, no stereo, conjugated, in ring
  assert.deepEqual(Array.from(perEdge.subarray(12 * 4, 14 * 4)), [3, 0, 1, 1, 3, 0, 1, 1]);
  assert.deepEqual(Array.from(perEdge.subarray(0, 4)), [0, 0, 0, 0]); // C-C single, not conjugated
});

test('downward edges switch mirrors the upward hierarchy', () => {
  const up = buildHierGraph('OC(=O)CCc1ccc2ccccc2c1');
  const down = buildHierGraph('OC(=O)CCc1ccc2ccccc2c1', { downwardEdges: true });
  const flip = (pairs: (number | undefined)[][]) => pairs.map(([s, d]) => [d, s]);
  assert.deepEqual(edgesOfType(down, EDGE_MOTIF_ATOM), flip(edgesOfType(up, EDGE_ATOM_MOTIF)));
  assert.deepEqual(edgesOfType(down, EDGE_MOLECULE_MOTIF), flip(edgesOfType(up, EDGE_MOTIF_MOLECULE)));
  // fused rings share atoms 8 and 13: membership lists say so
  assert.deepEqual(atomMotifs(up)[8], [1, 2]);
});

test('no-BRICS fallback: official none (atoms -> molecule), whole molecule, or rings', () => {
  const none = buildHierGraph('c1ccc2ccccc2c1', { noBricsFallback: 'none', downwardEdges: true });
  assert.equal(none.numMotifs, 0);
  assert.equal(edgesOfType(none, EDGE_ATOM_MOLECULE).length, 10);
  assert.equal(edgesOfType(none, EDGE_MOLECULE_ATOM).length, 10);
  const whole = buildHierGraph('c1ccc2ccccc2c1', { noBricsFallback: 'molecule' });
  assert.deepEqual(motifLists(whole), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  assert.equal(whole.motifFallback, true);
  assert.deepEqual(motifLists(buildHierGraph('c1ccc2ccccc2c1')), [[0, 1, 2, 3, 8, 9], [3, 4, 5, 6, 7, 8]]);
  assert.deepEqual(motifLists(buildHierGraph('Oc1ccccc1')), [[0], [1, 2, 3, 4, 5, 6]]);
  assert.deepEqual(motifLists(buildHierGraph('CCCCC(=O)O')), [[0, 1, 2, 3, 4, 5, 6]]);
  // molecules with official motifs are untouched by the fallback
  assert.equal(buildHierGraph('CC(=O)Oc1ccccc1C(=O)O').motifFallback, false);
});

test('motif rule on small graphs: singletons, bond-less atoms, single atoms', () => {
  // chain 0-1-2-3 with BRICS bond (1,2): two components
  const chain = { numAtoms: 4, bondBegin: [0, 1, 2], bondEnd: [1, 2, 3], rings: [] };
  assert.deepEqual(decomposeMotifs({ ...chain, bricsBonds: [[1, 2]] }).motifs, [[0, 1], [2, 3]]);
  // star: atom 1 bonded to 0, 2, 3 only by BRICS bonds -> singleton after the components
  assert.deepEqual(decomposeMotifs({ numAtoms: 5, bondBegin: [0, 1, 1, 3], bondEnd: [1, 2, 3, 4], rings: [], bricsBonds: [[1, 0], [1, 2], [1, 3]] }).motifs, [[3, 4], [1], [0], [2]]);
  // a free ion (atom 2, no bonds) belongs to no motif
  assert.deepEqual(decomposeMotifs({ numAtoms: 3, bondBegin: [0], bondEnd: [1], rings: [], bricsBonds: [] }).motifs, [[0, 1]]);
  assert.deepEqual(decomposeMotifs({ numAtoms: 1, bondBegin: [], bondEnd: [], rings: [], bricsBonds: [] }).motifs, [[0]]);
});

test('binary serialization round-trips and rejects damage', () => {
  for (const smiles of ['CC(=O)Oc1ccccc1C(=O)O', 'C[C@H]([NH3+])C(=O)[O-].[Na+]', 'c1ccc2ccccc2c1', 'C']) {
    for (const downwardEdges of [false, true]) {
      const g = buildHierGraph(smiles, { downwardEdges });
      const bytes = serializeHierGraph(g);
      const back = deserializeHierGraph(bytes);
      assert.deepEqual(back, g, smiles);
      assert.ok(bytes.length < 60 + 14 * g.numAtoms + 10 * g.numBonds + 6 * g.motifAtoms.length + 4 * g.numMotifs, `compact: ${bytes.length} bytes`);
    }
  }
  const good = serializeHierGraph(buildHierGraph('CCO'));
  assert.throws(() => deserializeHierGraph(good.subarray(0, good.length - 3)), GraphFormatError);
  const bad = good.slice(); bad[0] = 0;
  assert.throws(() => deserializeHierGraph(bad), GraphFormatError);
  const graphs = ['CCO', 'c1ccccc1'].map((s) => buildHierGraph(s));
  const packed = Buffer.concat(packHierGraphs(graphs.map(serializeHierGraph)));
  assert.deepEqual(unpackHierGraphs(packed), graphs);
});

test('featurization cache: keyed by canonical SMILES, survives damage, safe with concurrent writers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-cache-'));
  try {
    const cache = new GraphCache(dir);
    const a = cache.getOrBuild('OC(=O)c1ccccc1OC(C)=O');
    assert.equal(a.hit, false);
    assert.equal(a.graph.smiles, canonicalSmiles('CC(=O)Oc1ccccc1C(=O)O'));
    const b = cache.getOrBuild('CC(=O)Oc1ccccc1C(=O)O'); // another spelling, same molecule
    assert.equal(b.hit, true);
    assert.deepEqual(b.graph, a.graph);
    // damage the file: read as a miss and rewritten
    const shard = readdirSync(cache.root).find((d) => !d.startsWith('.'))!;
    const file = join(cache.root, shard, readdirSync(join(cache.root, shard))[0]!);
    writeFileSync(file, 'garbage');
    assert.equal(cache.getOrBuild('CC(=O)Oc1ccccc1C(=O)O').hit, false);
    assert.equal(cache.getOrBuild('CC(=O)Oc1ccccc1C(=O)O').hit, true);
    // a molecule RDKit cannot canonicalize goes through the hypervalent fallback, uncached
    const hv = new GraphCache(dir, { allowHypervalent: true }).getOrBuild('FBr(F)(F)(F)F');
    assert.deepEqual([hv.hit, hv.graph.sanitized, hv.graph.numAtoms], [false, false, 6]);
    assert.throws(() => cache.getOrBuild('FBr(F)(F)(F)F'), /valence/);
    // a different option set lives in its own folder
    assert.notEqual(new GraphCache(dir, { downwardEdges: true }).root, cache.root);
    // two processes featurizing the same molecules into one cache at once
    const script = `import { initRDKit } from '${join(REPO, 'dist/src/chem/rdkit.js')}';
      import { GraphCache } from '${join(REPO, 'dist/src/data/graph-cache.js')}';
      await initRDKit(); const c = new GraphCache(process.argv[1]);
      for (let r = 0; r < 3; r++) for (const s of ['CCO','c1ccccc1O','CC(=O)Nc1ccc(O)cc1','CCN(CC)CC','OCC1OC(O)C(O)C(O)C1O']) c.getOrBuild(s);`;
    const runOne = () => new Promise<number>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 1)));
    assert.deepEqual(await Promise.all([runOne(), runOne()]), [0, 0]);
    const fresh = new GraphCache(dir);
    for (const s of ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'CCN(CC)CC', 'OCC1OC(O)C(O)C(O)C1O']) assert.equal(fresh.getOrBuild(s).hit, true, s);
    const leftovers = readdirSync(cache.root, { recursive: true }).filter((f) => String(f).endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('depiction: SVG from RDKit with one colour per motif, overlapping atoms multi-coloured', () => {
  const smiles = 'OC(=O)CCc1ccc2ccccc2c1';
  const g = buildHierGraph(smiles);
  const svg = depictMotifs(smiles, motifLists(g), { width: 320, height: 240 });
  assert.match(svg, /^<\?xml/);
  assert.match(svg, /<svg[^>]*width='320px'/);
  const hex = (c: readonly number[]) => '#' + c.map((v) => Math.floor(v * 255).toString(16).padStart(2, '0').toUpperCase()).join('');
  for (let k = 0; k < g.numMotifs; k++) assert.ok(svg.toUpperCase().includes(hex(MOTIF_PALETTE[k]!)), `motif ${k} colour`);
  const plain = depictSvg(smiles);
  assert.ok(!plain.toUpperCase().includes(hex(MOTIF_PALETTE[0]!)));
  assert.throws(() => depictSvg(smiles, { highlights: [{ atoms: [99], color: [1, 0, 0] }] }), RangeError);
});

test('the featurize command prints the documented JSON', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/orma.js'), 'featurize', '--smiles', 'CC(=O)Oc1ccccc1C(=O)O', '--json']);
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
  });
  const j = JSON.parse(out) as { smiles: string; atoms: unknown[]; bonds: unknown[]; brics_bonds: number[][]; motifs: number[][] };
  assert.deepEqual(Object.keys(j), ['smiles', 'atoms', 'bonds', 'brics_bonds', 'motifs']);
  assert.equal(j.atoms.length, 13); assert.equal(j.bonds.length, 13);
  assert.deepEqual(j.brics_bonds, [[1, 3], [3, 4], [10, 9]]);
  assert.deepEqual(j.motifs, [[0, 1, 2], [4, 5, 6, 7, 8, 9], [10, 11, 12], [3]]);
  assert.ok(readFileSync(join(REPO, 'src/cli/commands/index.ts'), 'utf8').includes("featurize:"));
});
