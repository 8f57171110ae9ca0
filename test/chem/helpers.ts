// Shared helpers for the chemistry tests: fixture/data paths and golden-file loading.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (tests compile to dist/test/chem/). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = join(REPO, 'test', 'fixtures', 'chem');
/** Shared data beside the repo (CI clones it there); tests skip when it is absent. */
export const SHARED = join(REPO, '..', 'shared', 'data');
export const CHEBI_VALIDATION = join(SHARED, 'chebi20', 'validation.tsv');
export const CHEBI_TEST = join(SHARED, 'chebi20', 'test.tsv');
export const PYTHON = '/usr/bin/python3';

export interface GoldenRecord {
  line: number;
  smiles: string;
  n_atoms?: number;
  brics_bonds?: [number, number][];
  motifs?: number[][];
  error?: string;
  atoms?: Record<string, unknown>[];
  bonds?: Record<string, unknown>[];
}

export function readJsonl(path: string): GoldenRecord[] {
  let raw = readFileSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  return raw.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as GoldenRecord);
}

/** SMILES column of a data TSV, with 1-based line numbers (header = line 1). */
export function readSmilesColumn(path: string): { line: number; smiles: string }[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const col = lines[0]!.split('\t').indexOf('SMILES');
  return lines.slice(1).map((l, i) => ({ line: i + 2, smiles: l.split('\t')[col] ?? '' })).filter((r) => r.smiles);
}

export const haveShared = () => existsSync(CHEBI_VALIDATION);

let pythonOk: boolean | null = null;
export function havePythonRDKit(): boolean {
  if (pythonOk === null) pythonOk = spawnSync(PYTHON, ['-c', 'import rdkit'], { stdio: 'ignore' }).status === 0;
  return pythonOk;
}

/** Motifs as a canonical multiset: atoms sorted within each motif, motifs sorted. */
export function canonicalMotifs(motifs: readonly (readonly number[])[]): string[] {
  return motifs.map((m) => JSON.stringify([...m].sort((a, b) => a - b))).sort();
}
/** Motifs with atoms sorted, order kept. */
export function sortedWithin(motifs: readonly (readonly number[])[]): number[][] {
  return motifs.map((m) => [...m].sort((a, b) => a - b));
}
