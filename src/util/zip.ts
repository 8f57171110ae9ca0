// A ZIP archive reader: the central directory (with ZIP64) and stored or DEFLATE-compressed records.
// No tensors here; torch-checkpoint.ts uses it for torch.save's zip format.
import { inflateRawSync } from 'node:zlib';
import { fail, readU64, show, type FileSource } from './bytes.js';

/** True when the 4 bytes at the start of `head` are a ZIP local header or an empty archive's end record. */
export function isZipSignature(head: Buffer): boolean {
  return head.length >= 4 && (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50);
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The records of the archive by name, from its central directory. */
export function readZipDirectory(src: FileSource): Map<string, ZipEntry> {
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = src.read(src.size - tailLen, tailLen, 'the end of the zip archive');
  let e = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) { e = i; break; }
  }
  if (e < 0) fail('not a complete zip archive: no end-of-central-directory record (truncated?)');
  let count = tail.readUInt16LE(e + 10);
  let cdSize = tail.readUInt32LE(e + 12);
  let cdOffset = tail.readUInt32LE(e + 16);
  const eocdPos = src.size - tailLen + e;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: a locator just before the classic record points at the ZIP64 end-of-central-directory record.
    if (eocdPos < 20) fail('zip archive: ZIP64 fields without a ZIP64 locator');
    const loc = src.read(eocdPos - 20, 20, 'the ZIP64 locator');
    if (loc.readUInt32LE(0) !== 0x07064b50) fail('zip archive: ZIP64 fields without a ZIP64 locator');
    const rec = src.read(readU64(loc.subarray(8), 'ZIP64 record offset'), 56, 'the ZIP64 end-of-central-directory record');
    if (rec.readUInt32LE(0) !== 0x06064b50) fail('zip archive: bad ZIP64 end-of-central-directory record');
    count = readU64(rec.subarray(32), 'ZIP64 entry count');
    cdSize = readU64(rec.subarray(40), 'ZIP64 central directory size');
    cdOffset = readU64(rec.subarray(48), 'ZIP64 central directory offset');
  }
  const cd = src.read(cdOffset, cdSize, 'the zip central directory');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) fail(`zip archive: corrupt central directory (entry ${i} of ${count})`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28), extraLen = cd.readUInt16LE(p + 30), commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) fail(`zip archive: corrupt central directory (entry ${i} of ${count})`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x), len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const next = (field: string) => {
          if (q + 8 > x + 4 + len) fail(`zip archive: short ZIP64 extra field in ${show(name)}`);
          const v = readU64(cd.subarray(q), field);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('ZIP64 size');
        if (compressedSize === 0xffffffff) compressedSize = next('ZIP64 compressed size');
        if (localOffset === 0xffffffff) localOffset = next('ZIP64 offset');
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, flags, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one record, inflated if need be; encrypted records and other methods are refused. */
export function readZipEntry(src: FileSource, e: ZipEntry): Buffer {
  const n = show(e.name);
  if (e.flags & 1) fail(`zip record ${n} is encrypted`);
  const head = src.read(e.localOffset, 30, `the local header of ${n}`);
  if (head.readUInt32LE(0) !== 0x04034b50) fail(`zip archive: bad local header for ${n}`);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  const raw = src.read(start, e.compressedSize, `zip record ${n}`);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateRawSync(raw);
    } catch (err) {
      return fail(`zip record ${n}: corrupt DEFLATE data (${(err as Error).message})`);
    }
  } else return fail(`zip record ${n} uses compression method ${e.method}; only stored (0) and DEFLATE (8) are supported`);
  if (data.length !== e.size) fail(`zip record ${n} has ${data.length} bytes, its header says ${e.size}`);
  return data;
}
