// Finite-difference gradient checking, as torch.autograd.gradcheck: float64 inputs, central
// differences, compared element by element with the gradients autograd computes.
//
//   assertGradcheck((x, w) => x.matmul(w).tanh(), [x, w]);
//
// Non-scalar outputs are reduced to a scalar by a fixed random projection s = Σ out ⊙ R (R drawn
// from a seeded JS generator, so torch's global generator is not disturbed), which checks the full
// vector-Jacobian product for one random cotangent. Inputs are checked when they require grad
// (or the ones listed in `wrt`). Functions that draw random numbers (dropout) pass `seed`: the
// global generator is re-seeded before every evaluation, so every evaluation uses the same mask.
import { Tensor, tidy, noGrad, enableGrad, tensor, manualSeed } from '../../src/tensor/index.js';
import { mulberry32 } from '../../src/util/random.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of the inputs to check; default: the inputs that require grad. */
  wrt?: number[];
  /** Re-seed torch's generator with this before every evaluation (for random ops). */
  seed?: number;
  /** Seed of the projection weights. */
  projectionSeed?: number;
}

export interface GradcheckWorst {
  input: number;
  index: number[];
  numeric: number;
  analytic: number;
  absErr: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** The element with the largest violation (|a-n| - atol - rtol|n|), or the largest error if all pass. */
  worst: GradcheckWorst | null;
  checked: number;
}

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
export function seededUniform(n: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = random() * 2 - 1;
  return out;
}

function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}): GradcheckResult {
  const eps = o.eps ?? 1e-6, atol = o.atol ?? 1e-5, rtol = o.rtol ?? 1e-3;
  const wrt = o.wrt ?? inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (wrt.length === 0) throw new Error('gradcheck: no input requires grad (set requiresGrad or pass wrt)');
  for (const i of wrt) {
    if (inputs[i]!.dtype !== 'float64') throw new Error(`gradcheck: input ${i} is ${inputs[i]!.dtype}; use float64`);
    if (!inputs[i]!.requiresGrad) inputs[i]!.requiresGrad_(true);
  }
  const reseed = () => { if (o.seed !== undefined) manualSeed(o.seed); };

  return tidy(() => {
    // Analytic: d(Σ out ⊙ R)/d input via one backward.
    for (const i of wrt) inputs[i]!.zeroGrad();
    reseed();
    const out = enableGrad(() => fn(...inputs));
    if (out.dtype !== 'float64') throw new Error(`gradcheck: fn returned ${out.dtype}; compute in float64`);
    const outShape = out.shape;
    const proj = seededUniform(out.numel, o.projectionSeed ?? 1234);
    const projT = tensor(proj, { dtype: 'float64', shape: outShape });
    // An output that does not require grad has zero analytic gradients (the numeric ones must be zero too).
    if (out.requiresGrad) enableGrad(() => out.mul(projT).sum()).backward();
    const analytic = wrt.map((i) => {
      const g = inputs[i]!.grad;
      const a = g ? (g.toArray() as Float64Array).slice() : new Float64Array(inputs[i]!.numel);
      inputs[i]!.zeroGrad();
      return a;
    });

    // Numeric: central differences of the same projection.
    const evalProjected = (): number => tidy(() => noGrad(() => {
      reseed();
      const y = fn(...inputs);
      const v = y.toArray() as Float64Array;
      if (v.length !== proj.length) throw new Error(`gradcheck: output size changed from ${proj.length} to ${v.length} under perturbation`);
      let s = 0;
      for (let k = 0; k < v.length; k++) s += v[k]! * proj[k]!;
      return s;
    }));

    let worst: GradcheckWorst | null = null;
    let worstScore = -Infinity;
    let ok = true;
    let checked = 0;
    wrt.forEach((inputIdx, w) => {
      const x = inputs[inputIdx]!;
      const shape = x.shape;
      const base = (x.toArray() as Float64Array).slice();
      const work = base.slice();
      const setData = () => tidy(() => { x.copy_(tensor(work, { dtype: 'float64', shape })); });
      try {
        for (let k = 0; k < base.length; k++) {
          work[k] = base[k]! + eps;
          setData();
          const fPlus = evalProjected();
          work[k] = base[k]! - eps;
          setData();
          const fMinus = evalProjected();
          work[k] = base[k]!;
          const numeric = (fPlus - fMinus) / (2 * eps);
          const a = analytic[w]![k]!;
          const absErr = Math.abs(a - numeric);
          const score = absErr - atol - rtol * Math.abs(numeric);
          if (!(score <= 0)) ok = false;  // NaN fails too
          if (score > worstScore || Number.isNaN(score)) {
            worstScore = Number.isNaN(score) ? Infinity : score;
            worst = { input: inputIdx, index: unravel(k, shape), numeric, analytic: a, absErr };
          }
          checked++;
        }
      } finally {
        work.set(base);
        setData();  // the input gets its original values back even when fn throws
      }
    });
    return { ok, worst, checked };
  });
}

/** Throws an AssertionError-like Error naming the worst element when the gradients disagree. */
export function assertGradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], o: GradcheckOptions = {}, label = 'gradcheck'): GradcheckResult {
  const r = gradcheck(fn, inputs, o);
  if (!r.ok) {
    const w = r.worst!;
    throw new Error(`${label}: gradient mismatch at input ${w.input} index [${w.index.join(', ')}]: ` +
      `numeric ${w.numeric}, analytic ${w.analytic} (|diff| ${w.absErr.toExponential(3)}; ${r.checked} elements checked)`);
  }
  return r;
}
