// Stage-1 stores at library scale: a synthetic library of N unit vectors (clustered, seeded), Q queries;
// stage-1 latency p50/p95 and recall@k against exact search for
//   (a) the exact store: the in-memory blocked matrix product (exact.ts), as `orma search` runs it
//       (float32 in memory below 2^26 values, else float16 widened per block);
//   (b) the LanceDB store, flat (an exact scan of the table);
//   (c) the LanceDB store through its ANN index (IVF_PQ, IVF_HNSW_SQ) at 2-3 search settings each;
// with each store's build time, disk size, and the process's peak RSS after each phase. Prints one JSON
// object (machine, config, numbers); progress and time estimates go to stderr.
//   node dist/bench/store.js [--size 1000000] [--queries 100] [--flat-queries 20] [--k 10] [--dim 256]
//                            [--clusters N] [--seed 0] [--ann ivf_pq,ivf_hnsw_sq] [--dir DIR] [--keep]
// The vectors are what a library of `orma index` holds: float16 unit vectors. "Exact" is the float32 dot
// product over those float16 vectors (one unblocked product per block of queries), so (a) and (b) have a
// recall of 1 up to ties, measured all the same. The library is clustered: C centres (C = N/500 by default),
// cluster sizes skewed (weight ∝ 1/(c+1)^0.7), each member centre + noise of a per-cluster spread in
// [0.35, 0.8] (relative to the centre's unit norm), normalised; queries are new members drawn the same way.
// Generation runs in chunks of 65,536 rows and the LanceDB table is written in batches of as many.
import { mulberry32 } from '../src/util/random.js';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad, normalize, randn, setNumThreads, tensor, tidy, keep, type Tensor } from '../src/tensor/index.js';
import { exactTopK } from '../src/search/exact.js';
import { annParams, defaultAnnSearch, estimateIndexSeconds, folderBytes, LanceStore, trainAnnIndex, writeLanceStore, type AnnParams, type AnnSearch, type AnnType, type StoreIdentity, type VectorBatch } from '../src/search/lance.js';
import { DEFAULT_FEATURIZER } from '../src/model/factory.js';
import { formatDuration } from '../src/util/progress.js';
import { machineInfo } from './machine.js';
import { cpuWindow, percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string' }, queries: { type: 'string' }, 'flat-queries': { type: 'string' }, k: { type: 'string' }, dim: { type: 'string' },
    clusters: { type: 'string' }, seed: { type: 'string' }, ann: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' },
    threads: { type: 'string' }, json: { type: 'boolean' },
  },
});
const int = (v: string | undefined, fallback: number, name: string) => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) { console.error(`bench store: --${name} must be a positive integer, got '${v}'`); process.exit(2); }
  return n;
};
const N = int(values.size, 1_000_000, 'size'), D = int(values.dim, 256, 'dim'), Q = int(values.queries, 100, 'queries'), k = int(values.k, 10, 'k');
const QF = Math.min(Q, int(values['flat-queries'], N >= 500_000 ? 20 : Q, 'flat-queries'));
const C = int(values.clusters, Math.max(8, Math.round(N / 500)), 'clusters');
const seed = values.seed === undefined ? 0 : Number(values.seed);
const annTypes = (values.ann ?? 'ivf_hnsw_sq,ivf_pq').split(',').filter(Boolean) as AnnType[];
for (const t of annTypes) if (t !== 'ivf_pq' && t !== 'ivf_hnsw_sq') { console.error(`bench store: --ann takes ivf_pq and/or ivf_hnsw_sq, got '${t}'`); process.exit(2); }
if (N < 256) annTypes.length = 0;   // too few vectors to train an index (lance.ts annParams)
if (values.threads) setNumThreads(Number(values.threads));
const CHUNK = 65_536;

