// Engine benchmark: matmul GFLOP/s, per-op overhead, and one BERT training step next to PyTorch.
//
//   node dist/bench/engine.js [--json] [--steps N] [--quick] [--no-torch]
//
// The BERT step (4 layers × 512, 8 heads, FFN 2048, B=32, L=128, mean-pooled dummy loss, AdamW)
// runs in orma and, in a separate process, in Python PyTorch 1.13 (bench/reference/bert_step.py)
// with the same thread count. It also runs orma with the caching allocator off to show its effect.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AdamW, getNumThreads, randint, randn, ones, tidy, zeros, liveTensorCount, memoryStats } from '../src/tensor/index.js';
import { BertModel } from '../src/nn/index.js';
import { machineInfo } from './machine.js';
import { timeMedian, timeMs } from './stats.js';

export const BERT_BENCH = { vocabSize: 30522, hidden: 512, layers: 4, heads: 8, ffn: 2048, maxPositions: 512, dropout: 0.1, batch: 32, length: 128 };

/** GFLOP/s of a 1024³ float32 matmul. */
function matmulGflops(reps: number): number {
  const a = randn([1024, 1024]), b = randn([1024, 1024]);
  const t = timeMedian(() => tidy(() => { a.matmul(b); }), reps, 2);
  a.dispose(); b.dispose();
  return (2 * 1024 ** 3) / (t.median_ms / 1000) / 1e9;
}

/** Microseconds per tiny op called from JS (create the result tensor, free it at scope end). */
function opOverheadUs(): number {
  const x = zeros([2]), y = zeros([2]);
  const n = 20000;
  const best = Math.min(...[0, 1, 2].map(() => (timeMs(() => tidy(() => { for (let i = 0; i < n; i++) x.add(y); })) * 1000) / n));
  x.dispose(); y.dispose();
  return best;
}

/** ms per BERT training step in this process. */
export function bertStepMs(steps: number): { median_ms: number; min_ms: number; runs: number; params: number } {
  const c = BERT_BENCH;
  const model = new BertModel(c).train();
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  const ids = randint(0, c.vocabSize, [c.batch, c.length]);
  const mask = ones([c.batch, c.length], { dtype: 'int64' });
  const step = () => tidy(() => {
    const out = model.forward(ids, mask);
    const loss = out.lastHidden.mean(1).pow(2).mean();
    loss.backward();
    opt.step();
    opt.zeroGrad();
  });
  const t = timeMedian(step, steps, 1);
  const params = model.numParameters();
  ids.dispose(); mask.dispose(); opt.dispose(); model.dispose();
  return { ...t, params };
}

function runChild(args: string[], env: NodeJS.ProcessEnv): Record<string, unknown> | null {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) { process.stderr.write(r.stderr); return null; }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

/** PyTorch's step time; with `jemalloc`, under jemalloc with page return disabled (engine-notes.md's best set-up). */
function torchStep(steps: number, threads: number, jemalloc = false): Record<string, unknown> | null {
  const script = fileURLToPath(new URL('../../bench/reference/bert_step.py', import.meta.url));
  if (!existsSync('/usr/bin/python3') || (jemalloc && !existsSync(JEMALLOC))) return null;
  const env = jemalloc ? { ...process.env, LD_PRELOAD: JEMALLOC, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' } : process.env;
  const r = spawnSync('/usr/bin/python3', [script, '--steps', String(steps), '--threads', String(threads), '--config', JSON.stringify(BERT_BENCH)], { encoding: 'utf8', env });
  if (r.status !== 0) { process.stderr.write(`bert_step.py failed: ${r.stderr.slice(-2000)}\n`); return null; }
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, steps: { type: 'string' }, quick: { type: 'boolean' }, 'no-torch': { type: 'boolean' }, 'only-bert': { type: 'boolean' } } });
  const steps = Number(values.steps ?? (values.quick ? 2 : 5));
  if (values['only-bert']) {  // child-process mode: one measurement, JSON on stdout
    console.log(JSON.stringify({ ...bertStepMs(steps), stats: memoryStats() }));
    return;
  }
  const threads = getNumThreads();
  const log = (m: string) => { if (!values.json) console.error(m); };
  log('matmul...');
  const matmul = matmulGflops(values.quick ? 5 : 20);
  log('op overhead...');
  const overhead = opOverheadUs();
  log('BERT step (orma, caching allocator on)...');
  const orma = runChild(['--only-bert', '--steps', String(steps)], {});
  log('BERT step (orma, caching allocator off)...');
  const ormaNoCache = values.quick ? null : runChild(['--only-bert', '--steps', String(steps)], { ORMA_CACHING_ALLOCATOR: '0' });
  log('BERT step (PyTorch)...');
  const torch = values['no-torch'] ? null : torchStep(steps, threads);
  log('BERT step (PyTorch under jemalloc, if installed)...');
  const torchJe = values['no-torch'] || values.quick ? null : torchStep(steps, threads, true);
  const bert = orma?.median_ms as number | undefined;
  const tb = torch?.median_ms as number | undefined;
  const result = {
    benchmark: 'engine',
    machine: machineInfo(),
    config: { bert: BERT_BENCH, steps, optimizer: 'AdamW lr 1e-4', loss: 'mean over tokens of the last hidden state, squared, averaged' },
    matmul_gflops: Number(matmul.toFixed(1)),
    op_overhead_us: Number(overhead.toFixed(2)),
    bert_step_ms: bert === undefined ? null : Number(bert.toFixed(1)),
    bert_step_ms_no_caching_allocator: ormaNoCache ? Number((ormaNoCache.median_ms as number).toFixed(1)) : null,
    torch_bert_step_ms: tb === undefined ? null : Number(tb.toFixed(1)),
    ratio: bert !== undefined && tb !== undefined ? Number((bert / tb).toFixed(3)) : null,
    torch_bert_step_ms_jemalloc: torchJe ? Number((torchJe.median_ms as number).toFixed(1)) : null,
    ratio_vs_torch_jemalloc: bert !== undefined && torchJe ? Number((bert / (torchJe.median_ms as number)).toFixed(3)) : null,
    torch: torch ? { version: torch.torch_version, threads: torch.threads, params: torch.params } : null,
    orma_params: orma?.params ?? null,
    live_tensors_after: liveTensorCount(),
  };
  console.log(JSON.stringify(result, null, values.json ? undefined : 2));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
