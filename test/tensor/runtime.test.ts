// Engine-wide facts: BLAS in use, threads, seeds, OpenMP wait policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blasInfo, assertFastBlas, getNumThreads, setNumThreads, getBlasThreads, setBlasThreads, cudaAvailable, randn, tidy, manualSeed } from '../../src/tensor/index.js';
import { codeTable, native, COMPARE, UNARY } from '../../src/tensor/native.js';
import { DTYPE_CODES } from '../../src/tensor/dtype.js';

test('libtorch runs on an optimized BLAS, not the reference one (the silent 10-18x slowdown)', () => {
  const info = blasInfo();
  assert.notEqual(info.kind, 'reference', `reference BLAS in use: ${info.library}`);
  assert.ok(['openblas', 'mkl', 'blis'].includes(info.kind), `unexpected BLAS: ${JSON.stringify(info)}`);
  assert.doesNotThrow(assertFastBlas);
  // OpenBLAS names its kernel family, the one OPENBLAS_CORETYPE forces when it is set
  if (info.kind === 'openblas') {
    assert.match(info.core ?? '', /^[A-Za-z0-9]+$/, `core ${info.core}`);
    if (process.env.OPENBLAS_CORETYPE) assert.equal(info.core!.toLowerCase(), process.env.OPENBLAS_CORETYPE.toLowerCase());
  } else assert.equal(info.core, null);
});

test('threads: default from the CPUs available (or ORMA_NUM_THREADS), setNumThreads validates', () => {
  const n = getNumThreads();
  assert.ok(n >= 1);
  if (process.env.ORMA_NUM_THREADS) assert.equal(n, Number(process.env.ORMA_NUM_THREADS));
  assert.throws(() => setNumThreads(0), /setNumThreads: expected a positive integer, got 0/);
  assert.throws(() => setNumThreads(1.5), /positive integer/);
  const openblas = blasInfo().kind === 'openblas';
  if (openblas) assert.equal(getBlasThreads(), n, 'OpenBLAS pool follows the default');
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  // OpenBLAS keeps a pool of its own that libtorch's setting does not reach: one thread means one in GEMMs too
  if (openblas) assert.equal(getBlasThreads(), 1);
  // results do not depend on the thread count
  const run = () => tidy(() => { manualSeed(9); const a = randn([300, 200], { dtype: 'float64' }); return a.matmul(a.mT).sum().item(); });
  const one = run();
  setNumThreads(n);
  assert.equal(getNumThreads(), n);
  if (openblas) assert.equal(getBlasThreads(), n);
  // OpenBLAS's pool alone, for measuring other set-ups
  assert.equal(setBlasThreads(1), openblas);
  if (openblas) assert.equal(getBlasThreads(), 1);
  assert.equal(getNumThreads(), n);
  setNumThreads(n);
  assert.throws(() => setBlasThreads(0), /setBlasThreads: expected a positive integer/);
  assert.ok(Math.abs(run() - one) < 1e-9 * Math.abs(one));
});

test('OpenMP workers sleep instead of spinning unless the user chose a policy', () => {
  assert.ok(process.env.OMP_WAIT_POLICY, 'set before libtorch loaded');
});

test('a CPU-only libtorch reports no CUDA', () => {
  assert.equal(typeof cudaAvailable(), 'boolean');
});

test("the code tables come from the addon, and a name on one side only fails loudly", () => {
  const codes = native.codes();
  assert.deepEqual({ ...UNARY }, codes.unary);
  assert.deepEqual({ ...COMPARE }, codes.compare);
  assert.deepEqual({ ...DTYPE_CODES }, codes.dtype);
  assert.throws(() => codeTable('unary', ['exp', 'noSuchOp']), /disagree on the unary codes \(only in TypeScript: noSuchOp; only in the addon: log, /);
});
