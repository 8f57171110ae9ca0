// Tables of pair files, whatever their format: TSV, CSV (RFC 4180) or JSONL (one object per line),
// plain or gzipped, detected from the name or the first line; the column names every reader accepts.
// Hand-written because the three are small and the readers must report bad rows by line and field,
// which the parsers on npm do not all do the same way.
import { extname } from 'node:path';

/** The columns pair-file readers accept, first match wins (PCdes has both 'index' and 'CID': the CID is the id). */
export const SMILES_COLUMNS = ['SMILES', 'smiles', 'CanonicalSMILES'];
export const TEXT_COLUMNS = ['description', 'Description', 'text'];
export const ID_COLUMNS = ['CID', 'cid', 'id', 'ID', 'index'];

export type FileFormat = 'tsv' | 'csv' | 'jsonl';

export interface CheckProblem { line: number; field: string; message: string }

/** Columns, records (each with its 1-based starting line) and the rows that could not be read. */
export interface Table { columns: string[]; records: { line: number; fields: string[] }[]; problems: CheckProblem[] }

export function detectFormat(file: string, firstLine: string): FileFormat {
  const ext = extname(file.replace(/\.gz$/, '')).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (firstLine.trimStart().startsWith('{')) return 'jsonl';
  return firstLine.includes('\t') || !firstLine.includes(',') ? 'tsv' : 'csv';
}

function parseTsv(text: string): Table {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const columns = lines[0]!.replace(/\r$/, '').split('\t');
  const records: Table['records'] = [], problems: CheckProblem[] = [];
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.replace(/\r$/, '').split('\t');
    if (fields.length !== columns.length) {
      problems.push({ line: i + 1, field: 'row', message: `expected ${columns.length} tab-separated fields, got ${fields.length}${i === lines.length - 1 ? ' (truncated file?)' : ''}` });
      continue;
    }
    records.push({ line: i + 1, fields });
  }
  return { columns, records, problems };
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines; a record's line is where it starts. */
function parseCsv(text: string): Table {
  const rows: { line: number; fields: string[]; bad?: string }[] = [];
  let line = 1, start = 1, field = '', fields: string[] = [], quoted = false, wasQuoted = false, bad: string | undefined;
  const endField = () => { fields.push(wasQuoted ? field : field.replace(/\r$/, '')); field = ''; wasQuoted = false; };
  const endRecord = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields, ...(bad ? { bad } : {}) });
    fields = []; bad = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field === '' && !wasQuoted) { quoted = true; wasQuoted = true; } else { bad ??= 'stray quote inside an unquoted field'; field += c; }
    } else if (c === ',') endField();
    else if (c === '\n') { endRecord(); line++; start = line; }
    else { if (wasQuoted && c !== '\r') bad ??= 'text after a closing quote'; field += c; }
  }
  if (quoted) bad = 'unterminated quoted field (the file ends inside it)';
  if (field !== '' || fields.length) endRecord();
  const columns = rows[0]?.fields ?? [''];
  const records: Table['records'] = [], problems: CheckProblem[] = [];
  for (const r of rows.slice(1)) {
    if (r.bad) problems.push({ line: r.line, field: 'row', message: `malformed CSV: ${r.bad}` });
    else if (r.fields.length !== columns.length) problems.push({ line: r.line, field: 'row', message: `expected ${columns.length} comma-separated fields, got ${r.fields.length}` });
    else records.push({ line: r.line, fields: r.fields });
  }
  return { columns, records, problems };
}

/** One JSON object per line; the columns are the keys in order of first appearance. */
function parseJsonl(text: string): Table {
  const lines = text.split('\n');
  const objects: { line: number; obj: Record<string, unknown> }[] = [];
  const problems: CheckProblem[] = [];
  const columns: string[] = [], seen = new Set<string>();
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(l);
    } catch (err) {
      problems.push({ line: i + 1, field: 'row', message: `not valid JSON: ${(err as Error).message}` });
      return;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) { problems.push({ line: i + 1, field: 'row', message: 'not a JSON object' }); return; }
    for (const k of Object.keys(obj)) if (!seen.has(k)) { seen.add(k); columns.push(k); }
    objects.push({ line: i + 1, obj: obj as Record<string, unknown> });
  });
  const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  return { columns, records: objects.map(({ line, obj }) => ({ line, fields: columns.map((c) => str(obj[c])) })), problems };
}

/** The first of `names` present among `columns` (readPairFile's rule), or -1. */
export function findColumn(columns: string[], names: string[]): number {
  return names.map((n) => columns.indexOf(n)).find((i) => i >= 0) ?? -1;
}

/** Parses a whole file's text in the given (or detected) format. */
export function parseTable(text: string, format: FileFormat): Table {
  return format === 'tsv' ? parseTsv(text) : format === 'csv' ? parseCsv(text) : parseJsonl(text);
}
