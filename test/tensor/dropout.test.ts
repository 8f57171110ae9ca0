// Dropout masks (native/src/dropout.cc): rate, independence, determinism, thread count, gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropout, getNumThreads, manualSeed, ones, randn, setNumThreads, tidy } from '../../src/tensor/index.js';

/** The mask of a dropout on ones: 0 or 1/(1-p) per element. */
const maskOf = (shape: number[], p: number, dtype: 'float32' | 'float64' = 'float32') => dropout(ones(shape, { dtype }), p, true).toNumbers();

test('dropout masks drop p of the elements, independently of their neighbours', () => tidy(() => {
  manualSeed(1);
  const n = 1 << 20;
  for (const p of [0.1, 0.5]) {
    const m = maskOf([n], p), keep = 1 / (1 - p);
    assert.ok(m.every((v) => v === 0 || Math.abs(v - keep) < 1e-6), 'values are 0 or 1/(1-p)');
    const dropped = m.filter((v) => v === 0).length / n;
    assert.ok(Math.abs(dropped - p) < 5 * Math.sqrt((p * (1 - p)) / n), `p ${p}: dropped ${dropped}`);
    // pairs at distances 1 and 1024 (neighbours in a row, in a column): both dropped at rate p²
    for (const d of [1, 1024]) {
      let both = 0;
      for (let i = 0; i + d < n; i++) if (m[i] === 0 && m[i + d] === 0) both++;
      const rate = both / (n - d), q = p * p;
      assert.ok(Math.abs(rate - q) < 5 * Math.sqrt((q * (1 - q)) / (n - d)), `p ${p}, distance ${d}: both dropped ${rate}`);
    }
  }
}));

test('dropout masks follow manualSeed, differ call to call, and do not depend on the thread count', () => tidy(() => {
  const threads = getNumThreads();
  try {
    manualSeed(7);
    const a = maskOf([300, 700], 0.3), b = maskOf([300, 700], 0.3);
    assert.notDeepEqual(a, b, 'two calls give two masks');
    manualSeed(7);
    assert.deepEqual(maskOf([300, 700], 0.3), a, 'same seed, same mask');
    setNumThreads(1);
    manualSeed(7);
    assert.deepEqual(maskOf([300, 700], 0.3), a, 'one thread, same mask');
    manualSeed(8);
    assert.notDeepEqual(maskOf([300, 700], 0.3), a, 'another seed, another mask');
    // float32 goes 8 lanes at a time, float64 one by one: the same draws (an odd size, so both tails run)
    manualSeed(9);
    const lanes = maskOf([1001], 0.3).map((v) => v === 0);
    manualSeed(9);
    assert.deepEqual(maskOf([1001], 0.3, 'float64').map((v) => v === 0), lanes, 'vector and scalar draws agree');
  } finally {
    setNumThreads(threads);
  }
}));

test('dropout keeps the shape and dtype (float64, a transposed input), and its gradient is the mask', () => tidy(() => {
  manualSeed(3);
  const x = randn([6, 9], { dtype: 'float64' }).transpose(0, 1).requiresGrad_(true);
  const y = dropout(x, 0.4, true);
  assert.deepEqual(y.shape, [9, 6]);
  assert.equal(y.dtype, 'float64');
  y.sum().backward();
  const xs = x.toNumbers(), ys = y.toNumbers(), g = x.grad!.toNumbers();
  g.forEach((gi, i) => {
    assert.ok(gi === 0 || Math.abs(gi - 1 / 0.6) < 1e-12, `grad ${gi}`);
    assert.ok(Math.abs(ys[i]! - gi * xs[i]!) < 1e-12, 'y = x · mask');
  });
  assert.ok(g.some((v) => v === 0) && g.some((v) => v !== 0));
}));
