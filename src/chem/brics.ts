// BRICS bond finding (Degen, Wegscheid-Gerlach, Zaliani, Rarey; ChemMedChem 3, 1503-1507, 2008),
// with the environment definitions and rule table as RDKit publishes them (L2 folded into L5, extra
// rules 9-13, 9-14, 14-14, 16-16). Equivalent to RDKit's BRICS.FindBRICSBonds:
//   a bond (a, b) is a BRICS bond for rule (Li, Lj, type) when a is the root of a match of
//   environment Li, b the root of a match of Lj, and the bond between them has the rule's type and
//   is not in a ring. Rules are tried in table order, matches of one rule by (a, b) ascending with
//   mirror duplicates dropped, and a bond found by an earlier rule is not reported again.
// Two interchangeable matchers find the atoms of each environment:
//   'rdkit'  - RDKit MinimalLib matches the SMARTS (one recursive query per environment; a cheap test
//              on the parsed arrays skips queries that cannot fire for this molecule);
//   'native' - the same SMARTS written as predicates (brics-rules.ts), without the WASM queries
//              (docs/chem.md, "BRICS bonds"). Tests check that both give identical atoms.
import type { Mol } from '@rdkit/rdkit';
import { rdkit, type ParsedMolecule } from './rdkit.js';
import { isDouble, isSingle, type Topology } from './topology.js';
import { ENVIRONMENT_PREDICATES } from './brics-rules.js';

export type BricsMatcher = 'native' | 'rdkit';

/** The BRICS environments: the first atom of each SMARTS is the atom at the cut bond. */
export const BRICS_ENVIRONMENTS: Readonly<Record<string, string>> = {
  L1: '[C;D3]([#0,#6,#7,#8])(=O)',
  L3: '[O;D2]-;!@[#0,#6,#1]',
  L4: '[C;!D1;!$(C=*)]-;!@[#6]',
  L5: '[N;!D1;!$(N=*);!$(N-[!#6;!#16;!#0;!#1]);!$([N;R]@[C;R]=O)]',
  L6: '[C;D3;!R](=O)-;!@[#0,#6,#7,#8]',
  L7a: '[C;D2,D3]-[#6]',
  L7b: '[C;D2,D3]-[#6]',
  L8: '[C;!R;!D1;!$(C!-*)]',
  L9: '[n;+0;$(n(:[c,n,o,s]):[c,n,o,s])]',
  L10: '[N;R;$(N(@C(=O))@[C,N,O,S])]',
  L11: '[S;D2](-;!@[#0,#6])',
  L12: '[S;D4]([#6,#0])(=O)(=O)',
  L13: '[C;$(C(-;@[C,N,O,S])-;@[N,O,S])]',
  L14: '[c;$(c(:[c,n,o,s]):[n,o,s])]',
  L14b: '[c;$(c(:[c,n,o,s]):[n,o,s])]',
  L15: '[C;$(C(-;@C)-;@C)]',
  L16: '[c;$(c(:c):c)]',
  L16b: '[c;$(c(:c):c)]',
};

export type BricsBondType = '-' | '=';
export interface BricsRule { env1: string; env2: string; bond: BricsBondType }

/** Rule table in RDKit's order (grouped by the first environment). */
export const BRICS_RULES: readonly BricsRule[] = ([
  ['L1', 'L3', '-'], ['L1', 'L5', '-'], ['L1', 'L10', '-'],
  ['L3', 'L4', '-'], ['L3', 'L13', '-'], ['L3', 'L14', '-'], ['L3', 'L15', '-'], ['L3', 'L16', '-'],
  ['L4', 'L5', '-'], ['L4', 'L11', '-'],
  ['L5', 'L12', '-'], ['L5', 'L14', '-'], ['L5', 'L16', '-'], ['L5', 'L13', '-'], ['L5', 'L15', '-'],
  ['L6', 'L13', '-'], ['L6', 'L14', '-'], ['L6', 'L15', '-'], ['L6', 'L16', '-'],
  ['L7a', 'L7b', '='],
  ['L8', 'L9', '-'], ['L8', 'L10', '-'], ['L8', 'L13', '-'], ['L8', 'L14', '-'], ['L8', 'L15', '-'], ['L8', 'L16', '-'],
  ['L9', 'L13', '-'], ['L9', 'L14', '-'], ['L9', 'L15', '-'], ['L9', 'L16', '-'],
  ['L10', 'L13', '-'], ['L10', 'L14', '-'], ['L10', 'L15', '-'], ['L10', 'L16', '-'],
  ['L11', 'L13', '-'], ['L11', 'L14', '-'], ['L11', 'L15', '-'], ['L11', 'L16', '-'],
  ['L13', 'L14', '-'], ['L13', 'L15', '-'], ['L13', 'L16', '-'],
  ['L14', 'L14', '-'], ['L14', 'L15', '-'], ['L14', 'L16', '-'],
  ['L15', 'L16', '-'],
  ['L16', 'L16', '-'],
] as const).map(([env1, env2, bond]) => ({ env1, env2, bond }));

