// With the official fixed slots, pairs whose molecule does not fit them are left out and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withinSlots } from '../../src/train/train-orma.js';
import type { Pair } from '../../src/data/training-set.js';

const pair = (id: string, numAtoms: number, numMotifs: number) => ({ id, graph: { numAtoms, numMotifs } }) as unknown as Pair;

test('withinSlots keeps the molecules that fit the slots and logs how many it left out', () => {
  const lines: string[] = [];
  const pairs = [pair('a', 580, 140), pair('b', 581, 3), pair('c', 30, 141), pair('d', 12, 0)];
  const kept = withinSlots(pairs, { atoms: 580, motifs: 140 }, 'training', (l) => lines.push(l));
  assert.deepEqual(kept.map((p) => p.id), ['a', 'd']);
  assert.deepEqual(lines, ['data: training: 2 pairs left out, their molecules over the slots (580 atoms, 140 motifs)']);
  assert.equal(withinSlots(kept, { atoms: 580, motifs: 140 }, 'training', (l) => lines.push(l)).length, 2);
  assert.equal(lines.length, 1, 'nothing logged when every molecule fits');
});
