// Compact binary form of a HierGraph: only the core data (features, bonds, BRICS bonds, motifs);
// node types and edges are rebuilt on load, so they can never disagree with the motifs.
//
// Layout (little-endian):
//   'ORMG' | u16 format | u16 featurizer version | u8 flags | u8 atom feature count | u8 bond feature count | u8 0
//   u32 smiles bytes | u32 atoms | u32 bonds | u32 BRICS bonds | u32 motifs | u32 motif memberships
//   smiles (UTF-8) | atom features (u8) | bond features (u8) | zero padding to a multiple of 4
//   Morgan identifiers (u32, 2 per atom; since format 2)
//   index arrays (u16 when atoms <= 65535, else u32): bond atoms, BRICS bonds, motif offsets (always
//   u32), motif atoms
// Format 1 records (before the Morgan identifiers) are refused with a GraphFormatError, which the
// graph cache counts as a miss: the graph is rebuilt and rewritten.
import { ATOM_FEATURE_COUNT, BOND_FEATURE_COUNT } from './features.js';
import { FEATURIZER_VERSION, assembleHierGraph, type HierGraph, type HierGraphCore } from './hiergraph.js';

const MAGIC = 0x474d524f; // 'ORMG' read as a little-endian u32
/** The record layout's version (the featurizer's output has its own, FEATURIZER_VERSION). */
export const GRAPH_FORMAT = 2;
const FLAG_DOWNWARD = 1, FLAG_FALLBACK = 2, FLAG_WIDE = 4, FLAG_UNSANITIZED = 8;
const HEADER = 36;

export class GraphFormatError extends Error {
  constructor(message: string) { super(message); this.name = 'GraphFormatError'; }
}

export function serializeHierGraph(g: HierGraphCore): Uint8Array {
  const smiles = Buffer.from(g.smiles, 'utf8');
  const wide = g.numAtoms > 0xffff;
  const idx = wide ? 4 : 2;
  const nb = g.bondAtoms.length / 2, nbr = g.bricsBonds.length / 2, nm = g.motifOffsets.length - 1;
  let off = HEADER + smiles.length + g.atomFeatures.length + g.bondFeatures.length;
  off = align(off, 4) + 4 * g.morgan.length;
  const size = off + idx * (g.bondAtoms.length + g.bricsBonds.length) + 4 * g.motifOffsets.length + idx * g.motifAtoms.length + 4;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, GRAPH_FORMAT, true);
  view.setUint16(6, FEATURIZER_VERSION, true);
  buf[8] = (g.downwardEdges ? FLAG_DOWNWARD : 0) | (g.motifFallback ? FLAG_FALLBACK : 0) | (wide ? FLAG_WIDE : 0) | (g.sanitized ? 0 : FLAG_UNSANITIZED);
  buf[9] = ATOM_FEATURE_COUNT; buf[10] = BOND_FEATURE_COUNT;
  [smiles.length, g.numAtoms, nb, nbr, nm, g.motifAtoms.length].forEach((v, i) => view.setUint32(12 + 4 * i, v, true));
  let p = HEADER;
  buf.set(smiles, p); p += smiles.length;
  buf.set(g.atomFeatures, p); p += g.atomFeatures.length;
  buf.set(g.bondFeatures, p); p += g.bondFeatures.length;
  p = align(p, 4);
  for (let i = 0; i < g.morgan.length; i++, p += 4) view.setUint32(p, g.morgan[i]!, true);
  const put = (arr: ArrayLike<number>, width: number) => {
    for (let i = 0; i < arr.length; i++, p += width) {
      if (width === 2) view.setUint16(p, arr[i]!, true); else view.setUint32(p, arr[i]!, true);
    }
  };
  put(g.bondAtoms, idx); put(g.bricsBonds, idx); put(g.motifOffsets, 4); put(g.motifAtoms, idx);
  return buf.subarray(0, p);
}

export function deserializeHierGraph(bytes: Uint8Array): HierGraph {
  if (bytes.length < HEADER) throw new GraphFormatError(`graph record too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new GraphFormatError('not an orma graph record (bad magic)');
  const format = view.getUint16(4, true), version = view.getUint16(6, true);
  if (format === 1) throw new GraphFormatError('graph format 1 has no Morgan identifiers (made before format 2): rebuild it');
  if (format !== GRAPH_FORMAT) throw new GraphFormatError(`unsupported graph format ${format}`);
  if (version !== FEATURIZER_VERSION) throw new GraphFormatError(`graph made by featurizer v${version}, this is v${FEATURIZER_VERSION}`);
  const flags = bytes[8]!;
  if (bytes[9] !== ATOM_FEATURE_COUNT || bytes[10] !== BOND_FEATURE_COUNT) throw new GraphFormatError('feature counts do not match this featurizer');
  const [sl, na, nb, nbr, nm, nma] = [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(12 + 4 * i, true)) as [number, number, number, number, number, number];
  const wide = (flags & FLAG_WIDE) !== 0, width = wide ? 4 : 2;
  let p = HEADER;
  const need = align(p + sl + na * ATOM_FEATURE_COUNT + nb * BOND_FEATURE_COUNT, 4) + 8 * na + width * (2 * nb + 2 * nbr + nma) + 4 * (nm + 1);
  if (bytes.length < need) throw new GraphFormatError(`graph record truncated (${bytes.length} of ${need} bytes)`);
  const smiles = Buffer.from(bytes.subarray(p, p + sl)).toString('utf8'); p += sl;
  const atomFeatures = Uint8Array.from(bytes.subarray(p, p + na * ATOM_FEATURE_COUNT)); p += na * ATOM_FEATURE_COUNT;
  const bondFeatures = Uint8Array.from(bytes.subarray(p, p + nb * BOND_FEATURE_COUNT)); p += nb * BOND_FEATURE_COUNT;
  p = align(p, 4);
  const morgan = new Uint32Array(2 * na);
  for (let i = 0; i < 2 * na; i++, p += 4) morgan[i] = view.getUint32(p, true);
  const take = (count: number, w: number) => {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++, p += w) out[i] = w === 2 ? view.getUint16(p, true) : view.getUint32(p, true);
    return out;
  };
  const core: HierGraphCore = {
    smiles, numAtoms: na, atomFeatures, morgan, bondFeatures,
    bondAtoms: take(2 * nb, width), bricsBonds: take(2 * nbr, width), motifOffsets: take(nm + 1, 4), motifAtoms: take(nma, width),
    motifFallback: (flags & FLAG_FALLBACK) !== 0, downwardEdges: (flags & FLAG_DOWNWARD) !== 0, sanitized: (flags & FLAG_UNSANITIZED) === 0,
  };
  if (core.motifOffsets[nm] !== nma) throw new GraphFormatError('motif offsets do not match the membership list');
  return assembleHierGraph(core);
}

/** Many graphs in one buffer: u32 count, then per graph a u32 byte length and the record. */
export function packHierGraphs(records: Uint8Array[]): Uint8Array[] {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, records.length, true);
  const out: Uint8Array[] = [head];
  for (const r of records) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, r.length, true);
    out.push(len, r);
  }
  return out;
}

export function unpackHierGraphs(bytes: Uint8Array): HierGraph[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const out: HierGraph[] = [];
  let p = 4;
  for (let i = 0; i < count; i++) {
    if (p + 4 > bytes.length) throw new GraphFormatError(`pack truncated at graph ${i} of ${count}`);
    const len = view.getUint32(p, true);
    p += 4;
    out.push(deserializeHierGraph(bytes.subarray(p, p + len)));
    p += len;
  }
  return out;
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;
