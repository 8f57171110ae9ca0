// End-to-end tests of the `orma` command: usage errors, info, demo, and an interrupted, resumed
// pre-training run (SIGINT saves a checkpoint; --resume finishes it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { blasAdvice } from '../../src/cli/commands/info.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'orma.js');

function orma(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('help lists the commands; unknown commands and flags are usage errors (exit 2)', () => {
  const help = orma(['--help']);
  assert.equal(help.code, 0);
  for (const c of ['demo', 'info', 'featurize', 'vocab', 'pretrain-text', 'bench']) assert.match(help.stdout, new RegExp(`\\n  ${c} `));
  const none = orma([]);
  assert.equal(none.code, 2);
  const unknown = orma(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badFlag = orma(['info', '--bogus']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /orma info: Unknown option '--bogus'/);
});

test('orma info names the BLAS kernels, and hints at SkylakeX only for an AVX-512 CPU on AVX2 kernels', () => {
  const r = orma(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { blas: { kind: string; core: string | null }; avx512: boolean; hint: string | null };
  assert.equal(info.hint, blasAdvice(info.blas.core, info.avx512));
  assert.match(blasAdvice('Haswell', true) ?? '', /AVX-512 .*Haswell kernels.*OPENBLAS_CORETYPE=SkylakeX/);
  for (const [core, avx512] of [['SkylakeX', true], ['Cooperlake', true], ['Haswell', false], [null, true]] as const) assert.equal(blasAdvice(core, avx512), null, `${core} ${avx512}`);
});

test('orma bench NAME --help prints the benchmark\'s header (what it measures, its options) without running it', () => {
  for (const [name, text] of [['orma', /ORMA training-step benchmark[\s\S]*--fixed-padding/], ['engine', /Engine benchmark/], ['fused', /Whole-pool fused scoring/]] as const) {
    const r = orma(['bench', name, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, text);
    assert.doesNotMatch(r.stdout, /^(import|const) /m);
  }
  assert.equal(orma(['bench', 'nonesuch', '--help']).code, 2);
});

test('info --json reports threads and an optimized BLAS', () => {
  const r = orma(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { threads: number; blasThreads: number | null; blas: { kind: string }; cuda: boolean };
  assert.ok(info.threads >= 1);
  // OpenBLAS's own pool follows the engine's thread count
  if (info.blas.kind === 'openblas') assert.equal(info.blasThreads, info.threads);
  assert.notEqual(info.blas.kind, 'reference');
  assert.equal(info.cuda, false);
});

test('demo runs offline and shows aspirin\'s four motifs', () => {
  const r = orma(['demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /13 atoms, 13 bonds, 3 BRICS bonds, 4 motifs/);
  assert.match(r.stdout, /\[CLS\] the molecule is a member of the class of benzoic acids/);
});

test('vocab and pretrain-text refuse evaluation files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-cli-'));
  try {
    const file = join(dir, 'test.tsv');
    writeFileSync(file, 'CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol.\n');
    const v = orma(['vocab', '--data', file, '--size', '100', '--out', join(dir, 'v.txt')]);
    assert.equal(v.code, 2);
    assert.match(v.stderr, /refusing to build a vocabulary from evaluation text/);
    const p = orma(['pretrain-text', '--data', file, '--out', join(dir, 'pt')]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /refusing to pre-train from evaluation text/);
    const missing = orma(['pretrain-text', '--data', join(dir, 'nope.tsv'), '--out', join(dir, 'pt')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.tsv/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain-text: Ctrl-C saves a checkpoint, --resume finishes the run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orma-cli-pt-'));
  try {
    const data = join(dir, 'train.tsv');
    const rows = Array.from({ length: 40 }, (_, i) => `${i}\tC${'C'.repeat(i % 5)}O\tThe molecule is an alcohol with ${i % 5 + 2} carbon atoms and a hydroxy group.`);
    writeFileSync(data, ['CID\tSMILES\tdescription', ...rows].join('\n') + '\n');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ hidden: 16, layers: 1, heads: 2, ffn: 32, maxPositions: 64 }));
    const out = join(dir, 'out');
    const args = [BIN, 'pretrain-text', '--data', data, '--out', out, '--config', config, '--epochs', '20', '--batch-size', '4', '--warmup', '5', '--max-length', '64'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/pretrain-text: 40 training texts/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await exit;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after this step and saving a checkpoint/);
    assert.ok(existsSync(join(out, 'checkpoint', 'trainer-state.json')));
    const stoppedAt = (JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer-state.json'), 'utf8')) as { step: number }).step;
    assert.ok(stoppedAt > 0 && stoppedAt < 200, `stopped at step ${stoppedAt}`);
    const resumed = orma(['pretrain-text', ...args.slice(2), '--resume', '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming from .* at step ${stoppedAt}`));
    const result = JSON.parse(resumed.stdout) as { steps: number; finished: boolean };
    assert.equal(result.steps, 200);
    assert.ok(result.finished);
    for (const f of ['config.json', 'vocab.txt', 'model.safetensors', 'tokenizer_config.json']) assert.ok(existsSync(join(out, f)), f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('orma export writes a model directory (float32 or float16, with a card) that loads to the same weights', async () => {
  const { loadOrmaModel } = await import('../../src/model/factory.js');
  const dir = mkdtempSync(join(tmpdir(), 'orma-export-'));
  try {
    const src = join(PACKAGE_ROOT, 'test', 'fixtures', 'models', 'tiny');
    writeFileSync(join(dir, 'card.md'), '# tiny\n');
    const out32 = join(dir, 'm32'), out16 = join(dir, 'm16');
    assert.equal(orma(['export', '--checkpoint', src, '--out', out32]).code, 0);
    const r = orma(['export', '--checkpoint', out32, '--out', out16, '--float16', '--card', join(dir, 'card.md')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /float16/);
    assert.equal(readFileSync(join(out16, 'README.md'), 'utf8'), '# tiny\n');
    const a = loadOrmaModel(src), b = loadOrmaModel(out16);
    const wa = new Map(a.model.namedParameters()), wb = new Map(b.model.namedParameters());
    assert.equal(wa.size, wb.size);
    for (const [k, t] of wa) assert.ok(t.sub(wb.get(k)!).abs().max().item() === 0, `${k} changed`);  // the fixture is float16 already
    a.model.dispose(); b.model.dispose();
    const missing = orma(['export', '--checkpoint', join(dir, 'nope'), '--out', join(dir, 'x')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope: not a checkpoint or model directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
