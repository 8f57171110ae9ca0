// Bounds-checked byte access for the binary readers (zip, pickle, checkpoints): a file read at offsets,
// and sequential readers over a buffer or a file. Every short read is a FormatError naming what was read.
import { readSync, fstatSync } from 'node:fs';

/** A problem with a file's contents; callers prefix the file name. */
export class FormatError extends Error {}
/** A name from a file, printable in a message (control characters escaped). */
export const show = (s: string): string =>
  s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
export const fail = (msg: string): never => {
  throw new FormatError(msg);
};

/** An unsigned little-endian 64-bit integer at the start of b, refused beyond 2^53. */
export function readU64(b: Buffer, what: string): number {
  const v = b.readBigUInt64LE(0);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is impossibly large`);
  return Number(v);
}

/** An open file read at offsets. */
export class FileSource {
  readonly size: number;
  constructor(readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  /** Exactly n bytes at pos, or an error saying the file is too short. */
  read(pos: number, n: number, what: string): Buffer {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(n) || pos < 0 || n < 0 || pos + n > this.size) {
      fail(`truncated or corrupt: ${what} needs bytes ${pos}..${pos + n} but the file has ${this.size} bytes`);
    }
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buf, done, n - done, pos + done);
      if (got <= 0) fail(`truncated: could not read ${what} (bytes ${pos}..${pos + n})`);
      done += got;
    }
    return buf;
  }
}

/** Sequential bytes (for the pickle machine). */
export interface ByteReader {
  pos: number;
  take(n: number): Buffer;
}

/** Sequential bytes of a buffer. */
export class BufferReader implements ByteReader {
  pos = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}
  take(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.buf.length) {
      fail(`truncated: ${this.what} ends after ${this.buf.length} bytes, but byte ${this.pos} asks for ${n} more`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Reads a file sequentially through a 1 MiB window (for data with no stated length, like a pickle stream). */
export class StreamReader implements ByteReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;
  what = 'the file';
  constructor(private readonly src: FileSource, public pos: number) {}
  take(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.src.size) {
      fail(`truncated: ${this.what} runs past the end of the file (byte ${this.pos} asks for ${n} more bytes, the file has ${this.src.size})`);
    }
    const rel = this.pos - this.chunkStart;
    if (rel < 0 || rel + n > this.chunk.length) {
      this.chunkStart = this.pos;
      this.chunk = this.src.read(this.pos, Math.min(Math.max(n, 1 << 20), this.src.size - this.pos), this.what);
    }
    const start = this.pos - this.chunkStart;
    this.pos += n;
    return this.chunk.subarray(start, start + n);
  }
}
