import { batchGraphs } from '../src/data/graph-batch.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { localScores, midScores } from '../src/model/scores.js';
import { keep, profile, tidy, type Tensor } from '../src/tensor/index.js';
import { initialModel, stepBatches } from './step-batches.js';
import { readFileSync } from 'node:fs';
const { batches, tokenizer } = await stepBatches(2);
const model = initialModel(tokenizer.vocab.size);
const leaf = (x: Tensor) => keep(x.detach().requiresGrad_(true));
const x = tidy(() => { const t = model.encodeText(batches[1]!.texts); const m = model.encodeMolecules(batchGraphs(batches[1]!.graphs));
  return { tokens: leaf(t.tokens), multi: leaf(t.multiTokens), tmask: keep(t.mask), atoms: leaf(m.atoms), amask: keep(m.atomMask), motifs: leaf(m.motifs), mmask: keep(m.motifMask) }; });
const local = process.argv.includes('--local');
const run = () => tidy(() => symmetricInfoNce((local ? localScores(x.tokens, x.tmask, x.atoms, x.amask, { cosine: true }) : midScores(x.multi, x.tmask, x.motifs, x.mmask, { cosine: true })).mul(14)).backward());
run(); run();
profile(run, { trace: '/tmp/mp/trace.json' });
const ev = (JSON.parse(readFileSync('/tmp/mp/trace.json', 'utf8')) as any[]).filter((e) => e.ph === 'X').sort((a, b) => a.ts - b.ts);
// top-level only
let end = -1; const top: string[] = [];
for (const e of ev) { if (e.ts >= end) { top.push(`${e.name} ${(e.dur/1000).toFixed(2)}`); end = e.ts + e.dur; } }
console.log(top.length); console.log(top.join('\n'));