const t00 = performance.now();
const log = (msg: string) => process.stderr.write(`bench store [${formatDuration((performance.now() - t00) / 1000)}] ${msg}\n`);
const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
const peakRssMib = () => mib(process.resourceUsage().maxRSS * 1024);
/** CPU seconds this process used since `from` (all threads: libtorch's and LanceDB's). */
const cpuSince = (from: NodeJS.CpuUsage) => { const u = process.cpuUsage(from); return +((u.user + u.system) / 1e6).toFixed(2); };
const stats = (t: number[]) => ({ p50_ms: +percentile(t, 50).toFixed(3), p95_ms: +percentile(t, 95).toFixed(3), queries: t.length });

// A rough plan for a quiet 2-core machine, scaled from the 20,000-vector run (docs/scale.md): printed
// first so a long run can be stopped early, and refined after each phase from the measured rates.
function plan(): string {
  // index builds: lance.ts estimateIndexSeconds (rates measured at 20,000 vectors); the rest per vector
  // from the same run, scaled linearly; a guide, not a measurement
  const s = N / 1e6;
  const parts = [`generate ~${formatDuration(10 * s)}`, `exact ${Q} queries ~${formatDuration(Q * 0.15 * s)}`, `LanceDB write ~${formatDuration(30 * s)}`,
    `flat ${QF} queries ~${formatDuration(QF * 0.6 * s)}`, ...annTypes.map((t) => `${t} build ~${formatDuration(estimateIndexSeconds(annParams(t, N, D, true)!, N, D))}`)];
  return parts.join(', ');
}

// ---- the synthetic library ------------------------------------------------------------------------------


manualSeed(seed);
const rand = mulberry32(seed + 1);
const centers = keep(noGrad(() => tidy(() => normalize(randn([C, D]), -1))));
const cumulative = (() => {
  const w = Array.from({ length: C }, (_, c) => 1 / (c + 1) ** 0.7), total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((x) => (acc += x / total));
})();
const spread = Float32Array.from({ length: C }, () => 0.35 + 0.45 * rand());
const pick = () => { const u = rand(); let lo = 0, hi = C - 1; while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid]! < u) lo = mid + 1; else hi = mid; } return lo; };

/** `n` new cluster members as float16 unit vectors (their bits) and as float32. */
function members(n: number, wantFloat32: boolean): { half: Uint16Array; float?: Float32Array } {
  const idx = new Int32Array(n), sig = new Float32Array(n);
  for (let i = 0; i < n; i++) { const c = pick(); idx[i] = c; sig[i] = spread[c]! / Math.sqrt(D); }
  return noGrad(() => tidy(() => {
    const x = normalize(centers.indexSelect(0, tensor(idx, { dtype: 'int32' }).long()).add(randn([n, D]).mul(tensor(sig, { shape: [n, 1] }))), -1);
    const h = x.to('float16').contiguous();
    return { half: h.toArray() as Uint16Array, ...(wantFloat32 ? { float: h.to('float32').contiguous().toArray() as Float32Array } : {}) };
  }));
}

const cpu = cpuWindow();
log(`N=${N} dim=${D} clusters=${C} queries=${Q} (flat ${QF}) k=${k} ann=${annTypes.join(',')}; plan on a quiet 2-core machine: ${plan()}`);
const out: Record<string, unknown> = {
  bench: 'store', machine: machineInfo(),
  config: { size: N, dim: D, queries: Q, flat_queries: QF, k, clusters: C, seed, ann: annTypes, cluster_spread: [0.35, 0.8], cluster_weight: '1/(c+1)^0.7', vectors: 'float16 unit' },
};
const phases: Record<string, unknown> = {};

let t0 = performance.now();
const library = new Uint16Array(N * D);
for (let start = 0; start < N; start += CHUNK) {
  const n = Math.min(CHUNK, N - start);
  library.set(members(n, false).half, start * D);
  if ((start / CHUNK) % 4 === 3) log(`generated ${start + n}/${N} vectors, ETA ${formatDuration(((performance.now() - t0) / 1000) * (N - start - n) / (start + n))}`);
}
const queries = members(Q, true).float!;
centers.dispose();
phases.generate = { seconds: +((performance.now() - t0) / 1000).toFixed(2), rss_peak_mib: peakRssMib() };
log(`generated ${N} vectors in ${formatDuration((performance.now() - t0) / 1000)}`);

