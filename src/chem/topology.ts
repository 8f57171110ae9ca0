// Graph facts derived from one ParsedMolecule: adjacency, degrees, ring membership, and RDKit's
// conjugation and hybridization rules (MinimalLib's JSON carries neither, so they are recomputed here
// with RDKit's published rules; test/chem/features.test.ts checks them against RDKit itself).
import { BOND_DOUBLE, BOND_OTHER, BOND_TRIPLE, BOND_ZERO, CHIRAL_CCW, CHIRAL_CW, type ParsedMolecule } from './rdkit.js';
import { DEFAULT_VALENCE, OUTER_ELECTRONS } from './periodic.js';

/** Hybridization codes (RDKit HybridizationType names). */
export const HYB_UNSPECIFIED = 0, HYB_S = 1, HYB_SP = 2, HYB_SP2 = 3, HYB_SP3 = 4, HYB_SP3D = 5, HYB_SP3D2 = 6;

export interface Topology {
  /** CSR adjacency: the bonds of atom i are adjBond[adjStart[i] .. adjStart[i+1]), in bond-index order. */
  adjStart: Int32Array;
  adjBond: Int32Array;
  adjAtom: Int32Array;
  degree: Uint8Array;
  atomInRing: Uint8Array;
  bondInRing: Uint8Array;
  conjugated: Uint8Array;
  hybridization: Uint8Array;
}

export function buildTopology(p: ParsedMolecule): Topology {
  const n = p.numAtoms, nb = p.numBonds;
  const degree = new Uint8Array(n);
  const adjStart = new Int32Array(n + 1);
  for (let b = 0; b < nb; b++) { adjStart[p.bondBegin[b]! + 1]++; adjStart[p.bondEnd[b]! + 1]++; }
  for (let i = 0; i < n; i++) { adjStart[i + 1] += adjStart[i]!; degree[i] = adjStart[i + 1]! - adjStart[i]!; }
  const fill = adjStart.slice(0, n);
  const adjBond = new Int32Array(2 * nb), adjAtom = new Int32Array(2 * nb);
  for (let b = 0; b < nb; b++) {
    const a = p.bondBegin[b]!, c = p.bondEnd[b]!;
    adjBond[fill[a]!] = b; adjAtom[fill[a]!++] = c;
    adjBond[fill[c]!] = b; adjAtom[fill[c]!++] = a;
  }
  const t: Topology = {
    adjStart, adjBond, adjAtom, degree,
    atomInRing: new Uint8Array(n), bondInRing: new Uint8Array(nb),
    conjugated: new Uint8Array(nb), hybridization: new Uint8Array(n),
  };
  markRings(p, t);
  setConjugation(p, t);
  setHybridization(p, t);
  return t;
}

/** The bond joining atoms a and b, or -1. */
export function bondBetween(t: Topology, a: number, b: number): number {
  for (let k = t.adjStart[a]!; k < t.adjStart[a + 1]!; k++) if (t.adjAtom[k] === b) return t.adjBond[k]!;
  return -1;
}

// Ring bonds are the consecutive pairs of the SSSR rings: every bond on a cycle lies on a basis cycle.
function markRings(p: ParsedMolecule, t: Topology): void {
  for (const ring of p.rings) {
    for (let k = 0; k < ring.length; k++) {
      const a = ring[k]!, b = ring[(k + 1) % ring.length]!;
      t.atomInRing[a] = 1;
      const bond = bondBetween(t, a, b);
      if (bond >= 0) t.bondInRing[bond] = 1;
    }
  }
}

/** RDKit Bond::getValenceContrib(atom): aromatic 1.5, dative counts only for its end atom. */
function valenceContrib(p: ParsedMolecule, bond: number, atom: number): number {
  if (p.aromaticBond[bond]) return 1.5;
  const order = p.bondOrder[bond]!;
  if (order === BOND_OTHER) return atom === p.bondEnd[bond] ? 1 : 0;
  return order;
}

function kekuleValence(p: ParsedMolecule, t: Topology, atom: number): number {
  let v = 0;
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) {
    const b = t.adjBond[k]!, order = p.bondOrder[b]!;
    v += order === BOND_OTHER ? (atom === p.bondEnd[b] ? 1 : 0) : order;
  }
  return v;
}

/** RDKit MolOps::countAtomElec: electrons an atom can donate to a pi system (-1: none possible). */
function countAtomElec(p: ParsedMolecule, t: Topology, atom: number): number {
  const z = p.atomicNum[atom]!;
  const dv = DEFAULT_VALENCE[z] ?? -1;
  if (dv <= 1) return -1;
  let degree = t.degree[atom]! + p.totalHs[atom]!;
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) {
    if (Math.round(valenceContrib(p, t.adjBond[k]!, atom)) === 0) degree--;
  }
  if (degree > 3) return -1;
  const nlp = Math.max((OUTER_ELECTRONS[z] ?? 0) - dv - p.formalCharge[atom]!, 0);
  let res = dv - degree + nlp - p.radicals[atom]!;
  if (res > 1 && kekuleValence(p, t, atom) - t.degree[atom]! > 1) res = 1;
  return res;
}

