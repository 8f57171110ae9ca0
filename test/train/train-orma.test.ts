// `orma train` on the 192-pair fixture: it learns (validation MRR well above chance), it is deterministic,
// a resumed run equals an uninterrupted one bit for bit, SIGKILL at random moments (mid-checkpoint too)
// loses at most the steps since the last save, Ctrl-C saves and exits 130, and bad configs name the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { ConfigError, resolveTrainConfig, type TrainConfig } from '../../src/train/config.js';
import { trainOrma } from '../../src/train/train-orma.js';
import { checkpointDir, loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadOrmaModel } from '../../src/model/factory.js';
import { liveTensorCount } from '../../src/tensor/index.js';
import type { TrainerState } from '../../src/train/train-orma.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'orma.js');
const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'train');
const tmp = mkdtempSync(join(tmpdir(), 'orma-train-'));
const cache = join(tmp, 'cache');

function tinyConfig(overrides: string[] = []): TrainConfig {
  const file = JSON.parse(readFileSync(join(FIXTURES, 'tiny.json'), 'utf8')) as { data: Record<string, unknown> };
  file.data.sources = [join(FIXTURES, 'pairs-train.tsv')];
  file.data.validation = [{ name: 'val', file: join(FIXTURES, 'pairs-val.tsv') }];
  file.data.cache = cache;
  return resolveTrainConfig(file, overrides, 'tiny.json');
}

const quiet = { log: () => {}, progress: null };
const weights = (dir: string) => readFileSync(join(dir, 'model.safetensors'));

test('a tiny run learns: validation MRR rises well above chance, best/ and last/ load as models', async () => {
  const before = liveTensorCount();
  const out = join(tmp, 'learn');
  const r = await trainOrma({ config: tinyConfig(['optim.epochs=12']), out, ...quiet });
  assert.equal(r.finished, true);
  assert.equal(r.skippedSteps, 0);
  const chance = Array.from({ length: 48 }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b) / 48;  // MRR of a random ranking, pool 48
  const fused = r.lastValidation!.sets.val!.fused.mrr;
  assert.ok(fused > 2 * chance, `fused MRR ${fused} vs chance ${chance.toFixed(3)}`);
  assert.ok(r.best && r.best.score >= fused);
  for (const dir of ['best', 'last']) {
    const b = loadOrmaModel(join(out, dir));
    assert.equal(b.config.orma.logitScale, 'learned');
    b.model.dispose();
  }
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.equal(lines.filter((l) => l.type === 'step').length, r.steps);
  assert.ok(lines.filter((l) => l.type === 'validation').length >= 3);
  assert.match(readFileSync(join(out, 'curves.svg'), 'utf8'), /^<svg/);
  assert.equal(liveTensorCount(), before, 'tensors leaked');
});

test('model.init warm-starts from a trained model folder (its validation score at step 0), and refuses another architecture', async () => {
  const source = join(tmp, 'learn', 'best');  // written by the test above
  const best = (JSON.parse(readFileSync(join(source, 'trainer-state.json'), 'utf8')) as TrainerState).best!;
  const out = join(tmp, 'warm');
  await trainOrma({ config: tinyConfig([`model.init=${source}`, 'run.validateAtStart=true']), out, maxSteps: 1, ...quiet });
  const first = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]!) as { type: string; step: number; sets: { val: { fused: { mrr: number } } } };
  assert.equal(first.type, 'validation');
  assert.equal(first.step, 0);
  assert.ok(Math.abs(first.sets.val.fused.mrr - best.score) < 1e-6, `${first.sets.val.fused.mrr} vs ${best.score}`);
  await assert.rejects(trainOrma({ config: tinyConfig([`model.init=${source}`, 'model.text.ffn=48']), out: join(tmp, 'warm-bad'), maxSteps: 1, ...quiet }),
    (e: Error) => e instanceof ConfigError && /model\.init: .*shape mismatch/s.test(e.message));
  await assert.rejects(trainOrma({ config: tinyConfig([`model.init=${tmp}`]), out: join(tmp, 'warm-none'), maxSteps: 1, ...quiet }),
    (e: Error) => e instanceof ConfigError && /not an orma model folder/.test(e.message));
});

test('same seed, same run; a resumed run equals the uninterrupted one bit for bit', async () => {
  const config = tinyConfig(['optim.epochs=3']);
  const a = join(tmp, 'det-a'), b = join(tmp, 'det-b'), c = join(tmp, 'det-c');
  await trainOrma({ config, out: a, ...quiet });
  await trainOrma({ config, out: b, ...quiet });
  assert.ok(weights(join(a, 'last')).equals(weights(join(b, 'last'))), 'two runs with one seed differ');
  const first = await trainOrma({ config, out: c, maxSteps: 13, ...quiet });
  assert.equal(first.steps, 13);
  assert.equal(first.finished, false);
  const second = await trainOrma({ config, out: c, resume: true, ...quiet });
  assert.equal(second.finished, true);
  assert.ok(weights(join(a, 'last')).equals(weights(join(c, 'last'))), 'the resumed run differs from the uninterrupted one');
  assert.ok(readFileSync(join(a, 'last', 'optimizer.safetensors')).equals(readFileSync(join(c, 'last', 'optimizer.safetensors'))));
  const steps = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step);
  assert.deepEqual(steps(c), steps(a), 'the resumed run logs every step once');
  // a run directory is never silently overwritten, and a resume must use the same config
  await assert.rejects(trainOrma({ config, out: a, ...quiet }), /already holds a run/);
  await assert.rejects(trainOrma({ config: tinyConfig(['optim.epochs=3', 'optim.lr=0.01']), out: a, resume: true, ...quiet }), /another model, data, optimisation or seed/);
});

