// Adam / AdamW / clipGradNorm / LRScheduler: a hand-computed update, parity with PyTorch 1.13
// (test/reference/optim_reference.py, skipped without /usr/bin/python3 + torch), and state round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Tensor, tensor, tidy, keep, dispose, Adam, AdamW, clipGradNorm, LRScheduler, linearWarmupDecay, saveSafetensors, loadSafetensors,
  liveTensorCount, type OptimizerState,
} from '../../src/tensor/index.js';
import { seededUniform } from '../helpers/gradcheck.js';

const PYTHON = '/usr/bin/python3';
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const referenceScript = fileURLToPath(new URL('../../../test/reference/optim_reference.py', import.meta.url));

function param(data: number[], shape = [data.length]): Tensor {
  return keep(tensor(Float64Array.from(data), { dtype: 'float64', shape, requiresGrad: true }));
}
/** Gives each parameter the gradient `grads[i]` (null: none) through a backward of Σ p·g. */
function setGrads(params: Tensor[], grads: (number[] | null)[]): void {
  tidy(() => {
    for (const p of params) p.zeroGrad();
    let loss: Tensor | null = null;
    params.forEach((p, i) => {
      const g = grads[i];
      if (!g) return;
      const term = p.mul(tensor(Float64Array.from(g), { dtype: 'float64', shape: p.shape })).sum();
      loss = loss ? loss.add(term) : term;
    });
    if (loss) (loss as Tensor).backward();
  });
}

test('Adam (L2) and AdamW: two steps on a scalar match the update written out by hand', () => {
  const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  const grads = [0.5, -1.0];
  for (const decoupled of [false, true]) {
    const before = liveTensorCount();
    const p = param([1.0]);
    const opt = decoupled ? new AdamW([p], { lr, weightDecay: wd }) : new Adam([p], { lr, weightDecay: wd });
    // by hand
    let x = 1.0, m = 0, v = 0;
    for (let t = 1; t <= 2; t++) {
      let g = grads[t - 1]!;
      if (decoupled) x *= 1 - lr * wd;
      else g += wd * x;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const mHat = m / (1 - b1 ** t), vHat = v / (1 - b2 ** t);
      x -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      setGrads([p], [[grads[t - 1]!]]);
      opt.step();
      const got = p.toNumbers()[0]!;
      assert.ok(Math.abs(got - x) < 1e-14, `${decoupled ? 'AdamW' : 'Adam'} step ${t}: ${got} vs ${x}`);
      if (t === 1) {
        // the first Adam step moves by lr·sign(g) (m̂/√v̂ = g/|g|), after AdamW's shrink
        const expected = decoupled ? 1 * (1 - lr * wd) - lr : 1 - lr;
        assert.ok(Math.abs(got - expected) < 1e-6, `first step ${got} vs ${expected}`);
      }
    }
    opt.dispose();
    p.dispose();
    assert.equal(liveTensorCount(), before);
  }
});

test('Adam skips parameters without a gradient and does not advance their step count', () => {
  const a = param([1, 2]), b = param([3]);
  const opt = new Adam([a, b], { lr: 0.01 });
  setGrads([a, b], [[1, 1], null]);
  opt.step();
  assert.deepEqual(b.toNumbers(), [3]);
  assert.deepEqual(opt.state().meta.groups[0]!.steps, [1, 0]);
  assert.equal(Object.keys(opt.state().tensors).length, 2, 'moments only for a');
  setGrads([a, b], [[1, 1], [1]]);
  opt.step();
  assert.deepEqual(opt.state().meta.groups[0]!.steps, [2, 1]);
  assert.ok(Math.abs(b.toNumbers()[0]! - (3 - 0.01)) < 1e-9, 'b takes a first step (bias correction at t=1)');
  opt.dispose();
  dispose([a, b]);
});

test('AdamW defaults to weight decay 0.01, Adam to 0; groups override lr and weight decay', () => {
  const a = param([1]), b = param([1]);
  const opt = new AdamW([{ params: [a], name: 'body' }, { params: [b], lr: 0.5, weightDecay: 0 }], { lr: 0.1 });
  assert.deepEqual(opt.lrs, [0.1, 0.5]);
  assert.deepEqual(opt.groupNames, ['body', 'group1']);
  assert.deepEqual(opt.state().meta.groups.map((g) => g.weightDecay), [0.01, 0]);
  assert.deepEqual(new Adam([a], { lr: 1 }).state().meta.groups[0]!.weightDecay, 0);
  opt.dispose();
  dispose([a, b]);
});

