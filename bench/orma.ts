// ORMA training-step benchmark: the default sizes (src/model/config.ts) on real ChEBI-20 validation
// pairs in length-bucketed batches (as the trainer makes them), with a per-part breakdown, the fine
// grains' own forward + backward, the global-only step with the same encoders on the same batches, and
// the peak RSS of one step on the worst batch of the data (the 574-atom molecule with a 256-token text).
// With --torch, the same step in PyTorch 1.13 (bench/reference/orma_step.py; python3-torch, and libjemalloc2 for jemalloc with page
// return off, the fairest set-up) on the same weights and batches: loss and gradients compared, times.
// With --fixed-padding (implies --torch), the PyTorch step again on the same batches padded to the official
// recipe's fixed shapes (tokens 256, atoms 580, motifs 140 per molecule; masked, so the same scores): what
// dynamic shapes save. It needs several GB and tens of seconds per step: --fixed-steps (default 3) of them.
// With --profile, the same steps once more under libtorch's op profiler (src/tensor/profiler.ts): self time
// per op of the ORMA and of the global-only step, sorted by what the ORMA step adds (profiled times run
// longer than the timed ones: the profiler's own cost per op), then each fine grain's ops alone.
// With --blas-threads N, OpenBLAS's pool gets N threads and libtorch's keeps ORMA_NUM_THREADS (the default sets both).
//   node dist/bench/orma.js [--json] [--steps N] [--batch N] [--no-worst] [--torch] [--fixed-padding] [--fixed-steps N] [--profile] [--blas-threads N]
//   (data: ../shared/data or ORMA_DATA)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdamW, dispose, getNumThreads, keep, profile, saveSafetensors, setBlasThreads, tensor, tidy, zeros, type OpTime, type Tensor } from '../src/tensor/index.js';
import { padSequences } from '../src/text/padding.js';
import { batchGraphs } from '../src/data/graph-batch.js';
import { DEFAULT_ORMA, DEFAULT_TEXT_ENCODER } from '../src/model/config.js';
import type { MoleculeVectors } from '../src/model/orma.js';
import type { TextVectors } from '../src/model/text-encoder.js';
import { symmetricInfoNce } from '../src/model/losses.js';
import { localScores, midScores } from '../src/model/scores.js';
import { OT_TIE_TOLERANCE } from '../src/model/ot.js';
import { machineInfo } from './machine.js';
import { initialModel, stepBatches } from './step-batches.js';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, steps: { type: 'string' }, batch: { type: 'string' }, 'no-worst': { type: 'boolean' }, 'blas-threads': { type: 'string' }, torch: { type: 'boolean' },
  'fixed-padding': { type: 'boolean' }, 'fixed-steps': { type: 'string' }, profile: { type: 'boolean' } } });
/** The official code's fixed shapes (orma-reference.md): text tokens, atoms and motifs per molecule. */
const OFFICIAL_PADDING = '256,580,140';
const steps = Number(values.steps ?? 8), batchSize = Number(values.batch ?? 32);
const { rows, ids, tokenizer, order, graphOf, collate, batches } = await stepBatches(steps + 1, batchSize);

// OpenBLAS's pool apart from libtorch's (ORMA_NUM_THREADS sets both): to measure other thread set-ups
if (values['blas-threads']) setBlasThreads(Number(values['blas-threads']));
const bert = { ...DEFAULT_TEXT_ENCODER, vocabSize: tokenizer.vocab.size };
const model = initialModel(bert.vocabSize);
const opt = new AdamW(model.parameters(), { lr: 1e-4 });
const clock = () => performance.now();

type Parts = Record<'text' | 'molecules' | 'scores' | 'backward' | 'optimizer' | 'total', number>;
function step(b: (typeof batches)[number], grains: 'all' | 'global', parts?: Parts): void {
  tidy(() => {
    const t0 = clock();
    const t = model.encodeText(b.texts);
    const t1 = clock();
    const m = model.encodeMolecules(batchGraphs(b.graphs));
    const t2 = clock();
    const loss = grains === 'global' ? symmetricInfoNce(model.scores(t, m, { grains }).global) : model.loss(model.scores(t, m)).total;
    const t3 = clock();
    loss.backward();
    const t4 = clock();
    opt.step();
    opt.zeroGrad();
    const t5 = clock();
    if (parts) Object.entries({ text: t1 - t0, molecules: t2 - t1, scores: t3 - t2, backward: t4 - t3, optimizer: t5 - t4, total: t5 - t0 })
      .forEach(([k, v]) => { parts[k as keyof Parts] += v; });
  });
}

