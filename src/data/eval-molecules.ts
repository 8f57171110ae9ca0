// The molecules of the benchmark evaluation and model-selection splits, shipped with the package
// (data/benchmarks/eval-molecules.tsv.gz, made by scripts/make-eval-molecules.mjs), so that leakage
// checks and the trainer's default exclusions work without any development data.
import { join } from 'node:path';
import { readTextFile } from '../util/fs.js';
import { PACKAGE_ROOT } from '../util/paths.js';

/** The shipped benchmark files' folder. */
export const BENCHMARK_DIR = join(PACKAGE_ROOT, 'data', 'benchmarks');
export const EVAL_MOLECULES_FILE = join(BENCHMARK_DIR, 'eval-molecules.tsv.gz');
/** All 33,010 ChEBI-20 molecules (`id`, `smiles`): the default search library and the `chebi20-all` evaluation pool. */
export const CHEBI20_MOLECULES_FILE = join(PACKAGE_ROOT, 'data', 'libraries', 'chebi20-molecules.tsv.gz');

/** The evaluation sets in the shipped file, in file order. */
export const EVAL_SETS = ['chebi20_test', 'chebi20_validation', 'chebi20_selection', 'pcdes_validation', 'pcdes_test'] as const;
export type EvalSet = (typeof EVAL_SETS)[number];

export interface EvalMolecule {
  set: EvalSet;
  cid: string;
}

let cached: Map<string, EvalMolecule[]> | null = null;

/**
 * Molecule key (canonical SMILES, as `moleculeKey` in leakage.ts computes it) -> the evaluation sets
 * holding that molecule. A molecule can be in several sets (the selection slice is part of ChEBI-20
 * validation; ChEBI-20 and PCdes share molecules). Read once per process.
 */
export function loadEvalMolecules(file = EVAL_MOLECULES_FILE): Map<string, EvalMolecule[]> {
  if (file === EVAL_MOLECULES_FILE && cached) return cached;
  const lines = readTextFile(file).split('\n');
  if (lines[0] !== 'set\tCID\tcanonical_smiles') throw new Error(`${file}: unexpected header '${lines[0]}'`);
  const known = new Set<string>(EVAL_SETS);
  const map = new Map<string, EvalMolecule[]>();
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const [set, cid, key] = lines[i]!.split('\t');
    if (set === undefined || cid === undefined || !key || !known.has(set)) throw new Error(`${file}:${i + 1}: malformed row`);
    const list = map.get(key);
    const entry = { set: set as EvalSet, cid };
    if (list) list.push(entry); else map.set(key, [entry]);
  }
  if (file === EVAL_MOLECULES_FILE) cached = map;
  return map;
}

/** The molecule keys of the chosen sets (all of them by default), e.g. for a trainer's exclusions. */
export function evalMoleculeKeys(sets: readonly EvalSet[] = EVAL_SETS): Set<string> {
  const wanted = new Set<string>(sets);
  const keys = new Set<string>();
  for (const [key, list] of loadEvalMolecules()) if (list.some((m) => wanted.has(m.set))) keys.add(key);
  return keys;
}
