// `orma data check`: a report on any pair file (TSV, CSV or JSONL, gzip or not) before training on it:
// rows, the columns detected, empty fields, SMILES RDKit cannot parse (with its reason), duplicate
// molecules, and molecules shared with the benchmark evaluation splits. Every finding names the
// file's line; a bad row is reported, never fatal.
import { canonicalSmiles, initRDKit, SmilesError } from '../chem/rdkit.js';
import { readTextFile } from '../util/fs.js';
import { Progress } from '../util/progress.js';
import { loadEvalMolecules, EVAL_SETS, type EvalMolecule, type EvalSet } from './eval-molecules.js';
import { ID_COLUMNS, SMILES_COLUMNS, TEXT_COLUMNS, detectFormat, findColumn, parseTable, type CheckProblem, type FileFormat } from './tables.js';

export { ID_COLUMNS, SMILES_COLUMNS, TEXT_COLUMNS, detectFormat, findColumn, type CheckProblem, type FileFormat };

export interface UnparsableSmiles { line: number; field: string; smiles: string; reason: string }
export interface DuplicateMolecule { molecule: string; lines: number[]; ids: string[] }
export interface SharedMolecule { line: number; id: string; molecule: string; sets: EvalSet[] }

export interface CheckReport {
  file: string;
  format: FileFormat | null;
  gzip: boolean;
  /** Data rows (records), header excluded. */
  rows: number;
  columns: string[];
  detected: { smiles: string | null; description: string | null; id: string | null };
  /** Per column, the number of rows where it is empty (or missing). */
  emptyFields: Record<string, number>;
  /** Rows that cannot be used as they are: wrong field count, bad JSON, empty SMILES or description. */
  problems: CheckProblem[];
  unparsable: UnparsableSmiles[];
  /** Molecules (by canonical SMILES) on more than one row. */
  duplicates: { molecules: number; extraRows: number; list: DuplicateMolecule[] };
  /** Rows whose molecule is in a benchmark evaluation or model-selection split. */
  sharedWithEval: { molecules: number; rows: number; bySet: Record<EvalSet, { molecules: number; rows: number }>; list: SharedMolecule[] };
  /** Set when the file cannot be read at all (missing, empty, no SMILES column). */
  error?: string;
}

/** True when nothing in the report stops a file from being used as it is. */
export function reportOk(r: CheckReport): boolean {
  return !r.error && r.problems.length === 0 && r.unparsable.length === 0;
}

function emptyReport(file: string): CheckReport {
  const bySet = Object.fromEntries(EVAL_SETS.map((s) => [s, { molecules: 0, rows: 0 }])) as Record<EvalSet, { molecules: number; rows: number }>;
  return {
    file, format: null, gzip: file.endsWith('.gz'), rows: 0, columns: [], detected: { smiles: null, description: null, id: null },
    emptyFields: {}, problems: [], unparsable: [], duplicates: { molecules: 0, extraRows: 0, list: [] },
    sharedWithEval: { molecules: 0, rows: 0, bySet, list: [] },
  };
}

export interface CheckOptions {
  /** Molecule key -> evaluation sets; the shipped benchmark splits by default. */
  evalMolecules?: Map<string, EvalMolecule[]>;
  /** Progress lines for large files (stderr by default; null for none). */
  progress?: NodeJS.WriteStream | null;
}