test('clipGradNorm: returns the total norm, scales only above maxNorm, ignores missing grads', () => {
  const a = param([0, 0]), b = param([0]), c = param([0]);
  setGrads([a, b, c], [[3, 0], [4], null]);
  assert.ok(Math.abs(clipGradNorm([a, b, c], 10) - 5) < 1e-12);
  tidy(() => assert.deepEqual(a.grad!.toNumbers(), [3, 0]));
  const n = clipGradNorm([a, b, c], 1);
  assert.ok(Math.abs(n - 5) < 1e-12);
  tidy(() => {
    const coef = 1 / (5 + 1e-6);
    assert.ok(Math.abs(a.grad!.toNumbers()[0]! - 3 * coef) < 1e-12);
    assert.ok(Math.abs(b.grad!.toNumbers()[0]! - 4 * coef) < 1e-12);
  });
  assert.equal(clipGradNorm([c], 1), 0);
  dispose([a, b, c]);
});

interface RefConfig {
  optimizer: 'adam' | 'adamw';
  lr: number;
  betas: [number, number];
  eps: number;
  params: Record<string, { shape: number[]; data: number[] }>;
  groups: { params: string[]; lr: number; weight_decay: number }[];
  grads: Record<string, number[]>[];
  warmup: number;
  total: number;
  max_norm: number | null;
}

function makeConfig(optimizer: 'adam' | 'adamw'): RefConfig {
  const shapes: Record<string, number[]> = { w: [3, 4], b: [4], e: [5, 2], c: [3] };
  const params: RefConfig['params'] = {};
  let seed = optimizer === 'adam' ? 11 : 22;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((x, y) => x * y, 1);
    params[name] = { shape, data: Array.from(seededUniform(n, seed++)) };
  }
  const steps = 12;
  const grads: RefConfig['grads'] = [];
  for (let s = 0; s < steps; s++) {
    const g: Record<string, number[]> = {};
    // gradient sizes vary so clipping is active on some steps and not on others
    const scale = s % 3 === 0 ? 3 : 0.2;
    for (const [name, p] of Object.entries(params)) {
      if (name === 'c' && (s === 0 || s === 5)) continue;  // no gradient: skipped, step count not advanced
      g[name] = Array.from(seededUniform(p.data.length, 1000 * s + seed++), (v) => v * scale);
    }
    grads.push(g);
  }
  return {
    optimizer, lr: 1e-2, betas: [0.9, 0.98], eps: 1e-6, params,
    groups: [{ params: ['w', 'b'], lr: 3e-2, weight_decay: 0.1 }, { params: ['e', 'c'], lr: 1e-2, weight_decay: 0.05 }],
    grads, warmup: 3, total: 10, max_norm: 1.0,
  };
}

/** The same run as optim_reference.py, in orma. */
function runOrma(cfg: RefConfig): { params: Record<string, number[]>; norms: number[]; lrs: number[][] } {
  const names = cfg.groups.flatMap((g) => g.params);
  const ps: Record<string, Tensor> = {};
  for (const n of names) ps[n] = param(cfg.params[n]!.data, cfg.params[n]!.shape);
  const Opt = cfg.optimizer === 'adam' ? Adam : AdamW;
  const opt = new Opt(cfg.groups.map((g) => ({ params: g.params.map((n) => ps[n]!), lr: g.lr, weightDecay: g.weight_decay })),
    { lr: cfg.lr, betas: cfg.betas, eps: cfg.eps });
  const sched = new LRScheduler(opt, linearWarmupDecay(cfg.warmup, cfg.total));
  const ordered = names.map((n) => ps[n]!);
  const norms: number[] = [], lrs: number[][] = [];
  for (const g of cfg.grads) {
    setGrads(ordered, names.map((n) => g[n] ?? null));
    norms.push(clipGradNorm(ordered, cfg.max_norm!));
    opt.step();
    sched.step();
    lrs.push(opt.lrs);
  }
  const out: Record<string, number[]> = {};
  for (const n of names) out[n] = ps[n]!.toNumbers();
  opt.dispose();
  dispose(ps);
  return { params: out, norms, lrs };
}

