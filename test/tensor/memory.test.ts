// Deterministic tensor lifetimes: tidy scopes, keep/dispose/using, the GC safety net, and the
// leak test of a 2,000-step training loop (live tensors constant, RSS flat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Tensor, tidy, keep, dispose, liveTensorCount, zeros, ones, randn, tensor, linear, crossEntropy, AdamW, manualSeed, memoryStats, emptyCache, randint, noGrad,
} from '../../src/tensor/index.js';

test('tidy frees everything created inside except the returned tensor', () => {
  const before = liveTensorCount();
  const out = tidy(() => {
    const a = ones([3]);
    const b = a.mul(2).add(1);
    b.exp();
    return b.sum();
  });
  assert.equal(liveTensorCount(), before + 1);
  assert.equal(out.item(), 9);
  out.dispose();
  assert.equal(liveTensorCount(), before);
});

test('tidy returns tensors inside arrays, plain objects and Maps; other values pass through', () => {
  const before = liveTensorCount();
  const r = tidy(() => {
    const x = ones([2]);
    const junk = x.mul(3);
    junk.neg();
    return { list: [x.add(1), x.add(2)], nested: { y: x.mul(5) }, map: new Map([['z', x.sub(1)]]), n: 42, s: 'text' };
  });
  assert.equal(liveTensorCount(), before + 4);
  assert.deepEqual(r.list[1]!.toNumbers(), [3, 3]);
  assert.deepEqual(r.nested.y.toNumbers(), [5, 5]);
  assert.deepEqual(r.map.get('z')!.toNumbers(), [0, 0]);
  assert.equal(r.n, 42);
  dispose(r);
  assert.equal(liveTensorCount(), before);
});

test('nested tidy: a tensor returned from an inner scope belongs to the outer one', () => {
  const before = liveTensorCount();
  let innerResult: Tensor | undefined;
  const outer = tidy(() => {
    const a = ones([2]);
    innerResult = tidy(() => {
      const t = a.mul(2);
      t.add(1);
      return t.mul(3);
    });
    assert.equal(liveTensorCount(), before + 2, 'a and the inner result live inside the outer scope');
    assert.equal(innerResult.isDisposed(), false);
    return innerResult.add(a);
  });
  assert.equal(innerResult!.isDisposed(), true, 'the outer scope freed the inner result');
  assert.deepEqual(outer.toNumbers(), [7, 7]);
  outer.dispose();
  assert.equal(liveTensorCount(), before);
});

test('a throw inside tidy still frees the scope, and the error propagates', () => {
  const before = liveTensorCount();
  let leaked: Tensor | undefined;
  assert.throws(() => tidy(() => {
    leaked = ones([4]).mul(2);
    tidy(() => { zeros([2]); throw new Error('boom'); });
  }), /boom/);
  assert.equal(leaked!.isDisposed(), true);
  assert.equal(liveTensorCount(), before);
  // a native error inside tidy too
  assert.throws(() => tidy(() => ones([2, 3]).matmul(ones([2, 3]))), /matmul/);
  assert.equal(liveTensorCount(), before);
});

test('tidy rejects async functions without leaking', () => {
  const before = liveTensorCount();
  assert.throws(() => tidy((async () => { ones([1]); }) as unknown as () => void), /Promise/);
  assert.equal(liveTensorCount(), before);
});

test('backward works after the scope that built the graph freed its intermediate handles', () => {
  const w = keep(tensor([1, 2], { dtype: 'float64', requiresGrad: true }));
  const before = liveTensorCount();
  const loss = tidy(() => w.mul(w).exp().log().mul(3).sum());
  assert.equal(liveTensorCount(), before + 1, 'only the loss handle is left');
  loss.backward();
  tidy(() => assert.deepEqual(w.grad!.toNumbers(), [6, 12]));
  loss.dispose();
  w.dispose();
});

