// Readers for text–molecule pair files (ChEBI-20 and PCdes TSVs, plain or .gz) with row validation.
// Every problem names the file, the 1-based line and the field, and nothing is dropped silently.
import { readTextFile } from '../util/fs.js';

export interface PairRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  /** Molecule id: the CID, or the row index when the file has no CID column. */
  id: string;
  smiles: string;
  /** Undefined for molecule-only files (no description column). */
  description?: string;
}

export interface RowProblem {
  file: string;
  line: number;
  field: string;
  message: string;
}

export interface PairFile {
  file: string;
  rows: PairRow[];
  problems: RowProblem[];
}

export class DatasetError extends Error {
  constructor(readonly problem: RowProblem) {
    super(`${problem.file}:${problem.line}: field '${problem.field}': ${problem.message}`);
    this.name = 'DatasetError';
  }
}

const SMILES_COLUMNS = ['SMILES', 'smiles', 'CanonicalSMILES'];
const TEXT_COLUMNS = ['description', 'Description', 'text'];
const ID_COLUMNS = ['CID', 'cid', 'id', 'ID', 'index'];

/**
 * Reads a TSV with a header naming at least a SMILES column (and optionally a description and an id).
 * Rows with a wrong field count or an empty SMILES/description are reported in `problems`, not returned;
 * with `strict`, the first problem throws a DatasetError instead.
 */
export function readPairFile(file: string, opts: { strict?: boolean; requireDescription?: boolean } = {}): PairFile {
  const text = readTextFile(file);
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new DatasetError({ file, line: 1, field: 'header', message: 'file is empty' });
  const header = lines[0]!.replace(/\r$/, '').split('\t');
  // The first of `names` present wins (PCdes has both 'index' and 'CID': the CID is the molecule's id).
  const col = (names: string[]) => names.map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1;
  const smilesCol = col(SMILES_COLUMNS);
  const textCol = col(TEXT_COLUMNS);
  const idCol = col(ID_COLUMNS);
  if (smilesCol < 0) {
    throw new DatasetError({ file, line: 1, field: 'header', message: `no SMILES column (expected one of ${SMILES_COLUMNS.join(', ')}; got ${header.join(', ')})` });
  }
  if (opts.requireDescription && textCol < 0) {
    throw new DatasetError({ file, line: 1, field: 'header', message: `no description column (expected one of ${TEXT_COLUMNS.join(', ')})` });
  }
  const rows: PairRow[] = [];
  const problems: RowProblem[] = [];
  const report = (p: RowProblem) => {
    if (opts.strict) throw new DatasetError(p);
    problems.push(p);
  };
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const fields = lines[i]!.replace(/\r$/, '').split('\t');
    if (fields.length !== header.length) {
      report({ file, line, field: 'row', message: `expected ${header.length} tab-separated fields, got ${fields.length}${i === lines.length - 1 ? ' (truncated file?)' : ''}` });
      continue;
    }
    const smiles = fields[smilesCol]!.trim();
    if (!smiles) { report({ file, line, field: header[smilesCol]!, message: 'empty SMILES' }); continue; }
    const row: PairRow = { line, id: idCol >= 0 ? fields[idCol]! : String(i - 1), smiles };
    if (textCol >= 0) {
      const description = fields[textCol]!.trim();
      if (!description) { report({ file, line, field: header[textCol]!, message: 'empty description' }); continue; }
      row.description = description;
    }
    rows.push(row);
  }
  return { file, rows, problems };
}

/** Formats problems for a summary: the first `max` in full, then a count. */
export function formatProblems(problems: RowProblem[], max = 10): string {
  const shown = problems.slice(0, max).map((p) => `  ${p.file}:${p.line}: field '${p.field}': ${p.message}`);
  if (problems.length > max) shown.push(`  ... and ${problems.length - max} more`);
  return shown.join('\n');
}
