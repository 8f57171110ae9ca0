// The BRICS environments of brics.ts as plain predicates on the parsed arrays: each one states its
// SMARTS atom by atom (SMARTS semantics: C/N/O/S aliphatic, c/n aromatic, #z any, D explicit degree,
// R in a ring, '-' single, '=' double, ':' aromatic, '@' ring bond of any type, no symbol = single or
// aromatic, distinct atoms per match). They replace RDKit's substructure queries (docs/chem.md); the
// SMARTS stay the definition: test/chem/brics.test.ts checks both give the same atoms on every atom of
// ChEBI-20 validation and test.
import type { ParsedMolecule } from './rdkit.js';
import type { Topology } from './topology.js';

export interface AtomView { p: ParsedMolecule; t: Topology }
export type EnvironmentTest = (v: AtomView, a: number) => boolean;

// Element sets as bit masks over atomic numbers (all BRICS elements are below 32).
const set = (...z: number[]) => z.reduce((m, e) => m | (1 << e), 0);
const inSet = (z: number, mask: number) => z < 32 && ((mask >>> z) & 1) === 1;
const aliphatic = (v: AtomView, x: number, mask: number) => !v.p.aromaticAtom[x] && inSet(v.p.atomicNum[x]!, mask);
const aromatic = (v: AtomView, x: number, mask: number) => v.p.aromaticAtom[x] === 1 && inSet(v.p.atomicNum[x]!, mask);
const anyOf = (v: AtomView, x: number, mask: number) => inSet(v.p.atomicNum[x]!, mask);
const C = set(6), N = set(7), O = set(8), S = set(16);
const Z_0_6 = set(0, 6);
const Z_0_6_1 = set(0, 6, 1);
const Z_0_6_7_8 = set(0, 6, 7, 8);
const Z_6_0 = set(6, 0);
const Z_6_16_0_1 = set(6, 16, 0, 1);
const Z_6_7_8_16 = set(6, 7, 8, 16);
const Z_7_8_16 = set(7, 8, 16);

const single = (v: AtomView, b: number) => v.p.bondOrder[b] === 1 && !v.p.aromaticBond[b];
const double = (v: AtomView, b: number) => v.p.bondOrder[b] === 2 && !v.p.aromaticBond[b];
const arom = (v: AtomView, b: number) => v.p.aromaticBond[b] === 1;
const implicit = (v: AtomView, b: number) => single(v, b) || arom(v, b);
const ring = (v: AtomView, b: number) => v.t.bondInRing[b] === 1;

/** Neighbours x of `a` (with bond b) for which `ok(b, x)` holds. */
function neighbours(v: AtomView, a: number, ok: (b: number, x: number) => boolean): number[] {
  const out: number[] = [];
  for (let k = v.t.adjStart[a]!; k < v.t.adjStart[a + 1]!; k++) if (ok(v.t.adjBond[k]!, v.t.adjAtom[k]!)) out.push(v.t.adjAtom[k]!);
  return out;
}
/** How many neighbours satisfy `ok` (no allocation: this runs for every candidate atom). */
function count(v: AtomView, a: number, ok: (b: number, x: number) => boolean): number {
  let c = 0;
  for (let k = v.t.adjStart[a]!; k < v.t.adjStart[a + 1]!; k++) if (ok(v.t.adjBond[k]!, v.t.adjAtom[k]!)) c++;
  return c;
}
function some(v: AtomView, a: number, ok: (b: number, x: number) => boolean): boolean {
  for (let k = v.t.adjStart[a]!; k < v.t.adjStart[a + 1]!; k++) if (ok(v.t.adjBond[k]!, v.t.adjAtom[k]!)) return true;
  return false;
}
const hasDoubleO = (v: AtomView, c: number) => some(v, c, (b, x) => double(v, b) && aliphatic(v, x, O));