function isConjugationCandidate(p: ParsedMolecule, t: Topology, atom: number): boolean {
  const z = p.atomicNum[atom]!, nouter = OUTER_ELECTRONS[z] ?? 0;
  const totalDegree = t.degree[atom]! + p.totalHs[atom]!;
  const rowOk = z <= 10 || (nouter !== 5 && nouter !== 6) || (nouter === 6 && totalDegree < 2);
  return rowOk && countAtomElec(p, t, atom) > 0;
}

/** RDKit MolOps::setConjugation: aromatic bonds, plus bond pairs around a multiple bond between candidates. */
function setConjugation(p: ParsedMolecule, t: Topology): void {
  t.conjugated.set(p.aromaticBond);
  const n = p.numAtoms;
  const cand = new Int8Array(n).fill(-1); // memo: -1 unknown, 0 no, 1 yes
  const isCand = (a: number) => (cand[a] === -1 ? (cand[a] = isConjugationCandidate(p, t, a) ? 1 : 0) : cand[a]) === 1;
  for (let atom = 0; atom < n; atom++) {
    const sbo = t.degree[atom]! + p.totalHs[atom]!;
    if (sbo < 2 || sbo > 3 || !isCand(atom)) continue;
    for (let k1 = t.adjStart[atom]!; k1 < t.adjStart[atom + 1]!; k1++) {
      const b1 = t.adjBond[k1]!;
      if (valenceContrib(p, b1, atom) < 1.5) continue;
      for (let k2 = t.adjStart[atom]!; k2 < t.adjStart[atom + 1]!; k2++) {
        if (k2 === k1) continue;
        const other = t.adjAtom[k2]!;
        if (t.degree[other]! + p.totalHs[other]! > 3) continue;
        if (isCand(other)) { t.conjugated[b1] = 1; t.conjugated[t.adjBond[k2]!] = 1; }
      }
    }
  }
}

/** RDKit's numBondsPlusLonePairs: sigma bonds + lone pairs (+ radicals below an octet). */
function orbitalCount(p: ParsedMolecule, t: Topology, atom: number): number {
  let deg = t.degree[atom]! + p.totalHs[atom]!;
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) {
    const b = t.adjBond[k]!;
    if (p.bondOrder[b] === BOND_ZERO || (p.bondOrder[b] === BOND_OTHER && atom !== p.bondEnd[b])) deg--;
  }
  const z = p.atomicNum[atom]!;
  if (z <= 1) return deg;
  const nouter = OUTER_ELECTRONS[z] ?? 0;
  const totalValence = kekuleValence(p, t, atom) + p.totalHs[atom]!;
  const chg = p.formalCharge[atom]!;
  const free = nouter - (totalValence + chg);
  if (totalValence + nouter - chg < 8) {
    const rad = p.radicals[atom]!;
    return deg + Math.trunc((free - rad) / 2) + rad;
  }
  return deg + Math.trunc(free / 2);
}

function hasConjugatedBond(t: Topology, atom: number): boolean {
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) if (t.conjugated[t.adjBond[k]!]) return true;
  return false;
}

/** RDKit MolOps::setHybridization. */
function setHybridization(p: ParsedMolecule, t: Topology): void {
  for (let atom = 0; atom < p.numAtoms; atom++) {
    const z = p.atomicNum[atom]!;
    const totalDegree = t.degree[atom]! + p.totalHs[atom]!;
    let h = HYB_UNSPECIFIED;
    if (z === 0) h = HYB_UNSPECIFIED;
    else if ((p.chiralTag[atom] === CHIRAL_CW || p.chiralTag[atom] === CHIRAL_CCW) && totalDegree === 4) h = HYB_SP3;
    else {
      const norbs = z < 89 ? orbitalCount(p, t, atom) : totalDegree;
      if (norbs === 0 || norbs === 1) h = HYB_S;
      else if (norbs === 2) h = HYB_SP;
      else if (norbs === 3) h = HYB_SP2;
      else if (norbs === 4) h = totalDegree > 3 || !hasConjugatedBond(t, atom) ? HYB_SP3 : HYB_SP2;
      else if (norbs === 5) h = HYB_SP3D;
      else if (norbs === 6) h = HYB_SP3D2;
    }
    t.hybridization[atom] = h;
  }
}

/** True when the bond is a plain single bond (not aromatic): SMARTS '-'. */
export function isSingle(p: ParsedMolecule, bond: number): boolean {
  return p.bondOrder[bond] === 1 && !p.aromaticBond[bond];
}
/** True when the bond is a double bond (not aromatic): SMARTS '='. */
export function isDouble(p: ParsedMolecule, bond: number): boolean {
  return p.bondOrder[bond] === BOND_DOUBLE && !p.aromaticBond[bond];
}
export function isTriple(p: ParsedMolecule, bond: number): boolean {
  return p.bondOrder[bond] === BOND_TRIPLE && !p.aromaticBond[bond];
}
