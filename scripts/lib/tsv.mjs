// Shared by the data-building scripts: the rows of a TSV (plain or .gz) as objects keyed by the header.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export function readTsv(path) {
  let raw = readFileSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  const lines = raw.toString('utf8').split('\n').filter((l) => l !== '');
  const header = lines[0].split('\t');
  return lines.slice(1).map((l, i) => {
    const f = l.split('\t');
    if (f.length !== header.length) throw new Error(`${path}:${i + 2}: expected ${header.length} fields, got ${f.length}`);
    return Object.fromEntries(header.map((h, k) => [h, f[k]]));
  });
}
