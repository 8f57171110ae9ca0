// Keeping evaluation molecules out of training: ChEBI-20 and PCdes share molecules across their splits
// (652 ChEBI-20 test molecules are in PCdes train), so training sets are filtered by canonical SMILES.
import { canonicalSmiles, initRDKit } from '../chem/index.js';
import { readPairFile } from './datasets.js';

/** A molecule's identity for leakage checks: RDKit's canonical SMILES, or the raw string if RDKit cannot parse it. */
export function moleculeKey(smiles: string): string {
  try {
    return canonicalSmiles(smiles);
  } catch {
    return smiles.trim();
  }
}

/** The molecule keys of every row of the given pair or molecule-list files (any TSV with a SMILES column). */
export async function moleculeKeysOf(files: string[]): Promise<Set<string>> {
  await initRDKit();
  const keys = new Set<string>();
  for (const f of files) for (const r of readPairFile(f).rows) keys.add(moleculeKey(r.smiles));
  return keys;
}

/** Splits rows into those whose molecule is not in `excluded` and those that are (rows without a SMILES are kept). */
export function withoutMolecules<T extends { smiles?: string }>(rows: T[], excluded: Set<string>): { kept: T[]; dropped: T[] } {
  const kept: T[] = [], dropped: T[] = [];
  for (const r of rows) (r.smiles !== undefined && excluded.has(moleculeKey(r.smiles)) ? dropped : kept).push(r);
  return { kept, dropped };
}
