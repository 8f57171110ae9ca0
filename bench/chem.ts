// Chemistry benchmark: SMILES -> HierGraph molecules/s on the 3,300 ChEBI-20 test molecules, single
// process, next to the Python reference (RDKit 2022.09 BRICS.FindBRICSBonds + the official ORMA motif
// rule, test/reference/brics_motifs.py --bench) run on the same machine in the same run.
// Prints one JSON object.   npm run bench:chem    (data from ../shared/data, or ORMA_DATA=DIR)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPairFile } from '../src/data/datasets.js';
import { initRDKit, rdkitVersion } from '../src/chem/rdkit.js';
import { buildHierGraph, FEATURIZER_VERSION, type HierGraphOptions } from '../src/chem/hiergraph.js';
import { cpuWindow, hostInfo, median } from './stats.js';

const DATA = resolve(process.env.ORMA_DATA ?? '../shared/data');
const FILE = join(DATA, 'chebi20', 'test.tsv');
const PYTHON = '/usr/bin/python3';
const REPEATS = 3;
const OPTIONS: HierGraphOptions = { noBricsFallback: 'rings', downwardEdges: false };

/** One pass over all molecules: wall-clock and CPU-time rates (CPU time shows contention from other work). */
function orma(smiles: string[], options: HierGraphOptions = OPTIONS): { molecules_per_second: number; cpu_molecules_per_second: number; failures: number } {
  let failures = 0;
  const window = cpuWindow();
  for (const s of smiles) {
    try { buildHierGraph(s, options); } catch { failures++; }
  }
  const { wall_s, own_s } = window();
  return { molecules_per_second: smiles.length / wall_s, cpu_molecules_per_second: smiles.length / own_s, failures };
}

function python(): Record<string, unknown> {
  const check = spawnSync(PYTHON, ['-c', 'import rdkit'], { stdio: 'ignore' });
  if (check.status !== 0) return { skipped: `${PYTHON} has no rdkit (install python3-rdkit)` };
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r = spawnSync(PYTHON, [join('test', 'reference', 'brics_motifs.py'), '--data', FILE, '--bench'], { encoding: 'utf8' });
    if (r.status !== 0) return { error: r.stderr.trim() };
    runs.push(JSON.parse(r.stdout) as Record<string, number>);
  }
  const rates = runs.map((r) => r.molecules_per_second!).sort((a, b) => a - b);
  return { rdkit: runs[0]!.rdkit, molecules: runs[0]!.molecules, failures: runs[0]!.failures, molecules_per_second: median(rates), runs: rates.map(round) };
}

const round = (x: number) => Math.round(x);

async function main(): Promise<void> {
  if (!existsSync(FILE)) throw new Error(`${FILE} not found: set ORMA_DATA to the shared data folder`);
  const smiles = readPairFile(FILE).rows.map((r) => r.smiles);
  const start = hostInfo();
  const t0 = performance.now();
  await initRDKit();
  const initMs = performance.now() - t0;
  const first = orma(smiles); // includes JIT warm-up
  const runs = Array.from({ length: REPEATS }, () => orma(smiles));
  const rates = runs.map((r) => r.molecules_per_second).sort((a, b) => a - b);
  const cpuRates = runs.map((r) => r.cpu_molecules_per_second).sort((a, b) => a - b);
  // the same pipeline with BRICS environments matched by RDKit's SMARTS engine instead of the predicates
  const smartsRuns = Array.from({ length: REPEATS }, () => orma(smiles, { ...OPTIONS, bricsMatcher: 'rdkit' }).molecules_per_second).sort((a, b) => a - b);
  const ormaResult = {
    rdkit_minimallib: rdkitVersion(), featurizer_version: FEATURIZER_VERSION, init_ms: round(initMs),
    molecules_per_second: round(median(rates)), runs: rates.map(round), first_pass: round(first.molecules_per_second),
    cpu_time_molecules_per_second: round(median(cpuRates)), failures: first.failures,
    with_rdkit_smarts_brics_molecules_per_second: round(median(smartsRuns)),
  };
  const py = python();
  const pyRate = typeof py.molecules_per_second === 'number' ? py.molecules_per_second : null;
  console.log(JSON.stringify({
    benchmark: 'chem: SMILES -> HierGraph (atom/bond features, BRICS bonds, motifs, edges)',
    machine: start,
    config: { data: FILE, molecules: smiles.length, options: OPTIONS, repeats: REPEATS, statistic: 'median molecules/s (wall clock), single process' },
    orma: ormaResult,
    python_reference: pyRate === null ? py : { ...py, molecules_per_second: round(pyRate) },
    speedup_vs_python: pyRate === null ? null : +(median(rates) / pyRate).toFixed(2),
    target_molecules_per_second: 2000,
    loadavg_at_end: hostInfo().loadavg,
  }, null, 2));
}

await main();
