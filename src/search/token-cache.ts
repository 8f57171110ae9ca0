// The token cache of a text index: what stage 2's fused score needs from each library text, stored once
// when the library is indexed, so that ranking a molecule's K text candidates reads K records from disk
// instead of running BERT on them. A text's record, n being its real tokens ([CLS] and [SEP] included, at
// most the model's maxLength), little-endian:
//   D float32       the sentence vector (as the text encoder gives it, before any normalisation)
//   n × D float16   its token vectors (layer L-2 through the token head: the token–atom grain)
//   n × D float32   its multi-token vectors (layer L-1 through the multi-token head: the mid grain)
// Disk: Σ_texts (4 + 6 n_i) × D bytes (+ 12 bytes a text for the offsets and checksums).
// Why not all float16: the mid grain assigns each multi-token to the argmax motif of its OT plan, a
// discontinuous choice, and float16 multi-token vectors flip near-tied assignments: with the default model
// they moved fused scores by up to 1.1 logits and changed 3 of 30 top-10 lists (`node dist/bench/
// token-cache.js`); the token vectors feed a continuous grain (float16 moves it by < 5e-4, the fused score
// by < 3e-4). int8 with a scale per vector moved the continuous grains 25× more than float16.
//
// Layout, in the index folder (store.ts):
//   tokens/header.json   format, version, identity (model fingerprint, library digest and rows, featurizer,
//                        dim, vocabulary digest), the parts' dtypes, texts, tokens, bytes; written last
//   tokens/vectors.bin   the records, text after text (one flat file, read with positioned reads)
//   tokens/offsets.bin   uint64 LE [texts + 1]: the byte offset of each record, then the file's size
//   tokens/crc.bin       uint32 LE [texts]: the CRC-32 of each record's bytes, checked on every read
// A build writes tokens.part/ (the same files, appended chunk by chunk with a progress.json written
// atomically after each chunk, so an interrupted build truncates to the last complete chunk and continues),
// then writes header.json and renames tokens.part/ to tokens/: a reader sees a complete cache or none.
// Opening checks the header against the caller's model and library and the files' sizes against the
// header; a cache that does not fit or is damaged is a StoreError that says to rebuild with `orma index`.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { identityMismatch, StoreError, type StoreIdentity } from './lance.js';

export const TOKEN_CACHE_FORMAT = 'orma-token-cache', TOKEN_CACHE_VERSION = 1;
export const TOKEN_CACHE_DIR = 'tokens', TOKEN_CACHE_PART = 'tokens.part';
const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Bytes of the record of a text with n tokens. */
export const recordBytes = (n: number, dim: number) => (4 + 6 * n) * dim;
/** Tokens of a record of `bytes` bytes (NaN when no whole number fits). */
const tokensOfRecord = (bytes: number, dim: number) => { const n = (bytes / dim - 4) / 6; return Number.isInteger(n) ? n : NaN; };

/** A text's record from its sentence vector (float32), token vectors (float16 bits) and multi-token vectors (float32). */
export function packRecord(sentence: Float32Array, tokens: Uint16Array, multiTokens: Float32Array): Uint8Array {
  const D = sentence.length, n = tokens.length / D;
  if (!Number.isInteger(n) || multiTokens.length !== n * D) throw new Error(`token cache: a record of ${tokens.length} token and ${multiTokens.length} multi-token values for dim ${D}`);
  const out = new Uint8Array(recordBytes(n, D));
  out.set(asBytes(sentence), 0);
  out.set(asBytes(tokens), 4 * D);
  out.set(asBytes(multiTokens), (4 + 2 * n) * D);
  return out;
}

/** What a token cache must match: the index's identity and the tokenizer's vocabulary. */
export interface TokenCacheIdentity extends StoreIdentity {
  /** SHA-256 of the model's vocab.txt (the model fingerprint covers config.json and the weights only). */
  vocab: string;
}

export const TOKEN_CACHE_DTYPES = { sentence: 'float32', tokens: 'float16', multiTokens: 'float32' } as const;

export interface TokenCacheHeader extends TokenCacheIdentity {
  format: typeof TOKEN_CACHE_FORMAT;
  version: number;
  dtypes: typeof TOKEN_CACHE_DTYPES;
  /** Texts (library rows). */
  texts: number;
  /** Real tokens in all (Σ n_i). */
  tokens: number;
  /** Bytes of vectors.bin, and of the whole folder. */
  bytes: number;
  totalBytes: number;
  created: string;
}