export const ENVIRONMENT_PREDICATES: Readonly<Record<string, EnvironmentTest>> = {
  // [C;D3]([#0,#6,#7,#8])(=O): the two neighbours differ by bond type, so they are distinct atoms
  L1: (v, a) => aliphatic(v, a, C) && v.t.degree[a] === 3 && hasDoubleO(v, a) && some(v, a, (b, x) => implicit(v, b) && anyOf(v, x, Z_0_6_7_8)),
  // [O;D2]-;!@[#0,#6,#1]
  L3: (v, a) => aliphatic(v, a, O) && v.t.degree[a] === 2 && some(v, a, (b, x) => single(v, b) && !ring(v, b) && anyOf(v, x, Z_0_6_1)),
  // [C;!D1;!$(C=*)]-;!@[#6]
  L4: (v, a) => aliphatic(v, a, C) && v.t.degree[a] !== 1 && !some(v, a, (b) => double(v, b)) && some(v, a, (b, x) => single(v, b) && !ring(v, b) && anyOf(v, x, C)),
  // [N;!D1;!$(N=*);!$(N-[!#6;!#16;!#0;!#1]);!$([N;R]@[C;R]=O)]
  L5: (v, a) => aliphatic(v, a, N) && v.t.degree[a] !== 1 && !some(v, a, (b) => double(v, b))
    && !some(v, a, (b, x) => single(v, b) && !anyOf(v, x, Z_6_16_0_1))
    && !(v.t.atomInRing[a] === 1 && some(v, a, (b, x) => ring(v, b) && aliphatic(v, x, C) && v.t.atomInRing[x] === 1 && hasDoubleO(v, x))),
  // [C;D3;!R](=O)-;!@[#0,#6,#7,#8]
  L6: (v, a) => aliphatic(v, a, C) && v.t.degree[a] === 3 && !v.t.atomInRing[a] && hasDoubleO(v, a)
    && some(v, a, (b, x) => single(v, b) && !ring(v, b) && anyOf(v, x, Z_0_6_7_8)),
  // [C;D2,D3]-[#6]
  L7a: (v, a) => aliphatic(v, a, C) && (v.t.degree[a] === 2 || v.t.degree[a] === 3) && some(v, a, (b, x) => single(v, b) && anyOf(v, x, C)),
  L7b: (v, a) => ENVIRONMENT_PREDICATES.L7a!(v, a),
  // [C;!R;!D1;!$(C!-*)]
  L8: (v, a) => aliphatic(v, a, C) && !v.t.atomInRing[a] && v.t.degree[a] !== 1 && !some(v, a, (b) => !single(v, b)),
  // [n;+0;$(n(:[c,n,o,s]):[c,n,o,s])]
  L9: (v, a) => aromatic(v, a, N) && v.p.formalCharge[a] === 0 && count(v, a, (b, x) => arom(v, b) && aromatic(v, x, Z_6_7_8_16)) >= 2,
  // [N;R;$(N(@C(=O))@[C,N,O,S])]: N, C, O and the second neighbour are four distinct atoms
  L10: (v, a) => {
    if (!aliphatic(v, a, N) || !v.t.atomInRing[a]) return false;
    const carbonyls = neighbours(v, a, (b, x) => ring(v, b) && aliphatic(v, x, C) && hasDoubleO(v, x));
    const others = neighbours(v, a, (b, x) => ring(v, b) && aliphatic(v, x, Z_6_7_8_16));
    return carbonyls.some((c) => {
      const oxygens = neighbours(v, c, (b, x) => double(v, b) && aliphatic(v, x, O));
      return others.some((x) => x !== c && oxygens.some((o) => o !== x));
    });
  },
  // [S;D2](-;!@[#0,#6])
  L11: (v, a) => aliphatic(v, a, S) && v.t.degree[a] === 2 && some(v, a, (b, x) => single(v, b) && !ring(v, b) && anyOf(v, x, Z_0_6)),
  // [S;D4]([#6,#0])(=O)(=O)
  L12: (v, a) => aliphatic(v, a, S) && v.t.degree[a] === 4 && count(v, a, (b, x) => double(v, b) && aliphatic(v, x, O)) >= 2
    && some(v, a, (b, x) => implicit(v, b) && anyOf(v, x, Z_6_0)),
  // [C;$(C(-;@[C,N,O,S])-;@[N,O,S])]: the N/O/S set is inside the C/N/O/S set
  L13: (v, a) => aliphatic(v, a, C) && count(v, a, (b, x) => single(v, b) && ring(v, b) && aliphatic(v, x, Z_7_8_16)) >= 1
    && count(v, a, (b, x) => single(v, b) && ring(v, b) && aliphatic(v, x, Z_6_7_8_16)) >= 2,
  // [c;$(c(:[c,n,o,s]):[n,o,s])]
  L14: (v, a) => aromatic(v, a, C) && count(v, a, (b, x) => arom(v, b) && aromatic(v, x, Z_7_8_16)) >= 1
    && count(v, a, (b, x) => arom(v, b) && aromatic(v, x, Z_6_7_8_16)) >= 2,
  L14b: (v, a) => ENVIRONMENT_PREDICATES.L14!(v, a),
  // [C;$(C(-;@C)-;@C)]
  L15: (v, a) => aliphatic(v, a, C) && count(v, a, (b, x) => single(v, b) && ring(v, b) && aliphatic(v, x, C)) >= 2,
  // [c;$(c(:c):c)]
  L16: (v, a) => aromatic(v, a, C) && count(v, a, (b, x) => arom(v, b) && aromatic(v, x, C)) >= 2,
  L16b: (v, a) => ENVIRONMENT_PREDICATES.L16!(v, a),
};