/** A BRICS bond: atoms in RDKit's orientation and the environment labels without letters ('7', '16'). */
export interface BricsBond { atoms: [number, number]; labels: [string, string] }

// Necessary conditions for an atom to be the root of each environment, read off the SMARTS and
// tested on the parsed arrays. They only decide which SMARTS queries are worth running (most
// molecules need a handful); the SMARTS matches decide which atoms qualify.
interface AtomView { p: ParsedMolecule; t: Topology }
type RootTest = (v: AtomView, a: number) => boolean;

const isAliphatic = (v: AtomView, a: number, z: number) => v.p.atomicNum[a] === z && !v.p.aromaticAtom[a];
const isAromatic = (v: AtomView, a: number, z: number) => v.p.atomicNum[a] === z && v.p.aromaticAtom[a] === 1;
/** Number of neighbours of `a` joined by a bond satisfying `bondOk` whose atom satisfies `atomOk`. */
function countNeighbours(v: AtomView, a: number, bondOk: (b: number) => boolean, atomOk: (x: number) => boolean): number {
  let c = 0;
  for (let k = v.t.adjStart[a]!; k < v.t.adjStart[a + 1]!; k++) if (bondOk(v.t.adjBond[k]!) && atomOk(v.t.adjAtom[k]!)) c++;
  return c;
}
const ringSingle = (v: AtomView) => (b: number) => v.t.bondInRing[b] === 1 && isSingle(v.p, b);
const double = (v: AtomView) => (b: number) => isDouble(v.p, b);
const aromaticBond = (v: AtomView) => (b: number) => v.p.aromaticBond[b] === 1;
const hasDoubleO = (v: AtomView, a: number) => countNeighbours(v, a, double(v), (x) => isAliphatic(v, x, 8)) > 0;
const hasDouble = (v: AtomView, a: number) => countNeighbours(v, a, double(v), () => true) > 0;
const allSingle = (v: AtomView, a: number) => countNeighbours(v, a, (b) => !isSingle(v.p, b), () => true) === 0;
const aromaticNOS = (v: AtomView) => (x: number) => v.p.aromaticAtom[x] === 1 && [7, 8, 16].includes(v.p.atomicNum[x]!);

const ROOT_TESTS: Record<string, RootTest> = {
  L1: (v, a) => isAliphatic(v, a, 6) && v.t.degree[a] === 3 && hasDoubleO(v, a),
  L3: (v, a) => isAliphatic(v, a, 8) && v.t.degree[a] === 2,
  L4: (v, a) => isAliphatic(v, a, 6) && v.t.degree[a] !== 1 && !hasDouble(v, a),
  L5: (v, a) => isAliphatic(v, a, 7) && v.t.degree[a] !== 1 && !hasDouble(v, a),
  L6: (v, a) => isAliphatic(v, a, 6) && v.t.degree[a] === 3 && !v.t.atomInRing[a] && hasDoubleO(v, a),
  L7a: (v, a) => isAliphatic(v, a, 6) && (v.t.degree[a] === 2 || v.t.degree[a] === 3) && hasDouble(v, a),
  L7b: (v, a) => isAliphatic(v, a, 6) && (v.t.degree[a] === 2 || v.t.degree[a] === 3) && hasDouble(v, a),
  L8: (v, a) => isAliphatic(v, a, 6) && !v.t.atomInRing[a] && v.t.degree[a] !== 1 && allSingle(v, a),
  L9: (v, a) => isAromatic(v, a, 7) && v.p.formalCharge[a] === 0,
  L10: (v, a) => isAliphatic(v, a, 7) && v.t.atomInRing[a] === 1,
  L11: (v, a) => isAliphatic(v, a, 16) && v.t.degree[a] === 2,
  L12: (v, a) => isAliphatic(v, a, 16) && v.t.degree[a] === 4,
  L13: (v, a) => isAliphatic(v, a, 6) && countNeighbours(v, a, ringSingle(v), (x) => [7, 8, 16].includes(v.p.atomicNum[x]!) && !v.p.aromaticAtom[x]) > 0,
  L14: (v, a) => isAromatic(v, a, 6) && countNeighbours(v, a, aromaticBond(v), aromaticNOS(v)) > 0,
  L14b: (v, a) => isAromatic(v, a, 6) && countNeighbours(v, a, aromaticBond(v), aromaticNOS(v)) > 0,
  L15: (v, a) => isAliphatic(v, a, 6) && countNeighbours(v, a, ringSingle(v), (x) => isAliphatic(v, x, 6)) > 1,
  L16: (v, a) => isAromatic(v, a, 6) && countNeighbours(v, a, aromaticBond(v), (x) => isAromatic(v, x, 6)) > 1,
  L16b: (v, a) => isAromatic(v, a, 6) && countNeighbours(v, a, aromaticBond(v), (x) => isAromatic(v, x, 6)) > 1,
};
const ENV_LABELS = Object.keys(BRICS_ENVIRONMENTS);
const ENV_BIT: Record<string, number> = Object.fromEntries(ENV_LABELS.map((l, i) => [l, 1 << i]));

