// File helpers shared by every layer: atomic writes and transparent gzip reads.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` atomically: a temp file in the same folder, fsync, then rename.
 * A reader sees either the old file or the whole new one, never a half-written file,
 * even if the process is killed mid-write or two processes write at once.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Reads a text file, gunzipping it when the name ends in `.gz`; errors name the file. */
export function readTextFile(path: string): string {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.gz')) {
    try {
      raw = gunzipSync(raw);
    } catch (err) {
      throw new Error(`${path}: not a valid gzip file (truncated or corrupt?): ${(err as Error).message}`);
    }
  }
  return raw.toString('utf8');
}