test('keep() exempts a tensor from every enclosing scope; dispose() frees it', () => {
  const before = liveTensorCount();
  let kept: Tensor | undefined;
  tidy(() => {
    tidy(() => {
      kept = keep(ones([3]).mul(2));
      ones([1]);
    });
  });
  assert.equal(kept!.isDisposed(), false);
  assert.deepEqual(kept!.toNumbers(), [2, 2, 2]);
  assert.equal(liveTensorCount(), before + 1);
  kept!.dispose();
  assert.equal(liveTensorCount(), before);
  // a kept tensor returned from a scope is still not freed by the parent
  const r = tidy(() => tidy(() => keep(ones([2]))));
  tidy(() => { r.add(1); });
  assert.equal(r.isDisposed(), false);
  r.dispose();
  assert.equal(liveTensorCount(), before);
});

test('dispose is idempotent, and use after dispose throws a clear Error (also through other ops)', () => {
  const before = liveTensorCount();
  const t = ones([2]);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed(), true);
  assert.equal(liveTensorCount(), before);
  assert.throws(() => t.toArray(), { name: 'Error', message: /tensor used after dispose\(\)/ });
  assert.throws(() => t.add(1), /used after dispose/);
  const u = ones([2]);
  assert.throws(() => u.add(t), /used after dispose/);
  assert.throws(() => t.shape, /used after dispose/);
  assert.equal(t.toString(), 'Tensor(disposed)');
  u.dispose();
  // disposing inside a scope, then the scope closing, is fine
  tidy(() => { const x = ones([1]); x.dispose(); });
  assert.equal(liveTensorCount(), before);
});

test('`using` disposes at the end of the block (Symbol.dispose)', () => {
  const before = liveTensorCount();
  let seen: Tensor | undefined;
  {
    using t = ones([5]);
    seen = t;
    assert.equal(liveTensorCount(), before + 1);
  }
  assert.equal(seen.isDisposed(), true);
  assert.equal(liveTensorCount(), before);
});

