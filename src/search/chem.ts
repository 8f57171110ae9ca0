// The chemistry side of a molecule library, all through RDKit MinimalLib:
//  * substructure filter: a SubstructLibrary (pattern-fingerprint screen, then RDKit substructure
//    matching of the survivors); its trusted SMILES and pattern fingerprints are cached on disk, so a
//    later process rebuilds it in a fraction of a second instead of parsing every molecule again;
//  * Morgan fingerprints (radius 2, 2048 bits) and Tanimoto similarity, the baseline a chemist trusts
//    next to the learned molecule vectors; cached likewise.
// Cache files live in <root>/chem-<library digest>-<RDKit version>/ (the model plays no part).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SubstructLibrary } from '@rdkit/rdkit';
import { rdkit, rdkitVersion } from '../chem/rdkit.js';
import { writeFileAtomic } from '../util/fs.js';
import { SearchError } from './errors.js';
import type { Library, MoleculeEntry } from './library.js';

export const MORGAN = { radius: 2, nBits: 2048 } as const;
const MORGAN_BYTES = MORGAN.nBits / 8;
const NONE = 0xffffffff;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => { let n = 0; for (let x = i; x; x >>= 1) n += x & 1; return n; });

function popcount(a: Uint8Array, off = 0, len = a.length - off): number {
  let n = 0;
  for (let i = off; i < off + len; i++) n += POPCOUNT[a[i]!]!;
  return n;
}

/** Morgan fingerprint bits of a SMILES (raw 2048-bit vector), or null when RDKit cannot parse it. */
export function morganBits(smiles: string): Uint8Array | null {
  const mol = rdkit().get_mol(smiles);
  if (!mol) return null;
  try {
    if (!mol.is_valid()) return null;
    return Uint8Array.from(mol.get_morgan_fp_as_uint8array(JSON.stringify(MORGAN)) as Uint8Array);
  } finally {
    mol.delete();
  }
}

export class ChemIndex {
  readonly dir: string;
  private sslib: SubstructLibrary | null = null;
  /** SubstructLibrary index -> library row. */
  private sslibRows: Int32Array | null = null;
  private morgan: Uint8Array | null = null;
  private morganCounts: Int32Array | null = null;
  private morganValid: Uint8Array | null = null;

  constructor(root: string, private readonly library: Library<MoleculeEntry>) {
    this.dir = join(root, `chem-${library.sha256.slice(0, 16)}-rdkit${rdkitVersion()}`);
  }

  /** Library rows whose molecule contains the SMARTS pattern (ascending). Throws SearchError for bad SMARTS. */
  substructure(smarts: string): Int32Array {
    if (typeof smarts !== 'string' || !smarts.trim()) throw new SearchError('substructure: the SMARTS pattern is empty', 'substructure');
    const q = rdkit().get_qmol(smarts.trim());
    if (!q) throw new SearchError(`substructure: RDKit cannot read the SMARTS pattern '${smarts}'`, 'substructure');
    try {
      const lib = this.substructLibrary();
      const hits = lib.get_matches_as_uint32array(q, false, 1, Math.max(1, lib.size())) as Uint32Array;
      const rows = Int32Array.from(hits, (i) => this.sslibRows![i]!);
      return rows.sort();
    } finally {
      q.delete();
    }
  }

  private substructLibrary(): SubstructLibrary {
    if (this.sslib) return this.sslib;
    const rd = rdkit();
    const lib = new rd.SubstructLibrary(2048);
    const rows: number[] = [];
    const cache = join(this.dir, 'substruct.bin');
    const n = this.library.entries.length;
    if (existsSync(cache)) {
      // per library row: u32 SMILES length (NONE: not in the library), SMILES, u32 fingerprint length, fingerprint
      const buf = readFileSync(cache);
      let off = 0;
      for (let row = 0; row < n; row++) {
        const sl = buf.readUInt32LE(off); off += 4;
        if (sl === NONE) continue;
        const smi = buf.toString('utf8', off, off + sl); off += sl;
        const fl = buf.readUInt32LE(off); off += 4;
        lib.add_trusted_smiles_and_pattern_fp(smi, new Uint8Array(buf.subarray(off, off + fl))); off += fl;
        rows.push(row);
      }
    } else {
      const parts: Buffer[] = [];
      const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
      this.library.entries.forEach((e, row) => {
        const i = lib.add_smiles(e.smiles);
        if (i < 0) { parts.push(u32(NONE)); return; }
        rows.push(row);
        const smi = Buffer.from(lib.get_trusted_smiles(i), 'utf8');
        const fp = Buffer.from(lib.get_pattern_fp_as_uint8array(i) as Uint8Array);
        parts.push(u32(smi.length), smi, u32(fp.length), fp);
      });
      mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(cache, parts);
    }
    this.sslib = lib;
    this.sslibRows = Int32Array.from(rows);
    return lib;
  }

  private fingerprints(): void {
    if (this.morgan) return;
    const n = this.library.entries.length;
    const cache = join(this.dir, 'morgan.bin');
    // n bytes of validity, then n × 256 bytes of fingerprints
    let buf: Uint8Array;
    if (existsSync(cache) && readFileSync(cache).length === n * (1 + MORGAN_BYTES)) buf = new Uint8Array(readFileSync(cache));
    else {
      buf = new Uint8Array(n * (1 + MORGAN_BYTES));
      this.library.entries.forEach((e, row) => {
        const fp = morganBits(e.smiles);
        if (!fp) return;
        buf[row] = 1;
        buf.set(fp, n + row * MORGAN_BYTES);
      });
      mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(cache, buf);
    }
    this.morganValid = buf.subarray(0, n);
    this.morgan = buf.subarray(n);
    this.morganCounts = Int32Array.from({ length: n }, (_, row) => popcount(this.morgan!, row * MORGAN_BYTES, MORGAN_BYTES));
  }

  /** The k library rows most similar to `smiles` by Morgan-fingerprint Tanimoto (ties by row). */
  morganSimilar(smiles: string, k: number): { row: number; score: number }[] {
    const q = morganBits(smiles);
    if (!q) throw new SearchError(`cannot parse SMILES '${smiles}'`, 'smiles');
    this.fingerprints();
    const fps = this.morgan!, counts = this.morganCounts!, valid = this.morganValid!;
    const qc = popcount(q);
    const out: { row: number; score: number }[] = [];
    for (let row = 0; row < valid.length; row++) {
      if (!valid[row]) continue;
      let inter = 0;
      const off = row * MORGAN_BYTES;
      for (let i = 0; i < MORGAN_BYTES; i++) inter += POPCOUNT[q[i]! & fps[off + i]!]!;
      const union = qc + counts[row]! - inter;
      out.push({ row, score: union === 0 ? 1 : inter / union });
    }
    out.sort((a, b) => b.score - a.score || a.row - b.row);
    return out.slice(0, k);
  }

  dispose(): void {
    this.sslib?.delete();
    this.sslib = null;
  }
}
