// The ORMA and the global-only training step in the steady state: the same batches run in several passes,
// per pass the median step, minor page faults, system CPU time and caching-allocator misses (the first pass
// pays the first touch of the ORMA step's larger working set; docs/model.md). With --threads T,B libtorch
// gets T threads and OpenBLAS B (the default sets both to every CPU).
//   node dist/bench/step-passes.js [--batches N] [--passes N] [--threads T,B]    (data: ../shared/data or ORMA_DATA)
import { parseArgs } from 'node:util';
import { AdamW, memoryStats, setBlasThreads, setNumThreads, tidy } from '../src/tensor/index.js';
import { batchGraphs } from '../src/data/graph-batch.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { machineInfo } from './machine.js';
import { initialModel, stepBatches } from './step-batches.js';

const { values } = parseArgs({ options: { batches: { type: 'string' }, passes: { type: 'string' }, threads: { type: 'string' } } });
const nBatches = Number(values.batches ?? 8), passes = Number(values.passes ?? 4);
if (values.threads) {
  const [t, b] = values.threads.split(',').map(Number);
  setNumThreads(t!);
  setBlasThreads(b ?? t!);
}
const { batches, tokenizer } = await stepBatches(nBatches + 1);
const model = initialModel(tokenizer.vocab.size);
const opt = new AdamW(model.parameters(), { lr: 1e-4 });
const step = (b: (typeof batches)[number], grains: 'all' | 'global') => tidy(() => {
  const t = model.encodeText(b.texts), m = model.encodeMolecules(batchGraphs(b.graphs));
  (grains === 'global' ? symmetricInfoNce(model.scores(t, m, { grains }).global) : model.loss(model.scores(t, m)).total).backward();
  opt.step();
  opt.zeroGrad();
});
step(batches[0]!, 'all');
step(batches[0]!, 'global');
const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1]!;
const round = (x: number) => Number(x.toFixed(1));
const out: Record<string, unknown>[] = [];
const steady: Record<'all' | 'global', number[]> = { all: [], global: [] };
for (let pass = 1; pass <= passes; pass++) for (const grains of ['all', 'global'] as const) {
  const r0 = process.resourceUsage(), m0 = memoryStats(), ms: number[] = [];
  for (const b of batches.slice(1)) { const t = performance.now(); step(b, grains); ms.push(performance.now() - t); }
  const r1 = process.resourceUsage(), m1 = memoryStats(), n = ms.length;
  if (pass > 1) steady[grains].push(...ms);
  out.push({ pass, step: grains === 'all' ? 'orma' : 'global_only', median_ms: round(median(ms)), minor_faults_per_step: Math.round((r1.minorPageFault - r0.minorPageFault) / n),
    system_ms_per_step: round((r1.systemCPUTime - r0.systemCPUTime) / 1000 / n), user_ms_per_step: round((r1.userCPUTime - r0.userCPUTime) / 1000 / n),
    allocator_misses: m1.cacheMisses - m0.cacheMisses, allocator_hits: m1.cacheHits - m0.cacheHits });
}
const orma = median(steady.all), global = median(steady.global);
console.log(JSON.stringify({ benchmark: 'orma step, steady state', machine: machineInfo(), config: { batches: nBatches, passes, batch: 32 },
  steady_state: { orma_median_ms: round(orma), global_only_median_ms: round(global), ratio: Number((orma / global).toFixed(3)), steps_each: steady.all.length }, passes: out }));
