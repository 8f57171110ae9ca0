// Whole-pool fused scoring (what `orma eval --score fused` does): N texts against M molecules of ChEBI-20,
// the model's blockwise `scores(...).fused` as evaluate.ts called it before (64-text blocks, calls of at
// most 2^22 text-token × atom elements) against the pool path (src/model/pool-scores.ts). Prints pairs/s
// of each and the largest difference between them.
//   node dist/bench/fused.js [--texts 100] [--molecules 300] [--model DIR] [--data FILE] [--only old|new] [--repeat N] [--json]
//   (old and new alternate `repeat` times; the best time of each is reported)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getNumThreads, memoryStats, noGrad, releaseFreedBlocks, setAllocatorCacheLimit, tidy } from '../src/tensor/index.js';
import { buildHierGraph, initRDKit } from '../src/chem/index.js';
import { readPairFile } from '../src/data/datasets.js';
import { loadOrmaModel, type OrmaBundle } from '../src/model/factory.js';
import { disposeEncoded, encodeMolecules, encodeTexts, fusedScores, tokenizeTexts, type EncodedMolecules, type EncodedTexts } from '../src/eval/retrieval.js';
import { PoolScorer } from '../src/model/pool-scores.js';
import { DEFAULT_MODEL_DIR } from '../src/util/paths.js';

const { values } = parseArgs({ options: {
  texts: { type: 'string' }, molecules: { type: 'string' }, model: { type: 'string' }, data: { type: 'string' },
  only: { type: 'string' }, json: { type: 'boolean' }, block: { type: 'string' }, rows: { type: 'string' }, cols: { type: 'string' }, repeat: { type: 'string' }, blocks: { type: 'string' },
} });
const N = Number(values.texts ?? 100), M = Number(values.molecules ?? 300), blockTexts = Number(values.block ?? 64), repeat = Number(values.repeat ?? 1);
const file = values.data ?? join(resolve(process.env.ORMA_DATA ?? '../shared/data'), 'chebi20', 'selection.tsv');
if (!existsSync(file)) throw new Error(`${file} not found: set ORMA_DATA or --data`);
// memory as orma eval sets it up
if (process.env.ORMA_ALLOCATOR_CACHE_BYTES === undefined) setAllocatorCacheLimit(1 << 30);
if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined) releaseFreedBlocks();
await initRDKit();
const rows = readPairFile(file).rows;
if (rows.length < Math.max(N, M)) throw new Error(`${file} has ${rows.length} pairs, fewer than ${Math.max(N, M)}`);
const b: OrmaBundle = loadOrmaModel(values.model ?? DEFAULT_MODEL_DIR);
const f = b.config.featurizer;
const graphs = rows.slice(0, M).map((r) => buildHierGraph(r.smiles, { noBricsFallback: f.noBricsFallback, downwardEdges: f.downwardEdges }));
const ids = tokenizeTexts(b, rows.slice(0, N).map((r) => r.description!));
const t = encodeTexts(b, ids, { tokenBudget: 4096 }), m = encodeMolecules(b, graphs, { atomBudget: 4096 });   // as orma eval encodes them

/** evaluate.ts's fusedScorer.rows before the pool path: blocks of texts sorted by length, molecules by atoms. */
function oldRows(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules, texts: number[]): Float32Array {
  const atoms = m.atoms.lengths, Mm = atoms.length;
  const bySize = atoms.map((_, j) => j).sort((x, y) => atoms[x]! - atoms[y]! || x - y);
  const capacity = Math.max(1, Math.floor((1 << 22) / (texts.length * Math.max(1, ...texts.map((i) => t.tokens.lengths[i]!)))));
  const chunks: number[][] = [];
  let cur: number[] = [], sum = 0;
  for (const j of bySize) {
    if (cur.length && sum + atoms[j]! > capacity) { chunks.push(cur); cur = []; sum = 0; }
    cur.push(j); sum += atoms[j]!;
  }
  if (cur.length) chunks.push(cur);
  const out = new Float32Array(texts.length * Mm);
  for (const chunk of chunks) {
    const s = fusedScores(b, t, m, texts, chunk);
    texts.forEach((_, r) => chunk.forEach((j, c) => { out[r * Mm + j] = s[r * chunk.length + c]!; }));
  }
  return out;
}

