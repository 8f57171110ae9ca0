// A training set: pairs from a list of sources, minus every molecule of the exclusions (evaluation and
// selection splits: the leakage rule), featurized through the on-disk cache. Every dropped or unusable
// row is counted and reported (file:line:field), never silently lost.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { initRDKit, type HierGraph, type HierGraphOptions } from '../chem/index.js';
import { EVAL_OVERLAP_COLUMN, formatProblems, readPairFile, type RowProblem } from './datasets.js';
import { EVAL_SETS, evalMoleculeKeys, type EvalSet } from './eval-molecules.js';
import { GraphCache } from './graph-cache.js';
import { moleculeKey } from './leakage.js';

export interface Pair {
  /** Source file and 1-based line, for reports. */
  file: string;
  line: number;
  id: string;
  /** Canonical SMILES: the molecule's identity. */
  molecule: string;
  text: string;
  graph: HierGraph;
  /** The evaluation sets the source flags this row's molecule with (PairRow.evalOverlap). */
  evalOverlap?: string;
}

export interface ExclusionReport { exclusion: string; molecules: number; droppedPairs: number }
export interface SourceReport { file: string; rows: number; kept: number; excluded: number; duplicates: number; unusable: number }

export interface TrainingSet {
  pairs: Pair[];
  sources: SourceReport[];
  exclusions: ExclusionReport[];
  problems: RowProblem[];
}

export function defaultGraphCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'orma', 'graphs');
}

/**
 * Whether an `eval_overlap` value (`;`-separated set names, extra/README) names a set among `benchmarks`.
 * `chebi20_validation_other` (validation outside the selection slice) is part of `chebi20_validation`; a
 * name orma does not know counts as excluded, so that a new flag can only remove rows, never leak them.
 */
export function flagsExcluded(value: string, benchmarks: readonly EvalSet[]): boolean {
  return value.split(';').map((f) => f.trim()).filter(Boolean).some((f) => {
    const set = f === 'chebi20_validation_other' ? 'chebi20_validation' : f;
    return !(EVAL_SETS as readonly string[]).includes(set) || benchmarks.includes(set as EvalSet);
  });
}

export interface LoadPairsOptions {
  featurizer: HierGraphOptions;
  cacheDir?: string | null;
  strict?: boolean;
  log?: (line: string) => void;
}

/** Reads pair files and featurizes their molecules; unparsable rows land in `problems`. */
export async function loadPairs(files: readonly string[], o: LoadPairsOptions): Promise<{ pairs: Pair[]; perFile: Map<string, number>; problems: RowProblem[] }> {
  await initRDKit();
  const cache = new GraphCache(o.cacheDir ?? defaultGraphCacheDir(), o.featurizer);
  const pairs: Pair[] = [], problems: RowProblem[] = [];
  const perFile = new Map<string, number>();
  for (const file of files) {
    const read = readPairFile(file, { strict: o.strict, requireDescription: true });
    problems.push(...read.problems);
    perFile.set(file, read.rows.length + read.problems.length);
    for (const r of read.rows) {
      try {
        const { graph, canonical } = cache.getOrBuild(r.smiles);
        pairs.push({ file, line: r.line, id: r.id, molecule: canonical, text: r.description!, graph, ...(r.evalOverlap ? { evalOverlap: r.evalOverlap } : {}) });
      } catch (err) {
        const p = { file, line: r.line, field: 'SMILES', message: (err as Error).message };
        if (o.strict) throw new Error(`${file}:${r.line}: field 'SMILES': ${p.message}`);
        problems.push(p);
      }
    }
  }
  return { pairs, perFile, problems };
}

/**
 * The training pairs of `sources` without any molecule of `exclude` (pair or molecule files) or of the
 * shipped benchmark evaluation sets `benchmarks`, and without the molecule of any row its own source flags
 * with one of `benchmarks` (an `eval_overlap` column; counted as its own exclusion); exact duplicate
 * (molecule, text) pairs are kept once.
 */
export async function loadTrainingSet(o: LoadPairsOptions & { sources: readonly string[]; exclude: readonly string[]; benchmarks: readonly EvalSet[] }): Promise<TrainingSet> {
  await initRDKit();
  const exclusions: { name: string; keys: Set<string> }[] = [];
  if (o.benchmarks.length) exclusions.push({ name: `benchmarks: ${o.benchmarks.join(', ')}`, keys: evalMoleculeKeys(o.benchmarks) });
  for (const f of o.exclude) {
    const keys = new Set<string>();
    for (const r of readPairFile(f).rows) keys.add(moleculeKey(r.smiles));
    exclusions.push({ name: f, keys });
  }
  const { pairs, perFile, problems } = await loadPairs(o.sources, o);
  // The sources' own flags: the molecule of a row flagged with an excluded set leaves every source.
  const flagged = new Set(pairs.filter((p) => p.evalOverlap && flagsExcluded(p.evalOverlap, o.benchmarks)).map((p) => p.molecule));
  if (flagged.size) exclusions.push({ name: `rows their source flags (${EVAL_OVERLAP_COLUMN}) with ${o.benchmarks.join(', ')}`, keys: flagged });
  const dropped = exclusions.map(() => 0);
  const seen = new Set<string>();
  const kept: Pair[] = [];
  const sources = new Map(o.sources.map((f) => [f, { file: f, rows: perFile.get(f) ?? 0, kept: 0, excluded: 0, duplicates: 0, unusable: 0 }]));
  for (const p of problems) { const s = sources.get(p.file); if (s) s.unusable++; }
  for (const p of pairs) {
    const s = sources.get(p.file)!;
    const hit = exclusions.map((e) => e.keys.has(p.molecule));
    if (hit.some(Boolean)) {
      hit.forEach((h, i) => { if (h) dropped[i]!++; });
      s.excluded++;
      continue;
    }
    const key = `${p.molecule}\t${p.text}`;
    if (seen.has(key)) { s.duplicates++; continue; }
    seen.add(key);
    s.kept++;
    kept.push(p);
  }
  const report: TrainingSet = {
    pairs: kept, sources: [...sources.values()], problems,
    exclusions: exclusions.map((e, i) => ({ exclusion: e.name, molecules: e.keys.size, droppedPairs: dropped[i]! })),
  };
  const log = o.log;
  if (log) {
    for (const s of report.sources) log(`data: ${s.file}: ${s.rows} rows, ${s.kept} kept, ${s.excluded} excluded, ${s.duplicates} duplicates, ${s.unusable} unusable`);
    for (const e of report.exclusions) log(`data: exclusion ${e.exclusion} (${e.molecules} molecules) removed ${e.droppedPairs} pairs`);
    if (problems.length) log(`data: ${problems.length} unusable rows:\n${formatProblems(problems)}`);
    log(`data: ${kept.length} training pairs, ${new Set(kept.map((p) => p.molecule)).size} molecules`);
  }
  return report;
}