// ---- exact reference: float32 products over the float16 vectors, all queries at once per block ----------
t0 = performance.now();
const truth: Set<number>[] = (() => {
  const best: { row: number; score: number }[][] = Array.from({ length: Q }, () => []);
  noGrad(() => tidy(() => {
    const qt = tensor(queries, { shape: [Q, D] }).transpose(0, 1).contiguous();
    for (let start = 0; start < N; start += CHUNK) {
      tidy(() => {
        const n = Math.min(CHUNK, N - start);
        const scores = tensor(library.subarray(start * D, (start + n) * D), { dtype: 'float16', shape: [n, D] }).to('float32').matmul(qt);   // [n, Q]
        const top = scores.topk(Math.min(k, n), 0);
        const v = top.values.contiguous().toNumbers(), ix = top.indices.contiguous().toNumbers(), kk = Math.min(k, n);
        for (let j = 0; j < kk; j++) for (let q = 0; q < Q; q++) best[q]!.push({ row: start + ix[j * Q + q]!, score: v[j * Q + q]! });
      });
      for (const b of best) { b.sort((x, y) => y.score - x.score || x.row - y.row); b.length = Math.min(b.length, k); }
    }
  }));
  return best.map((b) => new Set(b.map((x) => x.row)));
})();
phases.truth = { seconds: +((performance.now() - t0) / 1000).toFixed(2) };
const recall = (got: number[][]) => +(got.reduce((a, rows, q) => a + rows.slice(0, k).filter((r) => truth[q]!.has(r)).length, 0) / (got.length * k)).toFixed(4);
const query = (q: number) => queries.subarray(q * D, (q + 1) * D);

// ---- (a) the exact store -----------------------------------------------------------------------------------
{
  t0 = performance.now();
  const float32Below = 1 << 26;   // as store.ts's loadIndex
  const matrix: Tensor = noGrad(() => {
    const t = tensor(library, { dtype: 'float16', shape: [N, D] });
    if (N * D >= float32Below) return t;
    const wide = t.to('float32');
    t.dispose();
    return wide;
  });
  const load = (performance.now() - t0) / 1000;
  for (let q = 0; q < 3; q++) exactTopK(matrix, query(q), k);   // warm-up
  const times: number[] = [], got: number[][] = [];
  for (let q = 0; q < Q; q++) {
    const t = performance.now();
    got.push(exactTopK(matrix, query(q), k).rows);
    times.push(performance.now() - t);
  }
  out.exact = { ...stats(times), recall_at_k: recall(got), memory_dtype: matrix.dtype, memory_mib: mib(N * D * (matrix.dtype === 'float32' ? 4 : 2)), load_seconds: +load.toFixed(2), rss_peak_mib: peakRssMib() };
  matrix.dispose();
  log(`exact: p50 ${(out.exact as { p50_ms: number }).p50_ms} ms`);
}

