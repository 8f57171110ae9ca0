// RDKit MinimalLib (WASM) for the whole process: one lazy initialisation, parsing with sanitization,
// and the molecule read once from `get_json` into plain arrays. Every later step (features, BRICS,
// motifs, depiction) works from this one parse, so atom indices always agree.
import { createRequire } from 'node:module';
import type { MainModule, Mol } from '@rdkit/rdkit';

export type RDKitModule = MainModule;

/** A SMILES that cannot become a molecule graph. `smiles` is the input exactly as given. */
export class SmilesError extends Error {
  constructor(readonly smiles: string, readonly reason: string) {
    super(`cannot parse SMILES '${smiles.length > 200 ? smiles.slice(0, 200) + '...' : smiles}': ${reason}`);
    this.name = 'SmilesError';
  }
}

let modulePromise: Promise<RDKitModule> | null = null;
let rdkitModule: RDKitModule | null = null;
let errorLog: { get_buffer(): string; clear_buffer(): void } | null = null;

/** Loads the WASM module once per process; later calls return the same module. */
export function initRDKit(): Promise<RDKitModule> {
  if (!modulePromise) {
    modulePromise = (async () => {
      // The package is an emscripten UMD file; require() gives its factory under Node ESM.
      const require = createRequire(import.meta.url);
      const factory = require('@rdkit/rdkit') as (opts?: unknown) => Promise<RDKitModule>;
      const mod = await factory();
      // Silence RDKit's stderr chatter (warnings) but capture its errors, so a failed parse can
      // say why (valence, kekulization, syntax).
      mod.disable_logging();
      errorLog = mod.set_log_capture('rdApp.error');
      rdkitModule = mod;
      return mod;
    })();
  }
  return modulePromise;
}

/** The loaded module; throws if `initRDKit()` has not finished (all sync chemistry needs it). */
export function rdkit(): RDKitModule {
  if (!rdkitModule) throw new Error('RDKit is not initialised: await initRDKit() first');
  return rdkitModule;
}

export function rdkitVersion(): string {
  return rdkit().version();
}

/** Bond orders as stored in ParsedMolecule.bondOrder (the Kekulé order from get_json). */
export const BOND_ZERO = 0, BOND_SINGLE = 1, BOND_DOUBLE = 2, BOND_TRIPLE = 3, BOND_OTHER = 4;
/** RDKit's Bond::AROMATIC bond type number. */
export const BONDTYPE_AROMATIC = 12;
/** Atom chirality tags (RDKit ChiralType subset). */
export const CHIRAL_NONE = 0, CHIRAL_CW = 1, CHIRAL_CCW = 2, CHIRAL_OTHER = 3;
/** Bond stereo as read from get_json (before E/Z is derived). */
export const STEREO_NONE = 0, STEREO_ANY = 1, STEREO_CIS = 2, STEREO_TRANS = 3, STEREO_OTHER = 4;

/**
 * The molecule as RDKit sanitized it, in plain arrays. Hydrogens are implicit (counted in totalHs)
 * unless RDKit keeps them as atoms (isotopes, H2). Bond orders are Kekulé orders; aromaticity is
 * separate (aromaticAtom / aromaticBond), as in RDKit's JSON.
 */
export interface ParsedMolecule {
  smiles: string;
  /** False only for the opt-in hypervalent fallback (see openHypervalentMol). */
  sanitized: boolean;
  numAtoms: number;
  numBonds: number;
  atomicNum: Uint8Array;
  formalCharge: Int8Array;
  totalHs: Uint8Array;
  radicals: Uint8Array;
  isotope: Uint16Array;
  chiralTag: Uint8Array;
  aromaticAtom: Uint8Array;
  bondBegin: Int32Array;
  bondEnd: Int32Array;
  /** BOND_* codes: 0 zero-order, 1..3 Kekulé order, 4 dative/other. */
  bondOrder: Uint8Array;
  aromaticBond: Uint8Array;
  /**
   * RDKit's Bond::BondType number (1 single, 2 double, 3 triple, 4 quadruple, 12 aromatic, 17 dative, ...):
   * the JSON bond order, which RDKit writes as that number, or 12 for an aromatic bond. The Morgan hash needs it.
   */
  bondType: Uint8Array;
  /** STEREO_* codes, relative to bondStereoAtoms. */
  bondStereo: Uint8Array;
  /** Two atoms per bond (neighbours of begin and end) that the cis/trans label refers to; -1 if none. */
  bondStereoAtoms: Int32Array;
  /** RDKit's symmetrized SSSR, atom indices in ring order. */
  rings: number[][];
  /** CIP ranks when RDKit wrote them (needed for E/Z); null otherwise. */
  cipRanks: number[] | null;
}

