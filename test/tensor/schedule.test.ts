// Learning-rate schedules: exact factors at warm-up, peak, decay and end; LRScheduler applies them per group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, keep, dispose, AdamW, LRScheduler, linearWarmupDecay, cosineWithWarmup, constant } from '../../src/tensor/index.js';

const near = (a: number, b: number, msg: string) => assert.ok(Math.abs(a - b) < 1e-15, `${msg}: ${a} vs ${b}`);

test('linearWarmupDecay = get_linear_schedule_with_warmup', () => {
  const f = linearWarmupDecay(4, 10);
  const expected: [number, number][] = [[0, 0], [1, 0.25], [2, 0.5], [3, 0.75], [4, 1], [5, 5 / 6], [7, 0.5], [9, 1 / 6], [10, 0], [13, 0]];
  for (const [step, v] of expected) near(f(step), v, `step ${step}`);
  // no warm-up: starts at the peak
  near(linearWarmupDecay(0, 8)(0), 1, 'warmup 0, step 0');
  near(linearWarmupDecay(0, 8)(2), 0.75, 'warmup 0, step 2');
  // warm-up as long as training: never decays before the end
  near(linearWarmupDecay(5, 5)(5), 0, 'warmup == total at the end');
});

test('cosineWithWarmup: linear warm-up, half cosine to minRatio, flat after the end', () => {
  const f = cosineWithWarmup(4, 12);
  near(f(0), 0, 'start');
  near(f(2), 0.5, 'mid warm-up');
  near(f(4), 1, 'peak');
  near(f(6), 0.5 * (1 + Math.cos(Math.PI / 4)), 'quarter');
  near(f(8), 0.5, 'half way');
  near(f(12), 0, 'end');
  near(f(20), 0, 'after the end stays at the floor');
  const g = cosineWithWarmup(0, 10, 0.1);
  near(g(0), 1, 'no warm-up starts at 1');
  near(g(5), 0.1 + 0.9 * 0.5, 'half way with minRatio');
  near(g(10), 0.1, 'end at minRatio');
  near(constant()(1234), 1, 'constant');
});

test('LRScheduler scales every group from its initial lr, starting at step 0 or a resumed step', () => {
  const a = keep(tensor([1], { requiresGrad: true })), b = keep(tensor([1], { requiresGrad: true }));
  const opt = new AdamW([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.02 }], { lr: 1 });
  const sched = new LRScheduler(opt, linearWarmupDecay(2, 6));
  assert.deepEqual(opt.lrs, [0, 0], 'step 0 of a warm-up: lr 0, as LambdaLR');
  sched.step();
  near(opt.lrs[0]!, 0.05, 'step 1 group 0');
  near(opt.lrs[1]!, 0.01, 'step 1 group 1');
  sched.step();
  assert.deepEqual(opt.lrs, [0.1, 0.02]);
  assert.equal(sched.currentStep, 2);
  assert.deepEqual(opt.initialLrs, [0.1, 0.02], 'initial lrs unchanged');
  const resumed = new LRScheduler(opt, linearWarmupDecay(2, 6), 5);
  near(opt.lrs[0]!, 0.1 * 0.25, 'resumed at step 5');
  resumed.step();
  assert.deepEqual(opt.lrs, [0, 0]);
  opt.dispose();
  dispose([a, b]);
});
