#!/usr/bin/env node
// Hits@k curves (k = 1..100, log axis, both directions) from `orma eval --ranks FILE` files, as one SVG.
//   node scripts/hits-curves.mjs OUT.svg "NAME=RANKS.tsv" ["NAME=RANKS.tsv" ...] [--title T] [--max-k 100]
// (after `npm run build`: the curve and the renderer are dist/src/eval/plot.js)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hitsCurvesSvg } from '../dist/src/eval/plot.js';
import { writeFileAtomic } from '../dist/src/util/fs.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string' }, 'max-k': { type: 'string' }, help: { type: 'boolean' } } });
if (values.help || positionals.length < 2) {
  console.error('usage: node scripts/hits-curves.mjs OUT.svg NAME=RANKS.tsv [...] [--title T] [--max-k 100]');
  process.exit(values.help ? 0 : 2);
}
const [out, ...inputs] = positionals;
const series = inputs.flatMap((arg) => {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new Error(`'${arg}': expected NAME=RANKS.tsv`);
  const name = arg.slice(0, eq), file = arg.slice(eq + 1);
  const by = { text_to_molecule: [], molecule_to_text: [] };
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (i === 0 || line === '') return;
    const [direction, , rank] = line.split('\t');
    if (!(direction in by) || !(Number(rank) >= 1)) throw new Error(`${file}:${i + 1}: expected 'direction<TAB>line<TAB>rank', got '${line}'`);
    by[direction].push(Number(rank));
  });
  return Object.entries(by).filter(([, r]) => r.length).map(([direction, ranks]) => ({ name, direction, ranks }));
});
const maxK = Number(values['max-k'] ?? 100);
writeFileAtomic(out, await hitsCurvesSvg(series, values.title ?? 'Hits@k', maxK));
console.error(`wrote ${out} (${series.length} curve(s))`);