interface JsonAtom { z?: number; impHs?: number; chg?: number; nRad?: number; isotope?: number; stereo?: string }
interface JsonBond { bo?: number; atoms: [number, number]; stereo?: string; stereoAtoms?: [number, number] }
interface JsonExtension { name: string; aromaticAtoms?: number[]; aromaticBonds?: number[]; atomRings?: number[][]; cipRanks?: number[] }
interface JsonDoc {
  defaults: { atom: Required<JsonAtom>; bond: { bo: number; stereo: string } };
  molecules: { atoms: JsonAtom[]; bonds?: JsonBond[]; extensions?: JsonExtension[] }[];
}

const CHIRAL_CODES: Record<string, number> = { unspecified: CHIRAL_NONE, cw: CHIRAL_CW, ccw: CHIRAL_CCW };
const STEREO_CODES: Record<string, number> = { unspecified: STEREO_NONE, either: STEREO_ANY, cis: STEREO_CIS, trans: STEREO_TRANS };

/** Parses with sanitization; the caller owns the returned Mol and must `.delete()` it. */
export function openMol(smiles: string): Mol {
  if (typeof smiles !== 'string' || smiles.trim() === '') throw new SmilesError(String(smiles), 'empty SMILES');
  if (smiles.includes('>')) throw new SmilesError(smiles, 'reaction SMILES are not molecules');
  const R = rdkit();
  errorLog?.clear_buffer();
  let mol: Mol | null = null;
  try {
    mol = R.get_mol(smiles, '{}');
  } catch (err) {
    throw new SmilesError(smiles, `RDKit failed (${err instanceof Error ? err.message : 'WASM exception'})`);
  }
  if (!mol || !mol.is_valid()) {
    mol?.delete();
    const why = errorLog?.get_buffer().split('\n').find(Boolean)?.replace(/^\[[^\]]*\]\s*/, '').trim();
    throw new SmilesError(smiles, why || 'RDKit rejected it (syntax, valence or kekulization)');
  }
  if (mol.get_num_atoms() === 0) {
    mol.delete();
    throw new SmilesError(smiles, 'no atoms');
  }
  return mol;
}

/**
 * Opt-in fallback for SMILES RDKit rejects only for valence, such as PCdes' hypervalent halogen
 * species (`FBr(F)(F)(F)F`, `O=Cl(=O)(=O)F`): parse without sanitization and accept the result only
 * when it is acyclic and has no aromatic atoms, the case where sanitization would add nothing we use
 * but implicit hydrogens (which RDKit's JSON writer still computes). Throws `cause` otherwise.
 */
export function openHypervalentMol(smiles: string, cause: SmilesError): { mol: Mol; parsed: ParsedMolecule } {
  if (!/valence/i.test(cause.reason)) throw cause;
  let mol: Mol | null = null;
  try {
    mol = rdkit().get_mol(smiles, '{"sanitize":false}');
  } catch {
    throw cause;
  }
  if (!mol || !mol.is_valid() || mol.get_num_atoms() === 0) { mol?.delete(); throw cause; }
  const parsed = readMolecule(mol, smiles);
  parsed.sanitized = false;
  if (parsed.aromaticAtom.some((x) => x) || cycleRank(parsed) > 0) { mol.delete(); throw cause; }
  return { mol, parsed };
}

