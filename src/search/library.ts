// Search libraries: a set of molecules (id, SMILES, optional name) or of texts (id, text), read from a
// file. Formats: TSV with a header (columns found by name, as the pair files: SMILES|smiles|CanonicalSMILES,
// description|Description|text, CID|cid|id|ID|index, name|Name|title), plain or .gz; for molecules also a
// .smi file (SMILES, then optional id and name, whitespace-separated, no header); for texts also a .txt
// file (one text per line, ids are line numbers). Every problem names the file and line.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/paths.js';
import { CHEBI20_MOLECULES_FILE } from '../data/eval-molecules.js';
import { SearchError } from './errors.js';

export interface MoleculeEntry { id: string; smiles: string; name?: string }
export interface TextEntry { id: string; text: string }

export interface Library<T> {
  kind: 'molecules' | 'texts';
  file: string;
  /** SHA-256 of the file's bytes: part of the index's cache key. */
  sha256: string;
  entries: T[];
}

export const DEFAULT_MOLECULE_LIBRARY = CHEBI20_MOLECULES_FILE;
export const DEFAULT_TEXT_LIBRARY = join(PACKAGE_ROOT, 'data', 'libraries', 'chebi20-texts.tsv.gz');

const SMILES_COLUMNS = ['SMILES', 'smiles', 'CanonicalSMILES'];
const TEXT_COLUMNS = ['description', 'Description', 'text'];
const ID_COLUMNS = ['CID', 'cid', 'id', 'ID', 'index'];
const NAME_COLUMNS = ['name', 'Name', 'title', 'Title'];

function readBytes(file: string): { raw: Buffer; text: string } {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new SearchError(`cannot read library ${file}: ${(err as Error).message}`, 'library');
  }
  let body = raw;
  if (file.endsWith('.gz')) {
    try { body = gunzipSync(raw); } catch (err) { throw new SearchError(`${file}: not a valid gzip file: ${(err as Error).message}`, 'library'); }
  }
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { raw, text };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const col = (header: string[], names: string[]) => names.map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1;

function lines(text: string): string[] {
  const out = text.split('\n').map((l) => l.replace(/\r$/, ''));
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** What a library file holds: molecules if it has a SMILES column (or is .smi), else texts. */
export function libraryKind(file: string): 'molecules' | 'texts' {
  const base = file.replace(/\.gz$/, '').toLowerCase();
  if (base.endsWith('.smi')) return 'molecules';
  if (base.endsWith('.txt')) return 'texts';
  const first = lines(readBytes(file).text)[0] ?? '';
  return col(first.split('\t'), SMILES_COLUMNS) >= 0 ? 'molecules' : 'texts';
}

function checkIds<T extends { id: string }>(file: string, entries: T[], lineOf: number[]): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const prev = seen.get(e.id);
    if (prev !== undefined) throw new SearchError(`${file}:${lineOf[i]}: id '${e.id}' is used twice (first on line ${prev})`, 'library');
    seen.set(e.id, lineOf[i]!);
  });
}

export function readMoleculeLibrary(file: string = DEFAULT_MOLECULE_LIBRARY): Library<MoleculeEntry> {
  const { raw, text } = readBytes(file);
  const rows = lines(text);
  const entries: MoleculeEntry[] = [], lineOf: number[] = [];
  if (file.replace(/\.gz$/, '').toLowerCase().endsWith('.smi')) {
    rows.forEach((l, i) => {
      if (!l.trim() || l.startsWith('#')) return;
      const [smiles, id, ...name] = l.trim().split(/\s+/);
      entries.push({ id: id ?? String(i + 1), smiles: smiles!, ...(name.length ? { name: name.join(' ') } : {}) });
      lineOf.push(i + 1);
    });
  } else {
    if (rows.length === 0) throw new SearchError(`${file}: the library is empty`, 'library');
    const header = rows[0]!.split('\t');
    const s = col(header, SMILES_COLUMNS), id = col(header, ID_COLUMNS), name = col(header, NAME_COLUMNS);
    if (s < 0) throw new SearchError(`${file}:1: no SMILES column (expected one of ${SMILES_COLUMNS.join(', ')}; got ${header.join(', ')})`, 'library');
    for (let i = 1; i < rows.length; i++) {
      const f = rows[i]!.split('\t');
      if (f.length !== header.length) throw new SearchError(`${file}:${i + 1}: expected ${header.length} tab-separated fields, got ${f.length}`, 'library');
      const smiles = f[s]!.trim();
      if (!smiles) throw new SearchError(`${file}:${i + 1}: field '${header[s]}': empty SMILES`, 'library');
      const n = name >= 0 ? f[name]!.trim() : '';
      entries.push({ id: id >= 0 ? f[id]!.trim() : String(i), smiles, ...(n ? { name: n } : {}) });
      lineOf.push(i + 1);
    }
  }
  if (entries.length === 0) throw new SearchError(`${file}: the library is empty`, 'library');
  checkIds(file, entries, lineOf);
  return { kind: 'molecules', file, sha256: sha256(raw), entries };
}

export function readTextLibrary(file: string = DEFAULT_TEXT_LIBRARY): Library<TextEntry> {
  const { raw, text } = readBytes(file);
  const rows = lines(text);
  const entries: TextEntry[] = [], lineOf: number[] = [];
  if (file.replace(/\.gz$/, '').toLowerCase().endsWith('.txt')) {
    rows.forEach((l, i) => { if (l.trim()) { entries.push({ id: String(i + 1), text: l.trim() }); lineOf.push(i + 1); } });
  } else {
    if (rows.length === 0) throw new SearchError(`${file}: the library is empty`, 'library');
    const header = rows[0]!.split('\t');
    const t = col(header, TEXT_COLUMNS), id = col(header, ID_COLUMNS);
    if (t < 0) throw new SearchError(`${file}:1: no text column (expected one of ${TEXT_COLUMNS.join(', ')}; got ${header.join(', ')})`, 'library');
    for (let i = 1; i < rows.length; i++) {
      const f = rows[i]!.split('\t');
      if (f.length !== header.length) throw new SearchError(`${file}:${i + 1}: expected ${header.length} tab-separated fields, got ${f.length}`, 'library');
      const body = f[t]!.trim();
      if (!body) throw new SearchError(`${file}:${i + 1}: field '${header[t]}': empty text`, 'library');
      entries.push({ id: id >= 0 ? f[id]!.trim() : String(i), text: body });
      lineOf.push(i + 1);
    }
  }
  if (entries.length === 0) throw new SearchError(`${file}: the library is empty`, 'library');
  checkIds(file, entries, lineOf);
  return { kind: 'texts', file, sha256: sha256(raw), entries };
}
