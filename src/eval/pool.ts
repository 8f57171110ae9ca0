// What an evaluation ranks: the pairs of a data file, and a pool of candidate molecules (the data's own
// molecules, all of ChEBI-20, or molecule files) with every gold molecule of the data in it. Molecules are
// identified by canonical SMILES (`moleculeKey`), so two spellings or two records of one molecule are one
// candidate: a copy of the gold molecule cannot outrank it. Every row that cannot be used is reported.
import { initRDKit, type HierGraph, type HierGraphOptions } from '../chem/index.js';
import { DatasetError, readPairFile, type PairRow } from '../data/datasets.js';
import { CHEBI20_MOLECULES_FILE } from '../data/eval-molecules.js';
import { GraphCache } from '../data/graph-cache.js';
import { moleculeKey } from '../data/leakage.js';
import { defaultGraphCacheDir } from '../data/training-set.js';
import { Progress } from '../util/progress.js';

/** All 33,010 ChEBI-20 molecules (id, smiles), shipped as the default search library (data/libraries/README.md). */
export const CHEBI20_ALL_FILE = CHEBI20_MOLECULES_FILE;

/** A progress line for a stage of `total` items; small stages (by default under 500 items) stay silent. */
export function stageProgress(stream: NodeJS.WriteStream | null | undefined, label: string, total: number, unit: string, show = total >= 500): Progress {
  return new Progress({ label, total, unit, stream: show ? stream ?? null : null });
}

/** 'split' (the data's own molecules), 'chebi20-all', or the path of a molecule file. */
export type PoolSource = string;

export class EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalError';
  }
}

export interface EvalPair { line: number; id: string; text: string; key: string }

export interface EvalMolecule {
  key: string;
  /** Id and SMILES of the first record of this molecule. */
  id: string;
  smiles: string;
  /** Null when the molecule cannot be featurized (or, later, encoded); `reason` says why. */
  graph: HierGraph | null;
  reason?: string;
}

export interface SkippedRow { row: number; reason: string }

export interface EvalData {
  file: string;
  /** Rows with a description, in file order. */
  pairs: EvalPair[];
  /** Every distinct molecule: the pool sources' first, then data molecules the pool lacked. */
  molecules: EvalMolecule[];
  keyIndex: Map<string, number>;
  /** Rows the reader rejected (no description, wrong field count): not pairs, listed only. */
  rejected: SkippedRow[];
  /** Pool records (distinct id + SMILES) that are a molecule already in the pool. */
  mergedDuplicates: number;
  /** Gold molecules of the data that the pool sources lacked. */
  goldAdded: number;
  /** Rows of pool files the reader rejected (no SMILES, wrong field count). */
  poolRejected: { file: string; line: number; reason: string }[];
}

function readRows(file: string, what: 'data' | 'pool'): { rows: PairRow[]; problems: { line: number; field: string; message: string }[] } {
  try {
    return readPairFile(file, { requireDescription: what === 'data' });
  } catch (err) {
    if (err instanceof DatasetError) throw new EvalError(`${what} file ${err.message}`);
    throw new EvalError(`${what} file: ${(err as Error).message}`);
  }
}

/** Featurizes molecules once per SMILES string (data and pool share most of theirs). */
class Featurizer {
  private readonly seen = new Map<string, { key: string; graph: HierGraph | null; reason?: string }>();
  private readonly cache: GraphCache;
  constructor(options: HierGraphOptions, cacheDir: string) {
    try {
      this.cache = new GraphCache(cacheDir, options);
    } catch (err) {
      throw new EvalError(`graph cache ${cacheDir}: ${(err as Error).message} (choose another folder with --cache)`);
    }
  }

  get(smiles: string): { key: string; graph: HierGraph | null; reason?: string } {
    let r = this.seen.get(smiles);
    if (!r) {
      try {
        const { graph, canonical } = this.cache.getOrBuild(smiles);
        r = graph.numAtoms > 0 ? { key: canonical, graph } : { key: canonical, graph: null, reason: 'the molecule has no atoms' };
      } catch (err) {
        r = { key: moleculeKey(smiles), graph: null, reason: (err as Error).message };
      }
      this.seen.set(smiles, r);
    }
    return r;
  }
}

export interface ReadEvalDataOptions {
  data: string;
  pool?: readonly PoolSource[];
  featurizer: HierGraphOptions;
  /** Graph cache folder (default ~/.cache/orma/graphs, as training). */
  cacheDir?: string | null;
  progress?: NodeJS.WriteStream | null;
}

/** Reads the data file and the pool sources and featurizes every molecule (through the graph cache). */
export async function readEvalData(o: ReadEvalDataOptions): Promise<EvalData> {
  await initRDKit();
  const data = readRows(o.data, 'data');
  const rejected = data.problems.map((p) => ({ row: p.line, reason: `field '${p.field}': ${p.message} (not a pair: left out)` }));
  const sources = o.pool?.length ? o.pool : ['split'];
  const poolFiles = sources.filter((s) => s !== 'split').map((s) => (s === 'chebi20-all' ? CHEBI20_ALL_FILE : s));
  const poolRows = poolFiles.map((f) => ({ file: f, ...readRows(f, 'pool') }));
  const poolRejected = poolRows.flatMap((p) => p.problems.map((x) => ({ file: p.file, line: x.line, reason: `field '${x.field}': ${x.message}` })));
  const records = [...(sources.includes('split') ? [data.rows] : []), ...poolRows.map((p) => p.rows)];
  const total = records.reduce((n, rows) => n + rows.length, 0) + (sources.includes('split') ? 0 : data.rows.length);
  const progress = stageProgress(o.progress, 'eval featurize', total, 'molecules');
  const f = new Featurizer(o.featurizer, o.cacheDir ?? defaultGraphCacheDir());
  const molecules: EvalMolecule[] = [], keyIndex = new Map<string, number>();
  const add = (r: PairRow, m: ReturnType<Featurizer['get']>) => {
    keyIndex.set(m.key, molecules.length);
    molecules.push({ key: m.key, id: r.id, smiles: r.smiles, graph: m.graph, ...(m.reason ? { reason: m.reason } : {}) });
  };
  const seenRecords = new Set<string>();
  let merged = 0;
  for (const rows of records) {
    for (const r of rows) {
      const m = f.get(r.smiles);
      progress.tick();
      const record = `${r.id}\t${r.smiles}`;
      if (seenRecords.has(record)) continue;  // the same record again (a molecule with several texts)
      seenRecords.add(record);
      if (keyIndex.has(m.key)) { merged++; continue; }
      add(r, m);
    }
  }
  let goldAdded = 0;
  const pairs = data.rows.map((r) => {
    const m = f.get(r.smiles);
    if (!sources.includes('split')) progress.tick();
    if (!keyIndex.has(m.key)) { add(r, m); if (m.graph) goldAdded++; }
    return { line: r.line, id: r.id, text: r.description!, key: m.key };
  });
  progress.finish();
  if (pairs.length === 0) throw new EvalError(`data file ${o.data}: no usable pairs (${rejected.length} row(s) rejected)`);
  return { file: o.data, pairs, molecules, keyIndex, rejected, mergedDuplicates: merged, goldAdded, poolRejected };
}
