// Readers for text–molecule pair files (ChEBI-20 and PCdes TSVs, any TSV/CSV/JSONL, plain or .gz) with row validation.
// Every problem names the file, the 1-based line and the field, and nothing is dropped silently.
import { readTextFile } from '../util/fs.js';
import { ID_COLUMNS, SMILES_COLUMNS, TEXT_COLUMNS, detectFormat, findColumn, parseTable } from './tables.js';

export interface PairRow {
  /** 1-based line number in the file (the header is line 1). */
  line: number;
  /** Molecule id: the CID, or the row index when the file has no CID column. */
  id: string;
  smiles: string;
  /** Undefined for molecule-only files (no description column). */
  description?: string;
  /**
   * The evaluation sets a source itself flags the molecule as belonging to (its `eval_overlap` column,
   * as in `../shared/data/extra/`), when that field is not empty: the source's own leakage check, by CID
   * as well as by SMILES, which a canonical-SMILES match alone can miss.
   */
  evalOverlap?: string;
}

/** The column in which a pair file flags rows whose molecule belongs to an evaluation set. */
export const EVAL_OVERLAP_COLUMN = 'eval_overlap';

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

/**
 * Reads a pair file (TSV, CSV or JSONL, plain or .gz; see tables.ts) whose header names at least a SMILES
 * column (and optionally a description and an id). Rows with a wrong field count, bad JSON or an empty
 * SMILES/description are reported in `problems`, not returned; with `strict`, the first problem throws
 * a DatasetError instead.
 */
export function readPairFile(file: string, opts: { strict?: boolean; requireDescription?: boolean } = {}): PairFile {
  const text = readTextFile(file);
  if (text.trim() === '') throw new DatasetError({ file, line: 1, field: 'header', message: 'file is empty' });
  const table = parseTable(text, detectFormat(file, text.slice(0, text.indexOf('\n') >>> 0)));
  const header = table.columns;
  const smilesCol = findColumn(header, SMILES_COLUMNS);
  const textCol = findColumn(header, TEXT_COLUMNS);
  const idCol = findColumn(header, ID_COLUMNS);
  const overlapCol = header.findIndex((h) => h.trim().toLowerCase() === EVAL_OVERLAP_COLUMN);
  if (smilesCol < 0) {
    throw new DatasetError({ file, line: 1, field: 'header', message: `no SMILES column (expected one of ${SMILES_COLUMNS.join(', ')}; got ${header.join(', ')})` });
  }
  if (opts.requireDescription && textCol < 0) {
    throw new DatasetError({ file, line: 1, field: 'header', message: `no description column (expected one of ${TEXT_COLUMNS.join(', ')})` });
  }
  const rows: PairRow[] = [];
  const problems: RowProblem[] = table.problems.map((p) => ({ file, ...p }));
  table.records.forEach(({ line, fields }, r) => {
    const smiles = fields[smilesCol]!.trim();
    if (!smiles) { problems.push({ file, line, field: header[smilesCol]!, message: 'empty SMILES' }); return; }
    const row: PairRow = { line, id: idCol >= 0 && fields[idCol] ? fields[idCol]! : String(r), smiles };
    if (textCol >= 0) {
      const description = fields[textCol]!.trim();
      if (!description) { problems.push({ file, line, field: header[textCol]!, message: 'empty description' }); return; }
      row.description = description;
    }
    const overlap = overlapCol >= 0 ? fields[overlapCol]!.trim() : '';
    if (overlap) row.evalOverlap = overlap;
    rows.push(row);
  });
  problems.sort((x, y) => x.line - y.line);
  if (opts.strict && problems.length) throw new DatasetError(problems[0]!);
  return { file, rows, problems };
}

/** Formats problems for a summary: the first `max` in full, then a count. */
export function formatProblems(problems: RowProblem[], max = 10): string {
  const shown = problems.slice(0, max).map((p) => `  ${p.file}:${p.line}: field '${p.field}': ${p.message}`);
  if (problems.length > max) shown.push(`  ... and ${problems.length - max} more`);
  return shown.join('\n');
}
