// Motif decomposition as in the official ORMA code (orma-reference.md section 3.2), computed on the
// graph directly, plus an opt-in fallback for molecules the official rule leaves without motifs.
//
// Official rule, restated as graph operations:
//   1. A one-atom molecule has the motif [0].
//   2. Cut the BRICS bonds; each connected component of the remaining bonds is a motif. An atom whose
//      bonds are all BRICS bonds is a singleton motif; an atom with no bonds is in no motif.
//   3. Keep motifs with 0 < size < numAtoms (so a molecule with no BRICS bond gets none).
//   4. Ring split: a motif whose fragment has more than one SSSR ring (cyclomatic number > 1) gives up
//      every SSSR ring of the whole molecule that lies inside it; each such ring becomes its own motif
//      (fused rings overlap), the motif keeps the remaining atoms (possibly disconnected).
//   5. Keep again motifs with 0 < size < numAtoms.
// Order follows the official code: components by their first clique (lowest non-BRICS bond index;
// components without such a bond, i.e. singletons, after all of those in the order their atoms first
// appear in the BRICS bond list), then the split-off rings by (motif, SSSR ring order).
// Atoms within a motif are sorted ascending.

/**
 * What a molecule gets when the official rule gives it no motif (mostly those without a BRICS bond;
 * how many: docs/chem.md, "No-BRICS fallback"):
 *  - 'none': no motifs, as the official code (atoms then link straight to the molecule node);
 *  - 'molecule': one motif holding every atom;
 *  - 'rings': each SSSR ring is a motif (fused rings overlap) and each connected piece of the
 *    non-ring atoms is a motif; an acyclic molecule thus gets one whole-molecule motif.
 */
export type NoBricsFallback = 'none' | 'molecule' | 'rings';

export interface MotifInput {
  numAtoms: number;
  bondBegin: ArrayLike<number>;
  bondEnd: ArrayLike<number>;
  /** BRICS bonds as atom pairs, in FindBRICSBonds order and orientation. */
  bricsBonds: readonly (readonly [number, number])[];
  /** SSSR rings of the whole molecule, in RDKit order. */
  rings: readonly (readonly number[])[];
}

export interface MotifResult {
  motifs: number[][];
  /** True when the motifs come from the fallback rather than the official rule. */
  fallback: boolean;
}

export function decomposeMotifs(m: MotifInput, fallback: NoBricsFallback = 'none'): MotifResult {
  const motifs = officialMotifs(m);
  if (motifs.length > 0 || fallback === 'none') return { motifs, fallback: false };
  if (fallback === 'molecule') return { motifs: [range(m.numAtoms)], fallback: true };
  return { motifs: ringFallback(m), fallback: true };
}

/** The official ORMA motif rule (steps 1-5 above). */
export function officialMotifs(m: MotifInput): number[][] {
  const n = m.numAtoms, nb = m.bondBegin.length;
  if (n === 1) return [[0]];
  const cut = bricsBondMask(m);
  const uf = new UnionFind(n);
  const hasBond = new Uint8Array(n);
  for (let b = 0; b < nb; b++) {
    hasBond[m.bondBegin[b]!] = 1; hasBond[m.bondEnd[b]!] = 1;
    if (!cut[b]) uf.union(m.bondBegin[b]!, m.bondEnd[b]!);
  }
  // order key of each component: first non-BRICS bond, else first appearance among BRICS atoms
  const key = new Map<number, number>();
  for (let b = 0; b < nb; b++) if (!cut[b]) { const r = uf.find(m.bondBegin[b]!); if (!key.has(r)) key.set(r, b); }
  let pos = nb;
  for (const [a, b] of m.bricsBonds) for (const x of [a, b]) { const r = uf.find(x); if (!key.has(r)) key.set(r, pos++); }
  const members = new Map<number, number[]>();
  for (let a = 0; a < n; a++) {
    if (!hasBond[a]) continue;
    const r = uf.find(a);
    let list = members.get(r);
    if (!list) members.set(r, (list = []));
    list.push(a);
  }
  let cliques = [...members.entries()].sort((x, y) => key.get(x[0])! - key.get(y[0])!).map(([, atoms]) => atoms);
  cliques = cliques.filter((c) => c.length > 0 && c.length < n);
  return splitRings(m, cliques).filter((c) => c.length > 0 && c.length < n);
}