/** Forward + backward of the local and mid losses alone, from fixed encoder outputs (`wrap`: around each grain, e.g. a profiler). */
function fineGrains(b: (typeof batches)[number], wrap: (grain: 'local' | 'mid', f: () => void) => void = (_, f) => f()): { local: number; mid: number } {
  return tidy(() => {
    const leaf = (x: Tensor) => x.detach().requiresGrad_(true);
    const t: TextVectors = tidy(() => model.encodeText(b.texts));
    const m: MoleculeVectors = tidy(() => model.encodeMolecules(batchGraphs(b.graphs)));
    const tokens = leaf(t.tokens), multi = leaf(t.multiTokens), atoms = leaf(m.atoms), motifs = leaf(m.motifs);
    const a = clock();
    wrap('local', () => symmetricInfoNce(localScores(tokens, t.mask, atoms, m.atomMask, { cosine: true }).mul(14)).backward());
    const b1 = clock();
    wrap('mid', () => symmetricInfoNce(midScores(multi, t.mask, motifs, m.motifMask, { cosine: true }).mul(14)).backward());
    return { local: b1 - a, mid: clock() - b1 };
  });
}

/**
 * The PyTorch twin on the same initial weights and batches (run before any orma step changes the weights);
 * with `pad`, its steps are timed on the batches padded to those fixed sizes.
 */