function spawnTrain(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout!.resume();
  return { child, done: new Promise((res) => child.on('exit', (code) => res(code))), stderr: () => err };
}

test('SIGKILL at random moments loses at most the steps since the last save; Ctrl-C saves and exits 130', async () => {
  const out = join(tmp, 'kill');
  const configPath = join(tmp, 'kill.json');
  const config = tinyConfig(['optim.epochs=30', 'run.checkpointEverySteps=3']);  // 360 steps: long enough to be mid-run at every kill
  writeFileSync(configPath, JSON.stringify(config));
  let lastStep = 0;
  for (let round = 0; round < 4; round++) {
    const run = spawnTrain(['--config', configPath, '--out', out, ...(round > 0 ? ['--resume'] : [])]);
    // once the run is training, kill it at a random moment: between steps, mid-step or mid-save
    await new Promise<void>((res) => {
      const poll = setInterval(() => { if (/train \d+\//.test(run.stderr()) || /resuming/.test(run.stderr())) { clearInterval(poll); res(); } }, 20);
    });
    await new Promise((res) => setTimeout(res, 200 + Math.random() * 900));
    run.child.kill('SIGKILL');
    await run.done;
    const dir = checkpointDir(join(out, 'last'));
    if (!dir) continue;  // killed before the first save
    const ck = loadCheckpoint<TrainerState>(dir);
    for (const t of [...Object.values(ck.model), ...Object.values(ck.optimizer.tensors)]) t.dispose();
    assert.ok(ck.state.step >= lastStep, `checkpoint went back from step ${lastStep} to ${ck.state.step}`);
    assert.equal(ck.state.step % 3, 0, 'a checkpoint is only ever written at a save point');
    lastStep = ck.state.step;
    loadOrmaModel(dir).model.dispose();
    if (existsSync(join(out, 'best'))) loadOrmaModel(checkpointDir(join(out, 'best'))!).model.dispose();
  }
  // Ctrl-C: saves last/ at the current step and exits 130
  const run = spawnTrain(['--config', configPath, '--out', out, '--resume']);
  await new Promise<void>((res) => { const poll = setInterval(() => { if (/train \d+\//.test(run.stderr())) { clearInterval(poll); res(); } }, 20); });
  run.child.kill('SIGINT');
  assert.equal(await run.done, 130, run.stderr());
  const stoppedAt = loadCheckpoint<TrainerState>(checkpointDir(join(out, 'last'))!);
  for (const t of [...Object.values(stoppedAt.model), ...Object.values(stoppedAt.optimizer.tensors)]) t.dispose();
  assert.ok(stoppedAt.state.step >= lastStep);
  const finish = spawnTrain(['--config', configPath, '--out', out, '--resume']);
  assert.equal(await finish.done, 0, finish.stderr());
  const final = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { finished: boolean; steps: number };
  assert.equal(final.finished, true);
  assert.equal(final.steps, stoppedAt.state.totalSteps);
  // steps redone after a kill are logged once: the log holds steps 1..N in order
  const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step);
  assert.deepEqual(logged, Array.from({ length: final.steps }, (_, i) => i + 1));
});

test('a wall-clock budget ends the run on time with the learning rate decayed to zero', async () => {
  const out = join(tmp, 'budget');
  const t0 = performance.now();
  const r = await trainOrma({ config: tinyConfig(['optim.epochs=1000', 'optim.budgetMinutes=0.15', 'optim.warmup=5', 'run.validateEverySteps=1000']), out, ...quiet });
  assert.equal(r.finished, true);
  assert.ok((performance.now() - t0) / 1000 < 60, 'the budget did not stop the run');
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; lr: number }).filter((l) => l.type === 'step');
  assert.ok(steps.length > 5, `${steps.length} steps`);
  // the decay follows the clock: by the last step most of the budget is used and the lr is well down
  const last = steps[steps.length - 1] as unknown as { lr: number; minutes: number };
  assert.ok(last.minutes >= 0.8 * 0.15, `last step at ${last.minutes} min`);
  assert.ok(last.lr < 0.5 * 3e-3, `last lr ${last.lr}`);
  assert.ok(steps.every((s, i) => i < 6 || s.lr <= steps[i - 1]!.lr), 'the lr rose after the warm-up');
});

test('optim.steps fixes the schedule\'s length in steps, whatever the epochs', async () => {
  const out = join(tmp, 'steps');
  const r = await trainOrma({ config: tinyConfig(['optim.epochs=1000', 'optim.steps=7', 'optim.warmup=2', 'run.validateEverySteps=1000']), out, ...quiet });
  assert.equal(r.finished, true);
  assert.equal(r.steps, 7);
  const lrs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; lr: number }).filter((l) => l.type === 'step').map((l) => l.lr);
  assert.equal(lrs.length, 7);
  assert.ok(lrs[6]! < 0.1 * 3e-3, `the cosine ends near 0 at step 7: lr ${lrs[6]}`);
});

test('config errors name the field', () => {
  const bad = (overrides: string[], pattern: RegExp) => assert.throws(() => tinyConfig(overrides), (e: Error) => e instanceof ConfigError && pattern.test(e.message));
  bad(['optim.lr=-1'], /optim\.lr: .*(greater|>)/);
  bad(['optim.batchSize=2.5'], /optim\.batchSize: .*integer/i);
  bad(['optim.steps=0'], /optim\.steps/);
  bad(['optim.schedul=cosine'], /optim.*schedul/);
  bad(['model.preset=fancy'], /model\.preset/);
  bad(['data.sources=[]'], /data\.sources/);
  bad(['nonsense'], /not key=value/);
  assert.throws(() => resolveTrainConfig({ data: {} }, [], 'x.json'), /x\.json: invalid training config:[\s\S]*data\.sources/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