/** What the index manifest records of its token cache. */
export interface TokenCacheSummary {
  dir: string;
  format: typeof TOKEN_CACHE_FORMAT;
  version: number;
  dtypes: typeof TOKEN_CACHE_DTYPES;
  texts: number;
  tokens: number;
  bytes: number;
}

/** Receives the records of one chunk of texts while they are encoded (RecordSink.begin first, then put per text, in any order). */
export interface RecordSink {
  /** Real tokens of each text of the chunk, in row order. Called once, before `put`. */
  begin(tokenCounts: readonly number[]): void;
  /** Library row `row`'s record (packRecord). */
  put(row: number, record: Uint8Array): void;
}

// ---- CRC-32 (zlib.crc32 where Node has it, else a table) ----------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
const nativeCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export function crc32(data: Uint8Array): number {
  if (nativeCrc) return nativeCrc(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- writing ----------------------------------------------------------------------------------------------

interface Progress {
  format: typeof TOKEN_CACHE_FORMAT;
  version: number;
  identity: TokenCacheIdentity;
  chunkRows: number;
  /** Chunks complete (0..chunks-1), and the texts, bytes (of vectors.bin) and tokens they hold. */
  chunks: number;
  texts: number;
  bytes: number;
  tokens: number;
}

const sameIdentity = (a: TokenCacheIdentity, b: TokenCacheIdentity) => identityMismatch(a, b) === null && a.vocab === b.vocab;

function truncateFile(path: string, bytes: number): void {
  const fd = openSync(path, 'r+');
  try { ftruncateSync(fd, bytes); fsyncSync(fd); } finally { closeSync(fd); }
}

function writeAll(fd: number, buf: Uint8Array, position: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, position + off);
}


/**
 * Builds (or continues) the token cache of an index folder, chunk by chunk in order. `chunks` is how many
 * chunks are already complete: the caller encodes chunk `chunks` next, through `sink(i)` and `commit(i)`.
 */
export class TokenCacheWriter {
  private readonly part: string;
  private fds: { vectors: number; offsets: number; crc: number } | null;
  private p: Progress;
  // the chunk being written
  private current: { chunk: number; start: number; recordAt: number[]; crcs: Uint32Array; seen: Uint8Array; tokens: number; bytes: number } | null = null;

  private constructor(readonly dir: string, private readonly identity: TokenCacheIdentity, private readonly chunkRows: number, fds: { vectors: number; offsets: number; crc: number }, p: Progress) {
    this.part = join(dir, TOKEN_CACHE_PART);
    this.fds = fds;
    this.p = p;
  }

  /**
   * A writer for the cache of `dir`: it resumes a partial build of the same identity and chunk size (cut
   * back to its last complete chunk), else starts over. A complete cache (tokens/) is not touched until
   * `finish` replaces it.
   */
  static open(dir: string, identity: TokenCacheIdentity, chunkRows: number): TokenCacheWriter {
    const part = join(dir, TOKEN_CACHE_PART), progressPath = join(part, 'progress.json');
    let p: Progress | null = null;
    if (existsSync(progressPath)) {
      try { p = JSON.parse(readFileSync(progressPath, 'utf8')) as Progress; } catch { p = null; }
      if (p && (p.format !== TOKEN_CACHE_FORMAT || p.version !== TOKEN_CACHE_VERSION || p.chunkRows !== chunkRows || !p.identity || !sameIdentity(p.identity, identity))) p = null;
    }
    const names = { vectors: 'vectors.bin', offsets: 'offsets.bin', crc: 'crc.bin' } as const;
    if (p) {
      // what a killed build wrote after its last complete chunk is cut off; a shorter file means a damaged part: start over
      const want = { vectors: p.bytes, offsets: p.texts * 8, crc: p.texts * 4 };
      for (const k of ['vectors', 'offsets', 'crc'] as const) {
        const size = statSync(join(part, names[k]), { throwIfNoEntry: false })?.size ?? -1;
        if (size < want[k]) p = null;
        else if (size > want[k]) truncateFile(join(part, names[k]), want[k]);
        if (!p) break;
      }
    }
    if (!p) {
      rmSync(part, { recursive: true, force: true });
      p = { format: TOKEN_CACHE_FORMAT, version: TOKEN_CACHE_VERSION, identity, chunkRows, chunks: 0, texts: 0, bytes: 0, tokens: 0 };
    }
    mkdirSync(part, { recursive: true });
    const open = (name: string) => openSync(join(part, name), existsSync(join(part, name)) ? 'r+' : 'w+');
    const fds = { vectors: open(names.vectors), offsets: open(names.offsets), crc: open(names.crc) };
    writeFileAtomic(progressPath, JSON.stringify(p) + '\n');
    return new TokenCacheWriter(dir, identity, chunkRows, fds, p);
  }

  /** Chunks already in the cache (the next one to encode). */
  get chunks(): number {
    return this.p.chunks;
  }

  /** The sink for chunk i (it must be chunk `chunks`). */
  sink(i: number): RecordSink {
    if (i !== this.p.chunks) throw new Error(`token cache: chunk ${i} out of order (next is ${this.p.chunks})`);
    const start = i * this.chunkRows, D = this.identity.dim, fds = this.fds!;
    return {
      begin: (counts) => {
        const recordAt: number[] = [];
        let at = this.p.bytes, tokens = 0;
        for (const n of counts) {
          if (!Number.isInteger(n) || n < 1) throw new Error(`token cache: a text with ${n} tokens`);
          recordAt.push(at);
          at += recordBytes(n, D);
          tokens += n;
        }
        recordAt.push(at);
        this.current = { chunk: i, start, recordAt, crcs: new Uint32Array(counts.length), seen: new Uint8Array(counts.length), tokens, bytes: at - this.p.bytes };
      },
      put: (row, record) => {
        const c = this.current;
        if (!c || c.chunk !== i) throw new Error('token cache: put before begin');
        const j = row - c.start;
        if (j < 0 || j >= c.seen.length) throw new Error(`token cache: row ${row} is not in chunk ${i}`);
        const bytes = c.recordAt[j + 1]! - c.recordAt[j]!;
        if (record.length !== bytes) throw new Error(`token cache: row ${row}'s record has ${record.length} bytes, expected ${bytes} (dim ${D})`);
        c.crcs[j] = crc32(record);
        c.seen[j] = 1;
        writeAll(fds.vectors, record, c.recordAt[j]!);
      },
    };
  }

  /** Marks chunk i complete: its offsets and checksums appended, the files synced, then progress.json. */
  commit(i: number): void {
    const c = this.current, fds = this.fds!;
    if (!c || c.chunk !== i) throw new Error(`token cache: chunk ${i} was not begun`);
    const missing = c.seen.indexOf(0);
    if (missing >= 0) throw new Error(`token cache: chunk ${i} has no record for row ${c.start + missing}`);
    const n = c.seen.length;
    const offsets = new BigUint64Array(n);
    for (let j = 0; j < n; j++) offsets[j] = BigInt(c.recordAt[j]!);
    writeAll(fds.offsets, asBytes(offsets), this.p.texts * 8);
    writeAll(fds.crc, asBytes(c.crcs), this.p.texts * 4);
    for (const fd of [fds.vectors, fds.offsets, fds.crc]) fsyncSync(fd);
    this.p = { ...this.p, chunks: i + 1, texts: this.p.texts + n, bytes: this.p.bytes + c.bytes, tokens: this.p.tokens + c.tokens };
    this.current = null;
    writeFileAtomic(join(this.part, 'progress.json'), JSON.stringify(this.p) + '\n');
  }

  /** Completes the cache: the final offset, header.json, then tokens.part/ renamed to tokens/. */
  finish(texts: number): TokenCacheSummary {
    const fds = this.fds!;
    if (this.p.texts !== texts) throw new Error(`token cache: ${this.p.texts} texts written, the library has ${texts}`);
    writeAll(fds.offsets, asBytes(BigUint64Array.of(BigInt(this.p.bytes))), texts * 8);
    for (const fd of [fds.vectors, fds.offsets, fds.crc]) fsyncSync(fd);
    this.close();
    rmSync(join(this.part, 'progress.json'), { force: true });
    const bytes = this.p.bytes;
    const header: TokenCacheHeader = {
      format: TOKEN_CACHE_FORMAT, version: TOKEN_CACHE_VERSION, ...this.identity, dtypes: TOKEN_CACHE_DTYPES, texts, tokens: this.p.tokens,
      bytes, totalBytes: bytes + (texts + 1) * 8 + texts * 4, created: new Date().toISOString(),
    };
    writeFileAtomic(join(this.part, 'header.json'), JSON.stringify(header, null, 2) + '\n');
    const final = join(this.dir, TOKEN_CACHE_DIR);
    rmSync(final, { recursive: true, force: true });
    renameSync(this.part, final);
    return summaryOf(header);
  }

  close(): void {
    if (!this.fds) return;
    for (const fd of Object.values(this.fds)) closeSync(fd);
    this.fds = null;
  }
}

function summaryOf(h: TokenCacheHeader): TokenCacheSummary {
  return { dir: TOKEN_CACHE_DIR, format: h.format, version: h.version, dtypes: h.dtypes, texts: h.texts, tokens: h.tokens, bytes: h.totalBytes };
}

// ---- reading ----------------------------------------------------------------------------------------------

/** K records as padded batches (zeros past each text's tokens) and their mask. */
export interface CachedTexts {
  /** [K, D] */
  sentence: Float32Array;
  /** [K, L, D] float16 bits; L = the longest of the K texts. */
  tokens: Uint16Array;
  /** [K, L, D] */
  multiTokens: Float32Array;
  /** [K, L] 1 for real tokens. */
  mask: Int32Array;
  length: number;
  /** Real tokens of each text. */
  lengths: number[];
}

/** An open, complete token cache: records read with positioned reads, each checked against its CRC-32. */
export class TokenCache {
  private fd: number | null;

  private constructor(readonly dir: string, readonly header: TokenCacheHeader, fd: number, private readonly offsets: Float64Array, private readonly crcs: Uint32Array, private readonly rebuild: string) {
    this.fd = fd;
  }

  get summary(): TokenCacheSummary {
    return summaryOf(this.header);
  }

  /** True when `indexDir` has a complete token cache folder (not checked). */
  static exists(indexDir: string): boolean {
    return existsSync(join(indexDir, TOKEN_CACHE_DIR, 'header.json'));
  }

  /**
   * The token cache of an index folder, or null when it has none; one that does not fit `want`, is of another
   * format version, or whose files do not match its header is a StoreError saying how to rebuild it.
   */
  static open(indexDir: string, want: TokenCacheIdentity): TokenCache | null {
    const dir = join(indexDir, TOKEN_CACHE_DIR);
    if (!existsSync(dir)) return null;
    const rebuild = `rebuild it with \`orma index --library ${want.library.file} --out ${dirnameOf(indexDir)} --model ${want.model.dir}\` (it replaces the cache), or search without it (--no-token-cache)`;
    const bad = (what: string) => new StoreError(`the token cache in ${dir} ${what}; ${rebuild}`);
    let h: TokenCacheHeader;
    try {
      h = JSON.parse(readFileSync(join(dir, 'header.json'), 'utf8')) as TokenCacheHeader;
    } catch (err) {
      throw bad(`has no readable header.json (${(err as Error).message.split('\n')[0]})`);
    }
    if (h?.format !== TOKEN_CACHE_FORMAT) throw bad(`is not an orma token cache (format ${JSON.stringify(h?.format)})`);
    if (h.version !== TOKEN_CACHE_VERSION) throw bad(`has format version ${h.version}, this orma reads version ${TOKEN_CACHE_VERSION}`);
    if (JSON.stringify(h.dtypes) !== JSON.stringify(TOKEN_CACHE_DTYPES) || !Number.isInteger(h.texts) || !Number.isInteger(h.bytes) || !h.model?.fingerprint || !h.library?.sha256) throw bad('has a malformed header.json');
    const why = identityMismatch(h, want) ?? (h.vocab !== want.vocab ? `it was built with another vocabulary (vocab.txt sha256 ${String(h.vocab).slice(0, 12)}, the model's is ${want.vocab.slice(0, 12)})` : null);
    if (why) throw bad(`does not fit: ${why}`);
    const D = h.dim;
    const size = (name: string) => statSync(join(dir, name), { throwIfNoEntry: false })?.size;
    const expect: [string, number][] = [['vectors.bin', h.bytes], ['offsets.bin', (h.texts + 1) * 8], ['crc.bin', h.texts * 4]];
    for (const [name, bytes] of expect) {
      const s = size(name);
      if (s === undefined) throw bad(`is missing ${name}`);
      if (s !== bytes) throw bad(`is damaged: ${name} has ${s} bytes, its header says ${bytes}${s < bytes ? ' (truncated?)' : ''}`);
    }
    const off = readFileSync(join(dir, 'offsets.bin')), crcBuf = readFileSync(join(dir, 'crc.bin'));
    const big = new BigUint64Array(off.buffer.slice(off.byteOffset, off.byteOffset + off.byteLength));
    const offsets = new Float64Array(big.length);
    for (let i = 0; i < big.length; i++) offsets[i] = Number(big[i]!);
    if (offsets[0] !== 0 || offsets[h.texts] !== h.bytes) throw bad('is damaged: offsets.bin does not start at 0 and end at the size of vectors.bin');
    for (let i = 0; i < h.texts; i++) {
      const r = offsets[i + 1]! - offsets[i]!;
      if (!(tokensOfRecord(r, D) >= 1)) throw bad(`is damaged: text ${i}'s record has ${r} bytes, not (4 + 6 × tokens) × ${D}`);
    }
    const crcs = new Uint32Array(crcBuf.buffer.slice(crcBuf.byteOffset, crcBuf.byteOffset + crcBuf.byteLength));
    return new TokenCache(dir, h, openSync(join(dir, 'vectors.bin'), 'r'), offsets, crcs, rebuild);
  }

  /** Real tokens of library row `row`. */
  tokensOf(row: number): number {
    return tokensOfRecord(this.offsets[row + 1]! - this.offsets[row]!, this.header.dim);
  }

  private record(row: number, into: Uint8Array): void {
    const at = this.offsets[row]!;
    let got = 0;
    while (got < into.length) {
      const n = readSync(this.fd!, into, got, into.length - got, at + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== into.length) throw new StoreError(`the token cache in ${this.dir} is damaged: text ${row}'s record ends early (truncated vectors.bin?); ${this.rebuild}`);
    if (crc32(into) !== this.crcs[row]) throw new StoreError(`the token cache in ${this.dir} is damaged: text ${row}'s record fails its checksum; ${this.rebuild}`);
  }

  /** The records of library rows `rows` as padded batches (positioned reads of those records only). */
  read(rows: readonly number[]): CachedTexts {
    if (this.fd === null) throw new Error('TokenCache: used after close()');
    const D = this.header.dim, K = rows.length;
    for (const r of rows) if (!Number.isInteger(r) || r < 0 || r >= this.header.texts) throw new Error(`TokenCache: row ${r} is not in the cache (${this.header.texts} texts)`);
    const lengths = rows.map((r) => this.tokensOf(r));
    const L = Math.max(1, ...lengths);
    const sentence = new Float32Array(K * D), tokens = new Uint16Array(K * L * D), multiTokens = new Float32Array(K * L * D), mask = new Int32Array(K * L);
    const into = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const [sb, tb, mb] = [into(sentence), into(tokens), into(multiTokens)];
    let buf = new Uint8Array(0);
    rows.forEach((row, k) => {
      const n = lengths[k]!, bytes = recordBytes(n, D);
      if (buf.length < bytes) buf = new Uint8Array(Math.max(bytes, buf.length * 2));
      const rec = buf.subarray(0, bytes);
      this.record(row, rec);
      // byte copies into the padded batches (the record's parts need not be aligned for typed-array views)
      sb.set(rec.subarray(0, 4 * D), k * D * 4);
      tb.set(rec.subarray(4 * D, (4 + 2 * n) * D), k * L * D * 2);
      mb.set(rec.subarray((4 + 2 * n) * D, bytes), k * L * D * 4);
      mask.fill(1, k * L, k * L + n);
    });
    return { sentence, tokens, multiTokens, mask, length: L, lengths };
  }

  /** Reads every record and checks its checksum (what `orma index` does before reusing a cache). */
  verify(): void {
    let buf = new Uint8Array(0);
    for (let row = 0; row < this.header.texts; row++) {
      const bytes = this.offsets[row + 1]! - this.offsets[row]!;
      if (buf.length < bytes) buf = new Uint8Array(bytes);
      this.record(row, buf.subarray(0, bytes));
    }
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}

/** The --out DIR of `orma index` for an index folder (its parent). */
function dirnameOf(indexDir: string): string {
  return join(indexDir, '..');
}

/** Removes a token cache (complete or partial) from an index folder. */
export function removeTokenCache(indexDir: string): void {
  rmSync(join(indexDir, TOKEN_CACHE_DIR), { recursive: true, force: true });
  rmSync(join(indexDir, TOKEN_CACHE_PART), { recursive: true, force: true });
}

/** Disk bytes of a token cache for texts with these token counts: Σ (4 + 6 n) × D + 12 per text + 8. */
export function tokenCacheBytes(tokenCounts: readonly number[], dim: number): number {
  let bytes = 0;
  for (const n of tokenCounts) bytes += recordBytes(n, dim);
  return bytes + tokenCounts.length * 12 + 8;
}
