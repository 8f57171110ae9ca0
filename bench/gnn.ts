// Molecule-encoder benchmark: one training step of an ORMA-style GNN (orma-reference.md §3.3-4) on
// real hierarchical graphs, in orma and in PyTorch 1.13 (bench/reference/gnn_step.py) on the very same
// inputs and initial weights, plus a forward/backward parity check of the two on those inputs.
//
//   node dist/bench/gnn.js [--json] [--batches N] [--batch-size 32] [--passes 2] [--rounds 3] [--no-torch] [--no-jemalloc] [--parts] [--keep]
//   (data: ../shared/data/chebi20/validation.tsv, or ORMA_DATA for the data folder)
//
// Data: the first N×32 ChEBI-20 validation molecules that RDKit parses, as HierGraphs (default options:
// upward edges only, 'rings' fallback), batched by the data layer's batchGraphs (the trainer's batching).
//
// Model: the model's own MoleculeEncoder (src/model/molecule-encoder.ts) at ORMA's size, 300-d, without
// the node-type embedding ORMA lacks: atoms = Σ_k Embedding_k(feature k); motifs = mean of their atoms,
// then the molecule = mean of its motifs (its atoms when M = 0), as reference §3.3, through the batch's
// pooling edges; [GCNConv → Dropout → ReLU] ×2 → GCNConv → Dropout → MLP 300-300-300-300 → LayerNorm on
// every node (reference §4). The PyTorch twin (bench/reference/gnn_step.py) is the same model op for op.
//   loss = mean of the squared molecule-node outputs; Adam lr 1e-4.
// A step = GCN normalisation of the batch's edges (self-loops, degrees, edge weights) + forward + backward
// + Adam step. The batch's index/feature tensors are built once, outside the timing, on both sides.
//
// Reported per side: median/min/max ms per step, graphs/s, per-round medians, the CPU other processes
// took meanwhile (the machine is shared), minor page faults per step; for orma also V8 GCs per step
// (the addon reports every tensor's bytes to V8, which runs a full mark-compact about once per step here).
// PyTorch runs with glibc malloc (Debian default) and under jemalloc (engine-notes.md's best set-up).
// Parity: eval mode, initial weights, batch 0; both link the same libtorch_cpu.so.1.13, so with the same
// op sequence and thread count the outputs and gradients are expected to agree bit for bit.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';
import { Adam, dispose, getNumThreads, liveTensorCount, manualSeed, saveSafetensors, tidy, zeros, type Tensor } from '../src/tensor/index.js';
import { gcnNorm, type Module } from '../src/nn/index.js';
import { initRDKit, buildHierGraph, type HierGraph } from '../src/chem/index.js';
import { atomFeatureDims } from '../src/chem/features.js';
import { batchGraphs, type GraphBatch } from '../src/data/graph-batch.js';
import { MoleculeEncoder } from '../src/model/molecule-encoder.js';
import { readPairFile } from '../src/data/datasets.js';
import { machineInfo } from './machine.js';
import { cpuWindow, type CpuShare } from './stats.js';

export const GNN_BENCH = { hidden: 300, layers: 3, dropout: 0.1, typeEmbedding: false, lr: 1e-4, batchSize: 32 };

/** The encoder's config for the benchmark: the model's own MoleculeEncoder at ORMA's published size. */
const encoderConfig = (c: typeof GNN_BENCH) => ({ hidden: c.hidden, layers: c.layers, dropout: c.dropout, typeEmbedding: c.typeEmbedding });

/** The batch tensors the PyTorch twin reads (names as in bench/reference/gnn_step.py). */
function exportBatch(b: GraphBatch, i: number): Record<string, Tensor> {
  return {
    [`${i}.atom_features`]: b.atomFeatures, [`${i}.atom_node`]: b.atomNode, [`${i}.node_type`]: b.nodeType, [`${i}.edge_index`]: b.edgeIndex,
    [`${i}.motif_pool_src`]: b.motifPooling.src, [`${i}.motif_pool_dst`]: b.motifPooling.dst, [`${i}.motif_pool_w`]: b.motifPooling.weight,
    [`${i}.molecule_pool_src`]: b.moleculePooling.src, [`${i}.molecule_pool_dst`]: b.moleculePooling.dst, [`${i}.molecule_pool_w`]: b.moleculePooling.weight,
    [`${i}.molecule_index`]: b.moleculeIndex,
  };
}

export const molLoss = (out: Tensor, b: GraphBatch) => out.indexSelect(0, b.moleculeIndex).pow(2).mean();

interface Timing { median_ms: number; min_ms: number; max_ms: number; steps: number; graphs_per_s: number }

type Side = 'orma' | 'torch' | 'torch_jemalloc';
interface SideRun { times: number[]; rounds: number[]; cpu: CpuShare[] }
const newSide = (): SideRun => ({ times: [], rounds: [], cpu: [] });
const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

