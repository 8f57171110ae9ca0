// Per-atom Morgan identifiers of radius 0 and 1, the substructure tokens of Mol2vec (and so of the
// atom features of Text2Mol and the official ORMA code, orma-reference.md §3.1): the values Python
// RDKit 2022.09's `AllChem.GetMorganFingerprint(mol, 1, bitInfo=info)` reports per atom (ECFP
// connectivity invariants, no chirality, bond types on, unsigned 32-bit).
//
// Why hand-written: RDKit MinimalLib (the npm package) gives fingerprints only as folded bit strings,
// never the unfolded per-atom identifiers, so RDKit's hashing is re-implemented here from the atom
// and bond properties of our one parse (rdkit.ts, topology.ts):
//   radius 0: hash of [atomic number, total degree, total Hs, formal charge, deltaMass, (1 if in a ring)]
//             (RDKit getConnectivityInvariants; the Hs count hydrogens kept as atoms too, as RDKit's
//             getTotalNumHs(true) does, checked on [2H] molecules; deltaMass in isotopes.ts);
//   radius 1: hash_combine(0, radius-0 id), then each (bond type, neighbour's radius-0 id) pair in
//             sorted order (RDKit calcFingerprint, layer 0).
// Hashes are RDKit's portable 32-bit copy of boost::hash (RDGeneral/hash): hash_combine(seed, v) is
// seed ^= v + 0x9e3779b9 + (seed << 6) + (seed >> 2), a vector hashes as hash_combine over its items
// from 0, a pair as hash_combine of its two members from 0. test/chem/morgan.test.ts checks every
// identifier against Python RDKit (test/reference/morgan_golden.py).
//
// RDKit reports a radius-1 environment only for atoms with bonds, and only once per environment
// (the set of bonds it covers): of two atoms with the same bond set (only the two atoms of a
// one-bond fragment, e.g. cyanide or O2) the one with the smaller (identifier, atom index) is
// reported. An atom RDKit reports no radius-1 environment for takes its radius-0 identifier as its
// radius-1 token (`radius1`); `radius1Reported` says which atoms had one of their own.
import type { ParsedMolecule } from './rdkit.js';
import type { Topology } from './topology.js';
import { deltaMass } from './isotopes.js';

export interface MorganIdentifiers {
  /** Radius-0 identifier of every atom (unsigned 32-bit). */
  radius0: Uint32Array;
  /** Radius-1 identifier, or the atom's radius-0 identifier where RDKit reports none. */
  radius1: Uint32Array;
  /** 1 where RDKit reports a radius-1 environment for the atom. */
  radius1Reported: Uint8Array;
}

const GOLDEN = 0x9e3779b9;

/** gboost::hash_combine on 32-bit unsigned values. */
export function hashCombine(seed: number, value: number): number {
  return (seed ^ (value + GOLDEN + ((seed << 6) >>> 0) + (seed >>> 2))) >>> 0;
}

function hashVector(values: readonly number[]): number {
  let seed = 0;
  for (const v of values) seed = hashCombine(seed, v >>> 0);
  return seed;
}

/** RDKit getConnectivityInvariants (with ring membership): the radius-0 identifiers. */
export function connectivityInvariants(p: ParsedMolecule, t: Topology): Uint32Array {
  const out = new Uint32Array(p.numAtoms);
  for (let i = 0; i < p.numAtoms; i++) {
    const hs = p.totalHs[i]!;
    const components = [p.atomicNum[i]!, t.degree[i]! + hs, hs + hydrogenNeighbours(p, t, i), p.formalCharge[i]!, deltaMass(p.atomicNum[i]!, p.isotope[i]!)];
    if (t.atomInRing[i]) components.push(1);
    out[i] = hashVector(components);
  }
  return out;
}

/** Hydrogen atoms bonded to `atom` (kept as atoms, e.g. [2H]): RDKit's getTotalNumHs(true) counts them. */
function hydrogenNeighbours(p: ParsedMolecule, t: Topology, atom: number): number {
  let n = 0;
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) if (p.atomicNum[t.adjAtom[k]!] === 1) n++;
  return n;
}

/** The first Morgan round for one atom: its invariant, then its sorted (bond type, neighbour invariant) pairs. */
function radiusOneHash(p: ParsedMolecule, t: Topology, r0: Uint32Array, atom: number): number {
  const neighbours: [number, number][] = [];
  for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) neighbours.push([p.bondType[t.adjBond[k]!]!, r0[t.adjAtom[k]!]!]);
  neighbours.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let invar = hashCombine(0, r0[atom]!); // the seed is the layer number, 0
  for (const [bondType, id] of neighbours) invar = hashCombine(invar, hashCombine(hashCombine(0, bondType), id));
  return invar;
}

export function morganIdentifiers(p: ParsedMolecule, t: Topology): MorganIdentifiers {
  const radius0 = connectivityInvariants(p, t);
  const radius1 = Uint32Array.from(radius0), radius1Reported = new Uint8Array(p.numAtoms);
  // environment (the atom's bonds) -> the atom reported for it
  const owner = new Map<string, number>();
  const computed = new Uint32Array(p.numAtoms);
  for (let atom = 0; atom < p.numAtoms; atom++) {
    if (t.degree[atom] === 0) continue;
    computed[atom] = radiusOneHash(p, t, radius0, atom);
    const key = Array.from(t.adjBond.subarray(t.adjStart[atom]!, t.adjStart[atom + 1]!)).sort((a, b) => a - b).join(',');
    const other = owner.get(key);
    if (other === undefined || computed[atom]! < computed[other]!) owner.set(key, atom); // ties keep the lower index
  }
  for (const atom of owner.values()) { radius1[atom] = computed[atom]!; radius1Reported[atom] = 1; }
  return { radius0, radius1, radius1Reported };
}
