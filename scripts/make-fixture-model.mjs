// Makes the small committed model directory test/fixtures/models/tiny/ (config.json, model.safetensors
// in float16, vocab.txt) that the search tests and examples/ run on: a ~300k-parameter ORMA model trained
// for a few seconds on the 192 fixture pairs of test/fixtures/train/. Build first, then:
//   npm run build && node scripts/make-fixture-model.mjs [--run DIR]   (DIR: an existing training run to save)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { run: { type: 'string' } } });
const factory = join(ROOT, 'dist', 'src', 'model', 'factory.js');
if (!existsSync(factory)) {
  console.error('make-fixture-model: build first (npm run build): missing ' + factory);
  process.exit(2);
}
let run = values.run, scratch = null;
if (!run) {
  scratch = mkdtempSync(join(tmpdir(), 'orma-tiny-'));
  run = join(scratch, 'run');
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'orma.js'), 'train', '--config', 'test/fixtures/train/tiny.json', '--out', run, '--quiet',
    `data.cache=${JSON.stringify(join(scratch, 'cache'))}`], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const { loadOrmaModel, saveOrmaModel } = await import(pathToFileURL(factory).href);
const out = join(ROOT, 'test', 'fixtures', 'models', 'tiny');
const bundle = loadOrmaModel(join(run, 'best'));
saveOrmaModel(out, bundle, { float16: true });
bundle.model.dispose();
if (scratch) rmSync(scratch, { recursive: true, force: true });
console.log(JSON.stringify({ out, dim: bundle.config.orma.dim }));