function torchReference(pad?: { shapes: string; steps: number }): Record<string, unknown> | null {
  const dir = mkdtempSync(join(tmpdir(), 'orma-step-'));
  try {
    model.save(join(dir, 'weights.safetensors'));
    const inputs: Record<string, Tensor> = {};
    tidy(() => {
      batches.forEach((b, i) => {
        const g = batchGraphs(b.graphs), shape = [b.texts.batchSize, b.texts.seqLength];
        const u8 = (t: Tensor) => t.to('uint8');
        Object.assign(inputs, keepAll({
          [`${i}.input_ids`]: tensor(b.texts.inputIds, { dtype: 'int32', shape }).long(), [`${i}.attention_mask`]: tensor(b.texts.attentionMask, { dtype: 'int32', shape }),
          [`${i}.atom_features`]: g.atomFeatures, [`${i}.atom_node`]: g.atomNode, [`${i}.node_type`]: g.nodeType, [`${i}.edge_index`]: g.edgeIndex,
          [`${i}.motif_pool_src`]: g.motifPooling.src, [`${i}.motif_pool_dst`]: g.motifPooling.dst, [`${i}.motif_pool_w`]: g.motifPooling.weight,
          [`${i}.molecule_pool_src`]: g.moleculePooling.src, [`${i}.molecule_pool_dst`]: g.moleculePooling.dst, [`${i}.molecule_pool_w`]: g.moleculePooling.weight,
          [`${i}.atom_index`]: g.atomIndex, [`${i}.atom_mask`]: u8(g.atomMask), [`${i}.motif_index`]: g.motifOrMoleculeIndex, [`${i}.motif_mask`]: u8(g.motifOrMoleculeMask),
          [`${i}.molecule_index`]: g.moleculeIndex,
        }));
      });
    });
    saveSafetensors(join(dir, 'inputs.safetensors'), inputs);
    dispose(inputs);
    // orma's eval-mode loss and gradients on batch 0, the initial weights
    tidy(() => {
      model.eval();
      const b = batches[0]!;
      const l = model.loss(model.scores(model.encodeText(b.texts), model.encodeMolecules(batchGraphs(b.graphs))));
      l.total.backward();
      const saved: Record<string, Tensor> = { loss: l.total.detach().reshape(1), grains: tensorOf([l.global.item(), l.local.item(), l.mid.item()]) };
      for (const [name, p] of model.namedParameters()) saved[`grad.${name}`] = p.grad ?? zeros(p.shape);
      saveSafetensors(join(dir, 'parity.safetensors'), saved);
      opt.zeroGrad();
      model.train();
    });
    const script = fileURLToPath(new URL('../../bench/reference/orma_step.py', import.meta.url));
    const jemalloc = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
    const env = existsSync(jemalloc) ? { ...process.env, LD_PRELOAD: jemalloc, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' } : process.env;
    const r = spawnSync('/usr/bin/python3', [script, '--weights', join(dir, 'weights.safetensors'), '--inputs', join(dir, 'inputs.safetensors'),
      '--parity', join(dir, 'parity.safetensors'), '--batches', String(batches.length), '--threads', String(getNumThreads()),
      '--config', JSON.stringify({ orma: DEFAULT_ORMA, bert, otTieTolerance: OT_TIE_TOLERANCE }), ...(pad ? ['--pad', pad.shapes, '--time-batches', String(pad.steps)] : [])],
      { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    if (r.status !== 0) { process.stderr.write(`orma_step.py failed: ${r.stderr.slice(-3000)}\n`); return null; }
    const out = JSON.parse(r.stdout) as { times_ms: number[]; parity: unknown; torch_version: string; threads: number; cpu: unknown; padded_to: string | null };
    const sorted = [...out.times_ms].sort((a, b) => a - b);
    return { version: out.torch_version, threads: out.threads, jemalloc: existsSync(jemalloc), step_ms_median: Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(1)),
      step_ms_mean: Number((out.times_ms.reduce((a, b) => a + b, 0) / out.times_ms.length).toFixed(1)), steps: out.times_ms.length,
      padded_to: out.padded_to, parity: out.parity, cpu: out.cpu };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function keepAll(x: Record<string, Tensor>): Record<string, Tensor> {
  for (const t of Object.values(x)) keep(t);
  return x;
}

const tensorOf = (values: number[]) => tensor(Float32Array.from(values), { dtype: 'float32', shape: [values.length] });
const torchResult = values.torch || values['fixed-padding'] ? torchReference() : null;
const torchFixed = values['fixed-padding'] ? torchReference({ shapes: OFFICIAL_PADDING, steps: Number(values['fixed-steps'] ?? 3) }) : null;

const zero = (): Parts => ({ text: 0, molecules: 0, scores: 0, backward: 0, optimizer: 0, total: 0 });
const orma = zero(), globalOnly = zero();
const fine = { local: 0, mid: 0 };
// warm-up on every batch: a step on shapes the allocator has not seen yet faults in fresh pages (80k
// faults, +150 ms of text forward on a 71-token batch, measured 2026-12-01e), which the trainer pays only
// in its first steps (~550 faults a step after that, in a run at step 285)
for (const b of batches) { step(b, 'all'); step(b, 'global'); fineGrains(b); }
for (let s = 1; s <= steps; s++) {
  const b = batches[s]!;
  // alternate which step goes first, so that whatever remains of that effect is not charged to one side
  if (s % 2) { step(b, 'all', orma); step(b, 'global', globalOnly); } else { step(b, 'global', globalOnly); step(b, 'all', orma); }
  const f = fineGrains(b);
  fine.local += f.local; fine.mid += f.mid;
}
const per = (x: number) => Number((x / steps).toFixed(1));

/** Self ms per step of each op in the ORMA and the global-only steps, the ops the ORMA step adds most to first. */
function opProfile(top = 30): Record<string, unknown> {
  const run = (grains: 'all' | 'global') => profile(() => { for (let s = 1; s <= steps; s++) step(batches[s]!, grains); });
  const all = run('all'), global = run('global');
  const globalOps = new Map(global.ops.map((o) => [o.name, o]));
  const rows = all.ops.map((o) => {
    const globalMs = globalOps.get(o.name)?.selfMs ?? 0;
    return { name: o.name, calls_per_step: per(o.calls), orma_self_ms: per(o.selfMs), global_self_ms: per(globalMs), extra_ms: per(o.selfMs - globalMs) };
  });
  // each fine grain alone (forward + backward from fixed encoder outputs), its ops by self time
  const grains = { local: [] as OpTime[][], mid: [] as OpTime[][] };
  for (let s = 1; s <= steps; s++) fineGrains(batches[s]!, (grain, f) => { grains[grain].push(profile(f).ops); });
  const grainOps = (runs: OpTime[][]) => {
    const sum = new Map<string, { calls: number; selfMs: number }>();
    for (const o of runs.flat()) { const e = sum.get(o.name) ?? { calls: 0, selfMs: 0 }; e.calls += o.calls; e.selfMs += o.selfMs; sum.set(o.name, e); }
    return { recorded_ms_per_step: per([...sum.values()].reduce((n, e) => n + e.selfMs, 0)),
      ops: [...sum].map(([name, e]) => ({ name, calls_per_step: per(e.calls), self_ms: per(e.selfMs) })).sort((a, b) => b.self_ms - a.self_ms).slice(0, top) };
  };
  return { recorded_ms_per_step: { orma: per(all.recordedMs), global_only: per(global.recordedMs) },
    ops: rows.sort((a, b) => b.extra_ms - a.extra_ms).slice(0, top), local: grainOps(grains.local), mid: grainOps(grains.mid) };
}
const opTimes = values.profile ? opProfile() : null;
const padding = (() => {
  let real = 0, slots = 0, atomsReal = 0, atomsPadded = 0;
  for (const b of batches.slice(1)) {
    real += b.texts.attentionMask.reduce((n: number, x: number) => n + x, 0); slots += b.texts.attentionMask.length;
    atomsReal += b.graphs.reduce((n, g) => n + g.numAtoms, 0); atomsPadded += b.graphs.length * Math.max(...b.graphs.map((g) => g.numAtoms));
  }
  return { text_padding_fraction: Number((1 - real / slots).toFixed(3)), tokens_per_text: Number((real / (steps * batchSize)).toFixed(1)),
    atom_padding_fraction_if_padded_to_batch_max: Number((1 - atomsReal / atomsPadded).toFixed(3)) };
})();

let worst: Record<string, unknown> | null = null;
if (!values['no-worst']) {
  // the largest molecule of the data with the longest text, in a batch of otherwise typical pairs
  const big = rows.reduce((best, r, i) => (graphOf(i).numAtoms > graphOf(best).numAtoms ? i : best), 0);
  const longest = ids.reduce((best, s, i) => (s.length > ids[best]!.length ? i : best), 0);
  const idx = [big, ...order[1]!.slice(0, batchSize - 1)];
  const b = collate(idx);
  b.texts = padSequences([ids[longest]!, ...idx.slice(1).map((i) => ids[i]!)], tokenizer.special.pad);
  const rssBefore = process.resourceUsage().maxRSS;
  const parts = zero();
  step(b, 'all', parts);
  worst = { atoms: graphOf(big).numAtoms, motifs: graphOf(big).numMotifs, tokens: ids[longest]!.length, step_ms: Number(parts.total.toFixed(1)),
    peak_rss_mb_before: Math.round(rssBefore / 1024), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

const result = {
  benchmark: 'orma training step',
  machine: machineInfo(),
  load_average_at_end: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))),
  config: { orma: DEFAULT_ORMA, bert, batch: batchSize, steps, params: model.numParameters(), data: 'ChEBI-20 validation pairs, length-bucketed batches (timing only)', ...padding },
  step_ms: per(orma.total),
  global_only_step_ms: per(globalOnly.total),
  ratio: Number((orma.total / globalOnly.total).toFixed(3)),
  breakdown_ms: { text_forward: per(orma.text), molecule_forward: per(orma.molecules), scores_and_loss: per(orma.scores), backward: per(orma.backward), optimizer: per(orma.optimizer) },
  global_only_breakdown_ms: { text_forward: per(globalOnly.text), molecule_forward: per(globalOnly.molecules), scores_and_loss: per(globalOnly.scores), backward: per(globalOnly.backward), optimizer: per(globalOnly.optimizer) },
  fine_grains_forward_backward_ms: { local: per(fine.local), mid: per(fine.mid), both: per(fine.local + fine.mid) },
  worst_batch: worst,
  profile: opTimes,
  pairs_per_second: Number((batchSize * steps / (orma.total / 1000)).toFixed(1)),
  torch: torchResult,
  ratio_orma_over_torch: torchResult ? Number((orma.total / steps / (torchResult.step_ms_median as number)).toFixed(3)) : null,
  // the official fixed shapes against dynamic ones, PyTorch both; and against orma's own step
  torch_fixed_padding: torchFixed,
  fixed_padding_speedup: torchFixed && torchResult ? {
    torch_dynamic: Number(((torchFixed.step_ms_median as number) / (torchResult.step_ms_median as number)).toFixed(2)),
    orma_dynamic: Number(((torchFixed.step_ms_median as number) / (orma.total / steps)).toFixed(2)),
  } : null,
};
console.log(JSON.stringify(result, null, values.json ? undefined : 2));
opt.dispose(); model.dispose();