/** Checks one pair file. Never throws for the file's content; a file it cannot read gets `error`. */
export async function checkFile(file: string, options: CheckOptions = {}): Promise<CheckReport> {
  await initRDKit();
  const report = emptyReport(file);
  let text: string;
  try {
    text = readTextFile(file);
  } catch (err) {
    report.error = (err as Error).message;
    return report;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.trim()) { report.error = `${file}: file is empty`; return report; }
  const firstLine = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : undefined);
  const format = detectFormat(file, firstLine);
  report.format = format;
  const table = parseTable(text, format);
  report.columns = table.columns;
  report.problems.push(...table.problems);
  report.rows = table.records.length + table.problems.filter((p) => p.field === 'row').length;
  const smilesCol = findColumn(table.columns, SMILES_COLUMNS);
  const textCol = findColumn(table.columns, TEXT_COLUMNS);
  const idCol = findColumn(table.columns, ID_COLUMNS);
  report.detected = {
    smiles: smilesCol >= 0 ? table.columns[smilesCol]! : null,
    description: textCol >= 0 ? table.columns[textCol]! : null,
    id: idCol >= 0 ? table.columns[idCol]! : null,
  };
  for (const c of table.columns) report.emptyFields[c] = 0;
  for (const r of table.records) r.fields.forEach((v, k) => { if (!v.trim()) report.emptyFields[table.columns[k]!]!++; });
  if (smilesCol < 0) {
    report.error = `${file}:1: no SMILES column (expected one of ${SMILES_COLUMNS.join(', ')}; got ${table.columns.join(', ') || 'nothing'})`;
    return report;
  }
  const evalMap = options.evalMolecules ?? loadEvalMolecules();
  const byMolecule = new Map<string, { lines: number[]; ids: string[] }>();
  const progress = table.records.length >= 2000
    ? new Progress({ label: `check ${file}`, total: table.records.length, unit: 'rows', stream: options.progress === undefined ? process.stderr : options.progress })
    : null;
  for (const r of table.records) {
    progress?.tick();
    const smiles = r.fields[smilesCol]!.trim();
    const id = idCol >= 0 ? r.fields[idCol]! : String(r.line - 2);
    if (!smiles) { report.problems.push({ line: r.line, field: table.columns[smilesCol]!, message: 'empty SMILES' }); continue; }
    if (textCol >= 0 && !r.fields[textCol]!.trim()) report.problems.push({ line: r.line, field: table.columns[textCol]!, message: 'empty description' });
    let key: string;
    try {
      key = canonicalSmiles(smiles);
    } catch (err) {
      const reason = err instanceof SmilesError ? err.reason : `RDKit failed: ${(err as Error).message}`;
      report.unparsable.push({ line: r.line, field: table.columns[smilesCol]!, smiles, reason });
      key = smiles; // moleculeKey's rule: the raw SMILES stands for a molecule RDKit cannot read
    }
    const seen = byMolecule.get(key);
    if (seen) { seen.lines.push(r.line); seen.ids.push(id); } else byMolecule.set(key, { lines: [r.line], ids: [id] });
    const inEval = evalMap.get(key);
    if (inEval) report.sharedWithEval.list.push({ line: r.line, id, molecule: key, sets: [...new Set(inEval.map((m) => m.set))] });
  }
  progress?.finish();
  for (const [molecule, { lines, ids }] of byMolecule) {
    if (lines.length < 2) continue;
    report.duplicates.list.push({ molecule, lines, ids });
    report.duplicates.molecules++;
    report.duplicates.extraRows += lines.length - 1;
  }
  report.problems.sort((a, b) => a.line - b.line);
  const shared = report.sharedWithEval;
  shared.rows = shared.list.length;
  shared.molecules = new Set(shared.list.map((s) => s.molecule)).size;
  for (const set of EVAL_SETS) {
    const rows = shared.list.filter((s) => s.sets.includes(set));
    shared.bySet[set] = { molecules: new Set(rows.map((s) => s.molecule)).size, rows: rows.length };
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Text output

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  return rows.map((r) => r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ').trimEnd()).join('\n');
}

const clip = (s: string, n = 80) => (s.length > n ? s.slice(0, n - 3) + '...' : s);

/** A summary table (one row per file), then each file's findings, `max` of each kind in full. */
export function formatReports(reports: CheckReport[], max = 10): string {
  const out: string[] = [];
  out.push(table([
    ['file', 'format', 'rows', 'problems', 'unparsable', 'duplicate molecules', 'shared with eval'],
    ...reports.map((r) => [r.file, r.error ? 'error' : `${r.format}${r.gzip ? '.gz' : ''}`, String(r.rows), String(r.problems.length), String(r.unparsable.length), String(r.duplicates.molecules), String(r.sharedWithEval.molecules)]),
  ]));
  for (const r of reports) {
    out.push('', `${r.file}`);
    if (r.error) { out.push(`  error: ${r.error}`); continue; }
    const d = r.detected;
    out.push(`  rows: ${r.rows}; columns: ${r.columns.join(', ')}`);
    out.push(`  detected: SMILES = ${d.smiles}, description = ${d.description ?? '(none: a molecule list)'}, id = ${d.id ?? '(none: the row number)'}`);
    const empties = Object.entries(r.emptyFields).filter(([, n]) => n > 0);
    out.push(`  empty fields: ${empties.length ? empties.map(([c, n]) => `${c} ${n}`).join(', ') : 'none'}`);
    const more = (n: number) => (n > max ? [`    ... and ${n - max} more (--json lists all)`] : []);
    if (r.problems.length) {
      out.push(`  problems (${r.problems.length}):`);
      for (const p of r.problems.slice(0, max)) out.push(`    ${r.file}:${p.line}: field '${p.field}': ${p.message}`);
      out.push(...more(r.problems.length));
    }
    if (r.unparsable.length) {
      out.push(`  SMILES RDKit cannot parse (${r.unparsable.length}):`);
      for (const u of r.unparsable.slice(0, max)) out.push(`    ${r.file}:${u.line}: field '${u.field}': ${clip(u.smiles, 60)}: ${u.reason}`);
      out.push(...more(r.unparsable.length));
    }
    if (r.duplicates.molecules) {
      out.push(`  duplicate molecules: ${r.duplicates.molecules} molecules on more than one row (${r.duplicates.extraRows} extra rows):`);
      for (const x of r.duplicates.list.slice(0, max)) out.push(`    lines ${x.lines.join(', ')}: ${clip(x.molecule, 60)}`);
      out.push(...more(r.duplicates.molecules));
    } else out.push('  duplicate molecules: none');
    const s = r.sharedWithEval;
    if (s.rows) {
      const sets = EVAL_SETS.filter((k) => s.bySet[k].rows).map((k) => `${k} ${s.bySet[k].molecules}`).join(', ');
      out.push(`  shared with benchmark evaluation splits: ${s.molecules} molecules on ${s.rows} rows (${sets}); training drops them by default:`);
      for (const x of s.list.slice(0, max)) out.push(`    ${r.file}:${x.line}: id ${x.id}: ${x.sets.join(', ')}`);
      out.push(...more(s.rows));
    } else out.push('  shared with benchmark evaluation splits: none');
  }
  return out.join('\n');
}
