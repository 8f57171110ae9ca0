// Hits@k curves: the running count against a direct count, and the SVG's presence of both panels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hitsAtK, hitsCurvesSvg } from '../../src/eval/plot.js';

test('hitsAtK equals the share of ranks <= k for every k (ranks past maxK count nowhere)', () => {
  const ranks = [1, 1, 2, 5, 7, 10, 11, 400, 3, 2];
  const curve = hitsAtK(ranks, 12);
  assert.equal(curve.length, 12);
  curve.forEach((h, i) => assert.equal(h, (100 * ranks.filter((r) => r <= i + 1).length) / ranks.length));
  assert.deepEqual(hitsAtK([3], 2), [0, 0]);
});

test('hitsCurvesSvg draws one panel per direction with every series', async () => {
  const svg = await hitsCurvesSvg([
    { name: 'model A', direction: 'text_to_molecule', ranks: [1, 2, 3] },
    { name: 'model A', direction: 'molecule_to_text', ranks: [1, 5] },
    { name: 'model B', direction: 'text_to_molecule', ranks: [4, 4] },
  ], 'a title', 20);
  assert.match(svg, /^<svg/);
  for (const s of ['a title', 'text → molecule', 'molecule → text', 'model A', 'model B', 'Hits@k']) assert.ok(svg.includes(s), s);
});