// One compiled query per distinct SMARTS, made once per process (L7a/L7b etc. share theirs).
let queries: Map<string, Mol> | null = null;
function environmentQuery(label: string): Mol {
  if (!queries) queries = new Map();
  const smarts = BRICS_ENVIRONMENTS[label]!;
  let q = queries.get(smarts);
  if (!q) {
    const made = rdkit().get_qmol(`[$(${smarts})]`);
    if (!made) throw new Error(`BRICS environment ${label} is not valid SMARTS: ${smarts}`);
    q = made;
    queries.set(smarts, q);
  }
  return q;
}

const ATOM_IN_MATCH = /"atoms":\[(\d+)\]/g;

/** Atoms that are roots of `label` in `mol`, as a 0/1 array. */
function environmentAtoms(mol: Mol, label: string, n: number): Uint8Array {
  const hits = new Uint8Array(n);
  const json = mol.get_substruct_matches(environmentQuery(label), `{"maxMatches":${n + 1}}`);
  for (const m of json.matchAll(ATOM_IN_MATCH)) hits[Number(m[1])] = 1;
  return hits;
}

const bondFits = (p: ParsedMolecule, t: Topology, b: number, type: BricsBondType) =>
  !t.bondInRing[b] && (type === '-' ? isSingle(p, b) : isDouble(p, b));
const stripLetters = (label: string) => label.slice(1).replace(/[a-z]/gi, '');

/** Atoms (0/1 per atom) that are roots of environment `label`, by either matcher. */
export function bricsEnvironmentAtoms(mol: Mol | null, p: ParsedMolecule, t: Topology, label: string, matcher: BricsMatcher): Uint8Array {
  if (matcher === 'rdkit') {
    if (!mol) throw new Error("the 'rdkit' BRICS matcher needs the RDKit molecule");
    return environmentAtoms(mol, label, p.numAtoms);
  }
  const test = ENVIRONMENT_PREDICATES[label]!, view = { p, t };
  const hits = new Uint8Array(p.numAtoms);
  for (let a = 0; a < p.numAtoms; a++) if (test(view, a)) hits[a] = 1;
  return hits;
}

/** Rules that can fire: a non-ring bond of the rule's type between atoms passing the root tests. */
function possibleRules(p: ParsedMolecule, t: Topology): boolean[] {
  const view: AtomView = { p, t };
  const rootMask = new Int32Array(p.numAtoms);
  for (let a = 0; a < p.numAtoms; a++) {
    const z = p.atomicNum[a];
    if (z !== 6 && z !== 7 && z !== 8 && z !== 16) continue;
    let mask = 0;
    for (const label of ENV_LABELS) if (ROOT_TESTS[label]!(view, a)) mask |= ENV_BIT[label]!;
    rootMask[a] = mask;
  }
  return BRICS_RULES.map((rule) => {
    const m1 = ENV_BIT[rule.env1]!, m2 = ENV_BIT[rule.env2]!;
    for (let b = 0; b < p.numBonds; b++) {
      const x = rootMask[p.bondBegin[b]!]!, y = rootMask[p.bondEnd[b]!]!;
      if (((x & m1 && y & m2) || (y & m1 && x & m2)) && bondFits(p, t, b, rule.bond)) return true;
    }
    return false;
  });
}

/** The BRICS bonds of a molecule, in RDKit's FindBRICSBonds order and orientation. */
export function findBricsBonds(mol: Mol | null, p: ParsedMolecule, t: Topology, matcher: BricsMatcher = 'native'): BricsBond[] {
  return matcher === 'native' ? findNative(p, t) : findWithRDKit(mol, p, t);
}