// ---- (b) LanceDB, flat ---------------------------------------------------------------------------------------
const root = values.dir ? (mkdirSync(values.dir, { recursive: true }), mkdtempSync(join(values.dir, 'orma-bench-store-'))) : mkdtempSync(join(tmpdir(), 'orma-bench-store-'));
const identity: StoreIdentity = {
  kind: 'molecules', library: { file: `synthetic:${N}x${D}:seed${seed}`, sha256: `synthetic-${N}-${D}-${seed}-${C}`, rows: N },
  model: { dir: 'synthetic', fingerprint: 'synthetic' }, featurizer: DEFAULT_FEATURIZER, dim: D, normalized: true,
};
try {
  t0 = performance.now();
  const c0 = process.cpuUsage();
  function* batches(): Generator<VectorBatch> {
    for (let start = 0; start < N; start += CHUNK) {
      const n = Math.min(CHUNK, N - start);
      yield { rows: Int32Array.from({ length: n }, (_, i) => start + i), vectors: library.subarray(start * D, (start + n) * D) };
    }
  }
  let lastLog = performance.now();
  const manifest = await writeLanceStore({
    dir: root, identity, dtype: 'float32', batches: batches(), invalid: [], ann: null,   // as `orma index --store lance`
    onBatch: (rows) => {
      if (performance.now() - lastLog < 10_000 && rows < N) return;
      lastLog = performance.now();
      log(`LanceDB: wrote ${rows}/${N} rows, ETA ${formatDuration(((performance.now() - t0) / 1000) * (N - rows) / rows)}`);
    },
  });
  const dataBytes = folderBytes(join(root, manifest.table));
  out.lance_write = { seconds: +((performance.now() - t0) / 1000).toFixed(2), cpu_seconds: cpuSince(c0), disk_mib: mib(dataBytes), rss_peak_mib: peakRssMib() };
  log(`LanceDB: table written in ${formatDuration((performance.now() - t0) / 1000)}, ${mib(dataBytes)} MiB`);

  async function measure(label: string, o: AnnSearch, count: number): Promise<Record<string, unknown>> {
    const store = await LanceStore.open(root, identity, o);
    try {
      for (let q = 0; q < Math.min(3, count); q++) await store.topK(query(q), k);   // warm-up (opens the index, fills caches)
      const times: number[] = [], got: number[][] = [];
      for (let q = 0; q < count; q++) {
        const t = performance.now();
        got.push((await store.topK(query(q), k)).rows);
        times.push(performance.now() - t);
      }
      const r = { ...stats(times), recall_at_k: recall(got) };
      log(`${label}: p50 ${r.p50_ms} ms, recall@${k} ${r.recall_at_k}`);
      return r;
    } finally {
      store.close();
    }
  }

  out.lance_flat = { ...(await measure('LanceDB flat', { flat: true }, QF)), rss_peak_mib: peakRssMib() };

  // ---- (c) LanceDB ANN ------------------------------------------------------------------------------------
  const ann: Record<string, unknown> = {};
  for (const type of annTypes) {
    const params = annParams(type, N, D, true) as AnnParams;
    log(`${type}: training (${params.numPartitions} partitions) on ${N} vectors`);
    const c0 = process.cpuUsage();
    const built = await trainAnnIndex(root, params);
    const buildCpu = cpuSince(c0);
    const d = defaultAnnSearch(params, k), P = params.numPartitions;
    const settings: { name: string; search: AnnSearch }[] = type === 'ivf_pq'
      ? [
        { name: 'fast', search: { nprobes: Math.min(P, Math.max(4, Math.ceil(P / 16))), refineFactor: 4 } },
        { name: 'default', search: { nprobes: d.nprobes, refineFactor: d.refineFactor } },
        { name: 'accurate', search: { nprobes: Math.min(P, Math.max(16, Math.ceil(P / 4))), refineFactor: 20 } },
      ]
      : [
        { name: 'fast', search: { nprobes: d.nprobes, ef: Math.max(k, 32), refineFactor: 1 } },
        { name: 'default', search: { nprobes: d.nprobes, ef: d.ef, refineFactor: d.refineFactor } },
        { name: 'accurate', search: { nprobes: d.nprobes, ef: 200, refineFactor: 4 } },
      ];
    const results: Record<string, unknown> = {};
    for (const s of settings) results[s.name] = { ...s.search, ...(await measure(`${type} ${s.name}`, s.search, Q)) };
    ann[type] = {
      params, build_seconds: +built.seconds.toFixed(2), build_cpu_seconds: buildCpu, index_mib: built.bytes === null ? null : mib(built.bytes),
      disk_mib: mib(folderBytes(root)), settings: results, rss_peak_mib: peakRssMib(),
    };
    log(`${type}: built in ${formatDuration(built.seconds)}`);
  }
  out.lance_ann = ann;
} finally {
  if (!values.keep) rmSync(root, { recursive: true, force: true });
  else log(`kept ${root}`);
}
out.phases = phases;
out.total_seconds = +((performance.now() - t00) / 1000).toFixed(1);
out.rss_peak_mib = peakRssMib();
out.other_cpu = cpu();
console.log(JSON.stringify(out));
