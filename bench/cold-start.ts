// CLI cold start to first answer: `node bin/orma.js search "<text>" --json` (or `--smiles S`) spawned N
// times, each timed from spawn to exit, with the in-process split the command reports with --timings
// (process start to the command, the search modules imported, model and libraries loaded, the index
// opened, the search; `total` is process start to answer, so wall − total is process exit and spawn). The index is made
// ready first by `orma index` for the library the search uses (timed as prepare_s; it builds the index
// only when it is missing), so the runs measure a cold process, not an index build; the files are then in
// the page cache (a cold disk is not measured). Prints one JSON object.
//   node dist/bench/cold-start.js [--n 10] [--text "..."] [--smiles S] [--k 10] [--rerank 50]
//        [--model DIR] [--molecules F] [--texts F] [--index DIR]
// Defaults: the shipped model and libraries and the default index folder, as `orma search` uses them.
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MOLECULE_LIBRARY, DEFAULT_TEXT_LIBRARY, defaultIndexDir } from '../src/search/index.js';
import { machineInfo } from './machine.js';
import { cpuWindow, percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' }, text: { type: 'string' }, smiles: { type: 'string' }, k: { type: 'string' }, rerank: { type: 'string' },
    model: { type: 'string' }, molecules: { type: 'string' }, texts: { type: 'string' }, index: { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'orma.js');
const runs = Number(values.n ?? 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--n must be a positive integer, got ${values.n}`);
const text = values.text ?? 'The molecule is a monocarboxylic acid anion that is the conjugate base of lactic acid.';
const common = [
  ...(values.model ? ['--model', values.model] : []), ...(values.molecules ? ['--molecules', values.molecules] : []),
  ...(values.texts ? ['--texts', values.texts] : []), ...(values.index ? ['--index', values.index] : []),
];
const query = values.smiles !== undefined ? ['--smiles', values.smiles] : [text];
const search = ['search', ...query, '--json', '--timings', '--k', values.k ?? '10', '--rerank', values.rerank ?? '50', ...common];

const cpu = cpuWindow();
// the index of the library this search reads, built if missing (texts: with the token cache stage 2 reads)
const library = values.smiles !== undefined ? values.texts : values.molecules;
const prepare = ['index', '--library', library ?? (values.smiles !== undefined ? DEFAULT_TEXT_LIBRARY : DEFAULT_MOLECULE_LIBRARY), '--out', values.index ?? defaultIndexDir(),
  ...(values.model ? ['--model', values.model] : [])];
const t0 = performance.now();
const prep = spawnSync(process.execPath, [BIN, ...prepare], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (prep.status !== 0) throw new Error(`orma ${prepare.join(' ')} failed (exit ${prep.status})`);
const prepareSeconds = (performance.now() - t0) / 1000;

interface Timings { start_to_command: number; import: number; load: number; index: number; search: number; total: number }
function once(): Promise<{ wall: number; timings: Timings; hits: number }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn(process.execPath, [BIN, ...search], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    p.on('error', reject);
    p.on('close', (code) => {
      const wall = performance.now() - t;
      if (code !== 0) return reject(new Error(`orma ${search.join(' ')} exited ${code}: ${stderr.trim()}`));
      const line = stderr.split('\n').find((l) => l.startsWith('{"timings_ms"'));
      if (!line) return reject(new Error(`no --timings line on stderr: ${stderr.trim()}`));
      resolve({ wall, timings: (JSON.parse(line) as { timings_ms: Timings }).timings_ms, hits: (JSON.parse(stdout) as unknown[]).length });
    });
  });
}

const results: { wall: number; timings: Timings; hits: number }[] = [];
for (let i = 0; i < runs; i++) results.push(await once());
const stat = (xs: number[]) => ({ p50: +percentile(xs, 50).toFixed(1), max: +Math.max(...xs).toFixed(1), min: +Math.min(...xs).toFixed(1) });
const keys = ['start_to_command', 'import', 'load', 'index', 'search', 'total'] as const;
console.log(JSON.stringify({
  machine: machineInfo(),
  bench: 'cold-start',
  command: ['node', 'bin/orma.js', ...search],
  runs,
  prepare_s: +prepareSeconds.toFixed(1),
  wall_ms: stat(results.map((r) => r.wall)),
  in_process_ms: Object.fromEntries(keys.map((k) => [k, stat(results.map((r) => r.timings[k]))])),
  hits: results[0]!.hits,
  all_wall_ms: results.map((r) => +r.wall.toFixed(1)),
  other_cpu: cpu(),
}));