function findWithRDKit(mol: Mol | null, p: ParsedMolecule, t: Topology): BricsBond[] {
  const n = p.numAtoms;
  const possible = possibleRules(p, t);
  const envMemo = new Map<string, Uint8Array>();
  const env = (label: string) => {
    const key = BRICS_ENVIRONMENTS[label]!; // labels with the same SMARTS share one result
    let e = envMemo.get(key);
    if (!e) { e = bricsEnvironmentAtoms(mol, p, t, label, 'rdkit'); envMemo.set(key, e); }
    return e;
  };
  const found: BricsBond[] = [];
  const done = new Set<number>(); // bond indices already reported
  BRICS_RULES.forEach((rule, r) => {
    if (!possible[r]) return;
    const e1 = env(rule.env1), e2 = env(rule.env2);
    const seen = new Set<number>(); // mirror duplicates within this rule
    for (let a = 0; a < n; a++) {
      if (!e1[a]) continue;
      for (const [b, bond] of neighboursAscending(t, a)) {
        if (!e2[b] || !bondFits(p, t, bond, rule.bond) || seen.has(bond)) continue;
        seen.add(bond);
        if (done.has(bond)) continue;
        done.add(bond);
        found.push({ atoms: [a, b], labels: [stripLetters(rule.env1), stripLetters(rule.env2)] });
      }
    }
  });
  return found;
}

// Same search with the predicates, visiting only the bonds that can be cut (non-ring single or
// double bonds) and evaluating environments only on their atoms.
function findNative(p: ParsedMolecule, t: Topology): BricsBond[] {
  const view = { p, t };
  const masks = new Int32Array(p.numAtoms).fill(-1);
  const maskOf = (a: number) => {
    if (masks[a]! < 0) {
      let m = 0;
      const z = p.atomicNum[a];
      if (z !== 6 && z !== 7 && z !== 8 && z !== 16) return (masks[a] = 0); // every root is C, N, O or S
      for (let i = 0; i < ENV_LABELS.length; i++) if (ENVIRONMENT_PREDICATES[ENV_LABELS[i]!]!(view, a)) m |= 1 << i;
      masks[a] = m;
    }
    return masks[a]!;
  };
  const singles: number[] = [], doubles: number[] = [];
  for (let b = 0; b < p.numBonds; b++) {
    if (t.bondInRing[b]) continue;
    if (isSingle(p, b)) singles.push(b); else if (isDouble(p, b)) doubles.push(b);
  }
  const found: BricsBond[] = [];
  if (singles.length + doubles.length === 0) return found;
  let present = 0; // environments found at any cuttable bond: rules outside it cannot fire
  for (const b of singles) present |= maskOf(p.bondBegin[b]!) | maskOf(p.bondEnd[b]!);
  for (const b of doubles) present |= maskOf(p.bondBegin[b]!) | maskOf(p.bondEnd[b]!);
  const done = new Uint8Array(p.numBonds);
  for (const rule of BRICS_RULES) {
    const m1 = ENV_BIT[rule.env1]!, m2 = ENV_BIT[rule.env2]!;
    if (!(present & m1) || !(present & m2)) continue;
    const matches: [number, number, number][] = []; // [a, b, bond], RDKit keeps the orientation found first
    for (const b of rule.bond === '-' ? singles : doubles) {
      const x = p.bondBegin[b]!, y = p.bondEnd[b]!;
      const mx = maskOf(x), my = maskOf(y);
      const xy = (mx & m1) !== 0 && (my & m2) !== 0, yx = (my & m1) !== 0 && (mx & m2) !== 0;
      if (xy && (!yx || x < y)) matches.push([x, y, b]); else if (yx) matches.push([y, x, b]);
    }
    matches.sort((u, w) => u[0] - w[0] || u[1] - w[1]);
    for (const [a, b, bond] of matches) {
      if (done[bond]) continue;
      done[bond] = 1;
      found.push({ atoms: [a, b], labels: [stripLetters(rule.env1), stripLetters(rule.env2)] });
    }
  }
  return found;
}

/** Neighbours of `a` with their bond, by ascending atom index (the order RDKit's matcher visits them). */
function neighboursAscending(t: Topology, a: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = t.adjStart[a]!; k < t.adjStart[a + 1]!; k++) out.push([t.adjAtom[k]!, t.adjBond[k]!]);
  return out.sort((x, y) => x[0] - y[0]);
}