function summarize(times: number[], graphs: number): Timing {
  const s = [...times].sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  return { median_ms: s[Math.floor(s.length / 2)]!, min_ms: s[0]!, max_ms: s[s.length - 1]!, steps: s.length, graphs_per_s: graphs / (total / 1000) };
}

/** Per-part timings of one step, forward+backward each (to find where time goes). */
function partTimings(model: MoleculeEncoder, batches: GraphBatch[], opt: Adam, passes: number): Record<string, number> {
  const H = model.config.hidden;
  const med = (fn: (b: GraphBatch) => void) => {
    for (const b of batches) tidy(() => fn(b));
    const t: number[] = [];
    for (let r = 0; r < passes; r++) for (const b of batches) { const t0 = performance.now(); tidy(() => fn(b)); t.push(performance.now() - t0); }
    return Number(t.sort((a, c) => a - c)[Math.floor(t.length / 2)]!.toFixed(3));
  };
  const conv = model.convs[0]!;
  return {
    gcn_norm_ms: med((b) => { gcnNorm(b.edgeIndex, b.numNodes); }),
    // the aggregation alone: gather rows by source, weight, scatter-add into targets (fwd + bwd)
    aggregation_fwd_bwd_ms: med((b) => {
      const g = gcnNorm(b.edgeIndex, b.numNodes);
      const h = zeros([b.numNodes, H]).uniform_(-1, 1).requiresGrad_(true);
      zeros([b.numNodes, H]).indexAdd(0, g.dst, h.indexSelect(0, g.src).mul(g.weight.unsqueeze(1))).sum().backward();
    }),
    aggregation_fwd_ms: med((b) => {
      const g = gcnNorm(b.edgeIndex, b.numNodes);
      const h = zeros([b.numNodes, H]).uniform_(-1, 1);
      zeros([b.numNodes, H]).indexAdd(0, g.dst, h.indexSelect(0, g.src).mul(g.weight.unsqueeze(1)));
    }),
    gcn_layer_fwd_bwd_ms: med((b) => {
      const g = gcnNorm(b.edgeIndex, b.numNodes);
      const h = zeros([b.numNodes, H]).uniform_(-1, 1).requiresGrad_(true);
      conv.forward(h, g).sum().backward(); zeroGrads(model);
    }),
    forward_ms: med((b) => { model.forward(b); }),
    forward_backward_ms: med((b) => { molLoss(model.forward(b), b).backward(); zeroGrads(model); }),
    adam_step_ms: (() => {
      // gradients present on every parameter, then time opt.step alone
      const t: number[] = [];
      for (let r = 0; r < passes * batches.length + 1; r++) {
        const b = batches[r % batches.length]!;
        tidy(() => { molLoss(model.forward(b), b).backward(); });
        const t0 = performance.now(); opt.step(); t.push(performance.now() - t0);
        zeroGrads(model);
      }
      t.shift();
      return Number(t.sort((a, c) => a - c)[Math.floor(t.length / 2)]!.toFixed(3));
    })(),
  };
}