test('the FinalizationRegistry frees tensors dropped outside any scope after a GC (child process with --expose-gc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-gc-'));
  try {
    const index = fileURLToPath(new URL('../../src/tensor/index.js', import.meta.url));
    const script = join(dir, 'gc-check.mjs');
    writeFileSync(script, `
      import { ones, liveTensorCount, keep } from ${JSON.stringify(index)};
      const before = liveTensorCount();
      const kept = [];
      (() => { for (let i = 0; i < 200; i++) { const t = ones([1000]).mul(2); if (i % 50 === 0) kept.push(t); } })();
      const created = liveTensorCount() - before;
      for (let i = 0; i < 20 && liveTensorCount() - before > kept.length; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log(JSON.stringify({ created, after: liveTensorCount() - before, kept: kept.length, keptAlive: kept.every((t) => t.toArray().length === 1000) }));
    `);
    const r = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { created: number; after: number; kept: number; keptAlive: boolean };
    assert.equal(res.created, 400, 'ones() and mul() outside a scope');
    assert.equal(res.after, res.kept, `live tensors after GC: ${res.after}, still referenced: ${res.kept}`);
    assert.equal(res.keptAlive, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('leak test: 2,000 AdamW training steps keep live tensors constant and RSS flat', () => {
  manualSeed(0);
  const before = liveTensorCount();
  // hidden activations of 128 KiB: above the caching allocator's 64 KiB threshold, so its free lists are exercised too
  const [inDim, hidden, classes, batch] = [32, 256, 10, 128];
  const params = tidy(() => noGrad(() => [
    randn([hidden, inDim]).mul(0.1), zeros([hidden]), randn([classes, hidden]).mul(0.1), zeros([classes]),
  ])).map((p) => keep(p.requiresGrad_()));
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const x = keep(randn([batch, inDim]));
  const y = keep(randint(0, classes, [batch]));
  const opt = new AdamW(params, { lr: 1e-3 });
  const step = (): number => tidy(() => {
    const logits = linear(linear(x, w1, b1).gelu(), w2, b2);
    const loss = crossEntropy(logits, y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss.item();
  });
  const t0 = Date.now();
  let firstLoss = 0, lastLoss = 0;
  const live: number[] = [];
  let rss200 = 0;
  let alloc200 = memoryStats();
  for (let i = 1; i <= 2000; i++) {
    const l = step();
    if (i === 1) firstLoss = l;
    lastLoss = l;
    if (i % 100 === 0) live.push(liveTensorCount());
    if (i === 200) { rss200 = process.memoryUsage().rss; alloc200 = memoryStats(); }
  }
  const rss2000 = process.memoryUsage().rss;
  const ms = Date.now() - t0;
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`leak test: ${ms} ms for 2000 steps; RSS ${mb(rss200)} MB at step 200, ${mb(rss2000)} MB at step 2000 (+${mb(rss2000 - rss200)} MB); ` +
    `live tensors ${live[0]}..${live[live.length - 1]} (before: ${before}); loss ${firstLoss.toFixed(4)} -> ${lastLoss.toFixed(4)}; allocator ${JSON.stringify(memoryStats())}`);
  assert.ok(live.every((n) => n === live[0]), `live tensor count changed during training: ${live.join(', ')}`);
  assert.equal(live[0], before + 6 + 8, 'params (4) + data (2) + Adam moments (8)');
  assert.ok(rss2000 - rss200 < 20 * 2 ** 20, `RSS grew by ${mb(rss2000 - rss200)} MB between steps 200 and 2000`);
  const alloc2000 = memoryStats();
  assert.equal(alloc2000.allocatedBytes, alloc200.allocatedBytes, 'large blocks in use between steps');
  assert.ok(alloc2000.cacheHits - alloc200.cacheHits >= 1800, `the training loop reuses cached blocks (${alloc2000.cacheHits - alloc200.cacheHits} hits)`);
  assert.ok(alloc2000.cacheMisses - alloc200.cacheMisses <= 2, `no fresh large blocks after warm-up (${alloc2000.cacheMisses - alloc200.cacheMisses} misses)`);
  assert.ok(lastLoss < firstLoss * 0.5, `training should fit the random labels: ${firstLoss} -> ${lastLoss}`);
  opt.dispose();
  dispose([params, x, y]);
  assert.equal(liveTensorCount(), before);
});

test('the caching allocator reuses freed large blocks', () => {
  const s0 = memoryStats();
  tidy(() => { for (let i = 0; i < 20; i++) tidy(() => { ones([1 << 20]).mul(2); }); });
  const s1 = memoryStats();
  assert.ok(s1.cacheHits - s0.cacheHits >= 30, `expected cache hits, got ${s1.cacheHits - s0.cacheHits} hits and ${s1.cacheMisses - s0.cacheMisses} misses`);
  assert.ok(s1.cacheMisses - s0.cacheMisses <= 4, `misses ${s1.cacheMisses - s0.cacheMisses}`);
  assert.equal(s1.allocatedBytes, s0.allocatedBytes, 'all large blocks given back');
});

test('the caching allocator never hands out a live block: interleaved sizes keep their data', () => {
  const before = liveTensorCount();
  tidy(() => {
    // sizes around and above the 64 KiB cache threshold, several in one size class
    const sizes = [16384, 16385, 17000, 18431, 20000, 65536, 70000, 100000, 262144, 262143];
    const live: { t: Tensor; v: number }[] = [];
    let v = 1;
    for (let round = 0; round < 6; round++) {
      for (const n of sizes) live.push({ t: tensor(new Float32Array(n).fill(v), { shape: [n] }).mul(1), v: v++ });
      // free every other one, then allocate again into the freed blocks
      for (let i = round % 2; i < live.length; i += 2) live[i]!.t.dispose();
      for (let i = live.length - 1; i >= 0; i--) if (live[i]!.t.isDisposed()) live.splice(i, 1);
    }
    for (const { t, v: value } of live) {
      const a = t.toArray() as Float32Array;
      assert.ok(a.every((x) => x === value), `a tensor filled with ${value} was overwritten`);
    }
  });
  assert.equal(liveTensorCount(), before);
});

test('emptyCache returns idle blocks; memoryStats reports them', () => {
  tidy(() => { ones([1 << 20]); });
  assert.ok(memoryStats().cachedBytes >= 4 << 20);
  emptyCache();
  assert.equal(memoryStats().cachedBytes, 0);
  assert.ok(memoryStats().peakBytes >= 4 << 20);
});