/** Number of independent cycles: bonds - atoms + connected components. */
function cycleRank(p: ParsedMolecule): number {
  const parent = Int32Array.from({ length: p.numAtoms }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  let components = p.numAtoms;
  for (let b = 0; b < p.numBonds; b++) {
    const x = find(p.bondBegin[b]!), y = find(p.bondEnd[b]!);
    if (x !== y) { parent[x] = y; components--; }
  }
  return p.numBonds - p.numAtoms + components;
}

/** Reads atoms, bonds, aromaticity and rings from the molecule's JSON (one WASM call). */
export function readMolecule(mol: Mol, smiles: string): ParsedMolecule {
  const doc = JSON.parse(mol.get_json()) as JsonDoc;
  const m = doc.molecules[0]!;
  const da = doc.defaults.atom, db = doc.defaults.bond;
  const n = m.atoms.length, bonds = m.bonds ?? [];
  const nb = bonds.length;
  const p: ParsedMolecule = {
    smiles, sanitized: true, numAtoms: n, numBonds: nb,
    atomicNum: new Uint8Array(n), formalCharge: new Int8Array(n), totalHs: new Uint8Array(n),
    radicals: new Uint8Array(n), isotope: new Uint16Array(n), chiralTag: new Uint8Array(n), aromaticAtom: new Uint8Array(n),
    bondBegin: new Int32Array(nb), bondEnd: new Int32Array(nb), bondOrder: new Uint8Array(nb), aromaticBond: new Uint8Array(nb), bondType: new Uint8Array(nb),
    bondStereo: new Uint8Array(nb), bondStereoAtoms: new Int32Array(2 * nb).fill(-1), rings: [], cipRanks: null,
  };
  for (let i = 0; i < n; i++) {
    const a = m.atoms[i]!;
    p.atomicNum[i] = a.z ?? da.z;
    p.formalCharge[i] = a.chg ?? da.chg;
    p.totalHs[i] = a.impHs ?? da.impHs;
    p.radicals[i] = a.nRad ?? da.nRad;
    p.isotope[i] = a.isotope ?? da.isotope;
    p.chiralTag[i] = CHIRAL_CODES[a.stereo ?? da.stereo] ?? CHIRAL_OTHER;
  }
  for (let b = 0; b < nb; b++) {
    const bond = bonds[b]!;
    p.bondBegin[b] = bond.atoms[0];
    p.bondEnd[b] = bond.atoms[1];
    const bo = bond.bo ?? db.bo;
    p.bondOrder[b] = bo >= 0 && bo <= 3 ? bo : BOND_OTHER;
    p.bondType[b] = bo;
    p.bondStereo[b] = STEREO_CODES[bond.stereo ?? db.stereo] ?? STEREO_OTHER;
    if (bond.stereoAtoms) { p.bondStereoAtoms[2 * b] = bond.stereoAtoms[0]; p.bondStereoAtoms[2 * b + 1] = bond.stereoAtoms[1]; }
  }
  const ext = m.extensions?.find((e) => e.name === 'rdkitRepresentation');
  if (ext) {
    for (const i of ext.aromaticAtoms ?? []) p.aromaticAtom[i] = 1;
    for (const b of ext.aromaticBonds ?? []) { p.aromaticBond[b] = 1; p.bondType[b] = BONDTYPE_AROMATIC; }
    p.rings = ext.atomRings ?? [];
    p.cipRanks = ext.cipRanks ?? null;
  }
  return p;
}

/** Parses `smiles` and returns its plain-array form (the WASM molecule is freed before returning). */
export function parseMolecule(smiles: string): ParsedMolecule {
  const mol = openMol(smiles);
  try {
    return readMolecule(mol, smiles);
  } finally {
    mol.delete();
  }
}

/** Runs `fn` on a freshly parsed molecule and frees it afterwards, even when `fn` throws. */
export function withMol<T>(smiles: string, fn: (mol: Mol) => T): T {
  const mol = openMol(smiles);
  try {
    return fn(mol);
  } finally {
    mol.delete();
  }
}

/** RDKit's canonical SMILES for the input (the featurization cache key). */
export function canonicalSmiles(smiles: string): string {
  return withMol(smiles, (mol) => mol.get_smiles());
}