for (const kind of ['adam', 'adamw'] as const) {
  test(`${kind === 'adam' ? 'Adam (L2 weight decay)' : 'AdamW'} matches torch.optim with 2 param groups, LambdaLR warm-up/decay and clip_grad_norm_`, (t) => {
    if (!torchAvailable) { t.skip(`${PYTHON} with torch is not available`); return; }
    const cfg = makeConfig(kind);
    const dir = mkdtempSync(join(tmpdir(), 'orma-optim-'));
    try {
      const cfgPath = join(dir, 'config.json');
      writeFileSync(cfgPath, JSON.stringify(cfg));
      const r = spawnSync(PYTHON, [referenceScript, cfgPath], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const ref = JSON.parse(r.stdout) as { params: Record<string, number[]>; norms: number[]; lrs: number[][] };
      const ours = runOrma(cfg);
      let maxDiff = 0;
      for (const [name, values] of Object.entries(ref.params)) {
        values.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - ours.params[name]![i]!)); });
        // the run must actually have moved the parameters
        assert.ok(values.some((v, i) => Math.abs(v - cfg.params[name]!.data[i]!) > 1e-3), `${name} barely moved`);
      }
      const normDiff = Math.max(...ref.norms.map((n, i) => Math.abs(n - ours.norms[i]!)));
      const lrDiff = Math.max(...ref.lrs.flatMap((l, i) => l.map((x, j) => Math.abs(x - ours.lrs[i]![j]!))));
      console.log(`${kind}: max |param diff| vs PyTorch ${maxDiff.toExponential(2)}, norms ${normDiff.toExponential(2)}, lrs ${lrDiff.toExponential(2)}`);
      assert.ok(ref.norms.some((n) => n > 1) && ref.norms.some((n) => n < 1), 'clipping active on some steps only');
      assert.ok(maxDiff <= 1e-6, `max param diff ${maxDiff}`);
      assert.ok(normDiff <= 1e-9, `clip norm diff ${normDiff}`);
      assert.ok(lrDiff <= 1e-15, `lr diff ${lrDiff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('optimizer state()/loadState() through safetensors + JSON meta resumes exactly where training stopped', () => {
  const before = liveTensorCount();
  const dir = mkdtempSync(join(tmpdir(), 'orma-optstate-'));
  const init = { w: Array.from(seededUniform(6, 5)), b: Array.from(seededUniform(2, 6)) };
  const gradAt = (s: number) => [Array.from(seededUniform(6, 100 + s)), s === 1 ? null : Array.from(seededUniform(2, 200 + s))];
  const make = (w: number[], b: number[]) => {
    const ps = [param(w, [3, 2]), param(b)];
    const opt = new AdamW([{ params: [ps[0]!], lr: 0.05, name: 'w' }, { params: [ps[1]!], lr: 0.02, weightDecay: 0.3, name: 'b' }], { lr: 0.1 });
    return { ps, opt };
  };
  const train = (ps: Tensor[], opt: Adam, sched: LRScheduler, from: number, to: number) => {
    for (let s = from; s < to; s++) {
      setGrads(ps, gradAt(s));
      opt.step();
      sched.step();
    }
  };
  try {
    // uninterrupted: 6 steps
    const a = make(init.w, init.b);
    const schedA = new LRScheduler(a.opt, linearWarmupDecay(2, 6));
    train(a.ps, a.opt, schedA, 0, 6);
    const expected = a.ps.map((p) => p.toNumbers());

    // interrupted after 3 steps: save params + optimizer state, load into fresh objects, continue
    const b = make(init.w, init.b);
    const schedB = new LRScheduler(b.opt, linearWarmupDecay(2, 6));
    train(b.ps, b.opt, schedB, 0, 3);
    const st = b.opt.state();
    saveSafetensors(join(dir, 'optim.safetensors'), st.tensors);
    writeFileSync(join(dir, 'optim.json'), JSON.stringify({ meta: st.meta, step: schedB.currentStep }));
    saveSafetensors(join(dir, 'params.safetensors'), { w: b.ps[0]!, b: b.ps[1]! });
    b.opt.dispose();
    dispose(b.ps);

    const savedParams = loadSafetensors(join(dir, 'params.safetensors')).tensors;
    const c = make(savedParams.w!.toNumbers(), savedParams.b!.toNumbers());
    dispose(savedParams);
    const meta = JSON.parse(readFileSync(join(dir, 'optim.json'), 'utf8')) as { meta: OptimizerState['meta']; step: number };
    const loaded = loadSafetensors(join(dir, 'optim.safetensors')).tensors;
    c.opt.loadState({ tensors: loaded, meta: meta.meta });
    dispose(loaded);
    assert.deepEqual(c.opt.state().meta.groups.map((g) => g.steps), [[3], [2]]);
    const schedC = new LRScheduler(c.opt, linearWarmupDecay(2, 6), meta.step);
    assert.deepEqual(c.opt.lrs, b.opt.lrs);
    train(c.ps, c.opt, schedC, 3, 6);
    assert.deepEqual(c.ps.map((p) => p.toNumbers()), expected, 'bit-identical to uninterrupted training');

    // a state with the wrong number of groups or parameters is rejected
    const wrong = new Adam([c.ps[0]!], { lr: 1 });
    assert.throws(() => wrong.loadState(c.opt.state()), /2 parameter groups, this optimizer has 1/);
    wrong.dispose();
    for (const o of [a, c]) { o.opt.dispose(); dispose(o.ps); }
    assert.equal(liveTensorCount(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