const byLength = ids.map((_, i) => i).sort((x, y) => ids[x]!.length - ids[y]!.length || x - y);
let blocks: number[][] = [];
for (let s = 0; s < N; s += blockTexts) blocks.push(byLength.slice(s, s + blockTexts));
// --blocks K: score only the K blocks of the longest texts (a memory probe at full size without the full run)
if (values.blocks) blocks = blocks.slice(-Number(values.blocks));
const scored = blocks.reduce((n, b) => n + b.length, 0) * M;
const mib = (x: number) => Math.round(x / 2 ** 20);
if (!values.json) console.error(`encoded: RSS ${mib(process.memoryUsage().rss)} MB, tensors ${mib(memoryStats().allocatedBytes)} MB in use, ${mib(memoryStats().cachedBytes)} MB cached`);

// CPU seconds as well as wall-clock: beside a training run (or under nice) the wall clock mostly measures waiting
function run(label: string, rowsOf: (texts: number[]) => Float32Array): { seconds: number; cpuSeconds: number; scores: Float32Array; peakRssMB: number } {
  const out = new Float32Array(N * M);
  let peak = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const block of blocks) {
    const s = rowsOf(block);
    block.forEach((i, r) => out.set(s.subarray(r * M, (r + 1) * M), i * M));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0), cpuSeconds = (cu.user + cu.system) / 1e6;
  const ms = memoryStats();
  if (!values.json) console.error(`${label}: ${seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU, ${Math.round(scored / seconds)} pairs/s, ${Math.round(scored / cpuSeconds)} pairs per CPU-second, peak RSS ${mib(peak)} MB (tensors: peak ${mib(ms.peakBytes)} MB in use, ${mib(ms.cachedBytes)} MB cached)`);
  return { seconds, cpuSeconds, scores: out, peakRssMB: Math.round(peak / 2 ** 20) };
}

type Run = ReturnType<typeof run>;
const stats = (r: Run) => ({
  seconds: r.seconds, cpu_seconds: r.cpuSeconds, pairs_per_second: Math.round(scored / r.seconds),
  pairs_per_cpu_second: Math.round(scored / r.cpuSeconds), peak_rss_mb: r.peakRssMB,
});
const best = (runs: Run[]): Run => ({
  ...runs[0]!, seconds: Math.min(...runs.map((r) => r.seconds)), cpuSeconds: Math.min(...runs.map((r) => r.cpuSeconds)),
  peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
});
const result: Record<string, unknown> = {
  texts: N, molecules: M, pairs: scored, threads: getNumThreads(), model: values.model ?? DEFAULT_MODEL_DIR, data: file, block_texts: blockTexts,
  repeat, note: 'times are the best of `repeat` alternating runs; peak RSS is the process\'s (run --only old|new apart to compare memory)',
};
const olds: Run[] = [], news: Run[] = [];
const pool = values.only === 'old' ? null : new PoolScorer(b.model, t, m, { rowBudget: values.rows ? Number(values.rows) : undefined, colBudget: values.cols ? Number(values.cols) : undefined });
const all = Array.from({ length: M }, (_, j) => j);
for (let r = 0; r < repeat; r++) {
  if (values.only !== 'new') olds.push(run('model.scores blockwise (before)', (texts) => noGrad(() => tidy(() => oldRows(b, t, m, texts)))));
  if (pool) news.push(run('pool path (after)', (texts) => pool.fusedArray(texts, all)));
}
pool?.dispose();
const old = olds.length ? best(olds) : undefined, pooled = news.length ? best(news) : undefined;
if (old) result.before = stats(old);
if (pooled) result.after = stats(pooled);
if (old && pooled) {
  let maxDiff = 0, at = 0, over = 0;
  for (let k = 0; k < N * M; k++) {
    const d = Math.abs(old.scores[k]! - pooled.scores[k]!);
    if (d > 1e-4) over++;
    if (d > maxDiff) { maxDiff = d; at = k; }
  }
  result.speedup = Math.round((old.seconds / pooled.seconds) * 100) / 100;
  result.speedup_cpu = Math.round((old.cpuSeconds / pooled.cpuSeconds) * 100) / 100;
  // near-tied token -> motif assignments (symmetric molecules) flip with the rounding of the OT costs, as they
  // do between two blockings of the model's own blockwise scores
  result.pairs_differing_over_1e4 = over;
  result.max_abs_diff = maxDiff;
  result.max_abs_diff_at = { text: Math.floor(at / M), molecule: at % M, before: old.scores[at], after: pooled.scores[at] };
}
result.allocator = memoryStats();
disposeEncoded(t); disposeEncoded(m);
console.log(JSON.stringify(result, null, values.json ? 0 : 2));
