// Hits@k curves (the share of queries whose gold item ranks at most k, k = 1..maxK) from `orma eval --ranks`
// files, both directions side by side, drawn by Vega-Lite (util/vega.ts).
import { vegaLiteSvg } from '../util/vega.js';

export interface RankSeries { name: string; direction: 'text_to_molecule' | 'molecule_to_text'; ranks: ArrayLike<number> }

/** Hits@k in percent for k = 1..maxK: one pass over the ranks, then a running sum. */
export function hitsAtK(ranks: ArrayLike<number>, maxK: number): number[] {
  const count = new Float64Array(maxK + 1);
  for (let i = 0; i < ranks.length; i++) if (ranks[i]! <= maxK) count[ranks[i]!]!++;
  const out: number[] = [];
  let sum = 0;
  for (let k = 1; k <= maxK; k++) out.push((100 * (sum += count[k]!)) / ranks.length);
  return out;
}

export async function hitsCurvesSvg(series: readonly RankSeries[], title: string, maxK = 100): Promise<string> {
  const label = { text_to_molecule: 'text → molecule', molecule_to_text: 'molecule → text' } as const;
  const values = series.flatMap((s) => hitsAtK(s.ranks, maxK).map((hits, k) => ({ k: k + 1, hits, series: s.name, direction: label[s.direction] })));
  return vegaLiteSvg({
    title, data: { values },
    facet: { column: { field: 'direction', type: 'nominal', title: null, sort: [label.text_to_molecule, label.molecule_to_text] } },
    spec: {
      width: 360, height: 260, mark: { type: 'line' },
      encoding: {
        x: { field: 'k', type: 'quantitative', title: 'k', scale: { type: 'log', domain: [1, maxK] } },
        y: { field: 'hits', type: 'quantitative', title: 'Hits@k (%)', scale: { domain: [0, 100] } },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
  });
}