function bricsBondMask(m: MotifInput): Uint8Array {
  const cut = new Uint8Array(m.bondBegin.length);
  const index = new Map<number, number>();
  for (let b = 0; b < m.bondBegin.length; b++) index.set(pairKey(m.bondBegin[b]!, m.bondEnd[b]!, m.numAtoms), b);
  for (const [a, b] of m.bricsBonds) {
    const bond = index.get(pairKey(a, b, m.numAtoms));
    if (bond === undefined) throw new Error(`BRICS bond (${a}, ${b}) is not a bond of the molecule`);
    cut[bond] = 1;
  }
  return cut;
}

const pairKey = (a: number, b: number, n: number) => (a < b ? a * n + b : b * n + a);

/** Step 4: split the SSSR rings out of motifs that contain more than one ring. */
function splitRings(m: MotifInput, cliques: number[][]): number[][] {
  const out = cliques.map((c) => c.slice());
  const count = cliques.length;
  const rings = ringsInReferenceOrder(m.rings);
  const inClique = new Uint8Array(m.numAtoms);
  for (let i = 0; i < count; i++) {
    const c = cliques[i]!;
    for (const a of c) inClique[a] = 1;
    let innerBonds = 0;
    for (let b = 0; b < m.bondBegin.length; b++) if (inClique[m.bondBegin[b]!] && inClique[m.bondEnd[b]!]) innerBonds++;
    if (innerBonds - c.length + 1 > 1) {
      const removed = new Uint8Array(m.numAtoms);
      for (const ring of rings) {
        if (!ring.every((a) => inClique[a])) continue;
        out.push([...ring].sort((x, y) => x - y));
        for (const a of ring) removed[a] = 1;
      }
      out[i] = out[i]!.filter((a) => !removed[a]);
    }
    for (const a of c) inClique[a] = 0;
  }
  return out;
}

/** 'rings' fallback: non-ring pieces first (by lowest atom), then SSSR rings in RDKit order. */
function ringFallback(m: MotifInput): number[][] {
  const n = m.numAtoms;
  const inRing = new Uint8Array(n);
  for (const ring of m.rings) for (const a of ring) inRing[a] = 1;
  const uf = new UnionFind(n);
  for (let b = 0; b < m.bondBegin.length; b++) {
    const a = m.bondBegin[b]!, c = m.bondEnd[b]!;
    if (!inRing[a] && !inRing[c]) uf.union(a, c);
  }
  const pieces = new Map<number, number[]>();
  for (let a = 0; a < n; a++) {
    if (inRing[a]) continue;
    const r = uf.find(a);
    let list = pieces.get(r);
    if (!list) pieces.set(r, (list = []));
    list.push(a);
  }
  return [...pieces.values(), ...m.rings.map((r) => [...r].sort((x, y) => x - y))];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) { this.parent = Int32Array.from({ length: n }, (_, i) => i); }
  find(x: number): number {
    while (this.parent[x] !== x) { this.parent[x] = this.parent[this.parent[x]!]!; x = this.parent[x]!; }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * Recent RDKit lists SSSR rings by size; the RDKit the official code ran on (2022.09) lists them in
 * ring-perception order, which on ChEBI-20 is ascending by lowest atom index. Sorting by lowest atom
 * (stable) reproduces the official motif order in most molecules. Ring sets are unaffected.
 */
export function ringsInReferenceOrder(rings: readonly (readonly number[])[]): readonly (readonly number[])[] {
  const lowest = rings.map((r) => Math.min(...r));
  return rings.map((_, i) => i).sort((x, y) => lowest[x]! - lowest[y]! || x - y).map((i) => rings[i]!);
}