function zeroGrads(m: Module): void {
  for (const p of m.parameters()) p.zeroGrad();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    json: { type: 'boolean' }, batches: { type: 'string' }, 'batch-size': { type: 'string' }, passes: { type: 'string' }, rounds: { type: 'string' },
    'no-torch': { type: 'boolean' }, 'no-jemalloc': { type: 'boolean' }, parts: { type: 'boolean' }, keep: { type: 'boolean' },
  } });
  const log = (m: string) => { if (!values.json) console.error(m); };
  const nBatches = Number(values.batches ?? 10), bs = Number(values['batch-size'] ?? GNN_BENCH.batchSize), passes = Number(values.passes ?? 2);
  const rounds = Number(values.rounds ?? 3);
  const c = { ...GNN_BENCH, batchSize: bs };
  const DATA = resolve(process.env.ORMA_DATA ?? '../shared/data');
  const file = join(DATA, 'chebi20', 'validation.tsv');
  if (!existsSync(file)) throw new Error(`${file} not found: set ORMA_DATA to the shared data folder`);
  const load0 = loadavg();

  await initRDKit();
  const graphs: HierGraph[] = [];
  let skipped = 0;
  for (const row of readPairFile(file).rows) {
    if (graphs.length === nBatches * bs) break;
    try { graphs.push(buildHierGraph(row.smiles)); } catch { skipped++; }
  }
  if (graphs.length < nBatches * bs) throw new Error(`only ${graphs.length} graphs in ${file}, need ${nBatches * bs}`);
  const groups = Array.from({ length: nBatches }, (_, i) => graphs.slice(i * bs, (i + 1) * bs));
  const batches = groups.map((g) => batchGraphs(g));  // index tensors built once, outside the timing
  const mean = (f: (g: HierGraph[], b: GraphBatch) => number) => groups.reduce((s, g, i) => s + f(g, batches[i]!), 0) / groups.length;
  const threads = getNumThreads();

  manualSeed(0);
  const model = new MoleculeEncoder(encoderConfig(c)).train();
  const dir = mkdtempSync(join(tmpdir(), 'orma-gnn-'));
  const weightsFile = join(dir, 'weights.safetensors'), inputsFile = join(dir, 'inputs.safetensors'), parityFile = join(dir, 'parity.safetensors');
  model.save(weightsFile);
  const inputs: Record<string, Tensor> = {};
  batches.forEach((b, i) => Object.assign(inputs, exportBatch(b, i)));
  saveSafetensors(inputsFile, inputs, { batches: String(nBatches) });

  // Parity: eval mode (no dropout), initial weights, batch 0: every node's output, the loss, every gradient.
  log('parity forward/backward (orma)...');
  tidy(() => {
    model.eval();
    const b = batches[0]!;
    const out = model.forward(b);
    const loss = molLoss(out, b);
    loss.backward();
    const saved: Record<string, Tensor> = { out: out.detach(), loss: loss.detach().reshape(1) };
    for (const [name, p] of model.namedParameters()) saved[`grad.${name}`] = p.grad!;
    saveSafetensors(parityFile, saved);
    zeroGrads(model);
    model.train();
  });

  // Training steps, interleaved: each round times `passes` passes over the batches in orma, then the same in
  // PyTorch (a fresh process: parity in round 0, one warm-up pass each time), then in PyTorch under jemalloc.
  // Each side warms up with one untimed pass per round. The machine is shared: every block also records the
  // CPU time other processes used, and this process's minor page faults.
  const opt = new Adam(model.parameters(), { lr: c.lr });
  const step = (b: GraphBatch) => tidy(() => {
    const loss = molLoss(model.forward(b), b);
    loss.backward();
    opt.step();
    opt.zeroGrad();
  });
  for (const b of batches) step(b);
  const script = fileURLToPath(new URL('../../bench/reference/gnn_step.py', import.meta.url));
  const withTorch = !values['no-torch'] && existsSync('/usr/bin/python3');
  const withJemalloc = withTorch && !values['no-jemalloc'] && existsSync(JEMALLOC);
  const sides: Record<Side, SideRun> = { orma: newSide(), torch: newSide(), torch_jemalloc: newSide() };
  const record = (side: Side, t: number[], cpu: CpuShare) => {
    sides[side].times.push(...t); sides[side].rounds.push(summarize(t, 1).median_ms); sides[side].cpu.push(cpu);
  };
  let torchInfo = null as Record<string, unknown> | null, torchParts: unknown = null;
  /** One PyTorch process: parity (round 0), a warm-up pass, `passes` timed passes. */
  const torchRun = (round: number, jemalloc: boolean): boolean => {
    const last = round === rounds - 1;
    const args = [script, '--weights', weightsFile, '--inputs', inputsFile, '--batches', String(nBatches), '--passes', String(passes),
      '--threads', String(threads), '--config', JSON.stringify(c), ...(round === 0 && !jemalloc ? ['--parity', parityFile] : []),
      ...(values.parts && last && !jemalloc ? ['--parts'] : [])];
    const env = jemalloc ? { ...process.env, LD_PRELOAD: JEMALLOC, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' } : process.env;
    const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env });
    if (r.status !== 0) { process.stderr.write(`gnn_step.py failed: ${r.stderr.slice(-2000)}\n`); return false; }
    const out = JSON.parse(r.stdout) as { times_ms: number[]; cpu: CpuShare; parity?: unknown; parts?: unknown; torch_version: string; threads: number };
    record(jemalloc ? 'torch_jemalloc' : 'torch', out.times_ms, out.cpu);
    if (round === 0 && !jemalloc) torchInfo = { version: out.torch_version, threads: out.threads, parity: out.parity ?? null };
    if (out.parts) torchParts = out.parts;
    return true;
  };
  // V8 garbage collections during orma's timed steps (delivered asynchronously: read after each round)
  const gcs: { start: number; ms: number; major: boolean }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration, major: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const gcWindows: [number, number][] = [];
  for (let round = 0; round < rounds; round++) {
    log(`round ${round + 1}/${rounds}: orma...`);
    // an untimed pass first, as each PyTorch process gets: while a round of the other side runs, this VM's
    // DAMON pageout takes back orma's idle pages, and re-faulting them would land in the first timed steps
    for (const b of batches) step(b);
    const cpu = cpuWindow();
    const t: number[] = [];
    const w0 = performance.now();
    for (let r = 0; r < passes; r++) for (const b of batches) { const t0 = performance.now(); step(b); t.push(performance.now() - t0); }
    const w1 = performance.now();
    record('orma', t, cpu());
    gcWindows.push([w0, w1]);
    if (!withTorch) continue;
    log(`round ${round + 1}/${rounds}: PyTorch${round === 0 ? ' (and parity)' : ''}...`);
    if (!torchRun(round, false)) break;
    if (withJemalloc) { log(`round ${round + 1}/${rounds}: PyTorch under jemalloc...`); torchRun(round, true); }
  }
  await new Promise((r) => setTimeout(r, 200));  // gc entries arrive a few tasks later
  gcObserver.disconnect();
  const gcTimed = { major: 0, minor: 0, pause_ms: 0 };
  for (const g of gcs) {
    if (!gcWindows.some(([a, b]) => g.start >= a && g.start < b)) continue;
    if (g.major) gcTimed.major++; else gcTimed.minor++;
    gcTimed.pause_ms += g.ms;
  }
  const loadEnd = loadavg();
  const parts = values.parts ? (log('parts (orma)...'), partTimings(model, batches, opt, passes)) : null;
  const report = (side: Side) => {
    const x = sides[side];
    if (!x.times.length) return null;
    const t = summarize(x.times, x.times.length * bs);
    return {
      ms_per_step: r3(t.median_ms), min_ms: r3(t.min_ms), max_ms: r3(t.max_ms), graphs_per_s: Math.round(t.graphs_per_s),
      round_medians_ms: x.rounds.map(r3), other_processes_cpu_cores: x.cpu.map((y) => r3(y.other_cores)),
      minor_page_faults_per_step: Math.round(x.cpu.reduce((s, y) => s + y.minor_faults, 0) / x.times.length),
    };
  };
  const r3 = (x: number) => Number(x.toFixed(3));
  const ormaBase = report('orma'), torch = report('torch'), torchJe = report('torch_jemalloc');
  const ormaSteps = sides.orma.times.length;
  const orma = ormaBase && { ...ormaBase, v8_gc_per_step: { major: r3(gcTimed.major / ormaSteps), minor: r3(gcTimed.minor / ormaSteps), pause_ms: r3(gcTimed.pause_ms / ormaSteps) } };
  const result = {
    benchmark: 'gnn',
    machine: machineInfo(),
    config: {
      model: { ...c, atom_feature_dims: atomFeatureDims(), params: model.numParameters(),
        inputs: 'atoms: sum of per-feature embeddings; motifs: mean of member atoms; molecule: mean of motifs (atoms if none); no node-type embedding (typeEmbedding: false, as ORMA)',
        loss: 'mean of squared molecule-node outputs', optimizer: `Adam lr ${c.lr}` },
      data: `ChEBI-20 validation, first ${nBatches * bs} parsable molecules (${skipped} skipped), HierGraph defaults (upward edges, 'rings' fallback)`,
      batches: nBatches, passes, rounds, timed_steps_per_side: rounds * passes * nBatches, threads,
    },
    batch: {
      graphs: bs, nodes_mean: Number(mean((_, b) => b.numNodes).toFixed(1)), atoms_mean: Number(mean((g) => g.reduce((n, x) => n + x.numAtoms, 0)).toFixed(1)),
      motifs_mean: Number(mean((g) => g.reduce((n, x) => n + x.numMotifs, 0)).toFixed(1)), edges_mean: Number(mean((_, b) => b.edgeIndex.size(1)).toFixed(1)),
      edges_with_self_loops_mean: Number(mean((_, b) => b.edgeIndex.size(1) + b.numNodes).toFixed(1)),
      pool_entries_mean: Number(mean((_, b) => b.motifPooling.src.size(0) + b.moleculePooling.src.size(0)).toFixed(1)),
    },
    orma,
    torch: torch ? { ...torch, version: torchInfo?.version, threads: torchInfo?.threads } : null,
    torch_jemalloc: torchJe,
    ratio_ms_orma_over_torch: orma && torch ? r3(orma.ms_per_step / torch.ms_per_step) : null,
    ratio_ms_orma_over_torch_jemalloc: orma && torchJe ? r3(orma.ms_per_step / torchJe.ms_per_step) : null,
    ratio_min_ms_orma_over_torch: orma && torch ? r3(orma.min_ms / torch.min_ms) : null,
    parity: torchInfo?.parity ?? null,
    parts: parts ? { orma: parts, torch: torchParts } : undefined,
    load_average: { start: load0.map(r3), end: loadEnd.map(r3) },
    live_tensors_after: 0,
  };
  opt.dispose();
  dispose(batches);
  model.dispose();
  result.live_tensors_after = liveTensorCount();
  if (values.keep) log(`inputs kept in ${dir}`); else rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, values.json ? undefined : 2));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
