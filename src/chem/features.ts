// Categorical atom and bond features with documented vocabularies. Each feature is stored as the
// index of its value in the vocabulary; a value outside it maps to the extra "other" index
// (= values.length) so unusual chemistry (rare elements, big charges) never fails featurization.
import { STEREO_ANY, STEREO_CIS, STEREO_NONE, STEREO_TRANS, CHIRAL_CW, CHIRAL_CCW, CHIRAL_NONE, BOND_DOUBLE, BOND_SINGLE, BOND_TRIPLE, type ParsedMolecule } from './rdkit.js';
import type { Topology } from './topology.js';

export interface Vocabulary {
  name: string;
  values: readonly (string | number | boolean)[];
  /** Whether index values.length means "other". Booleans have no other bucket. */
  other: boolean;
}

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/** Atom features, in column order. */
export const ATOM_VOCABULARIES: readonly Vocabulary[] = [
  { name: 'atomic_num', values: range(1, 118), other: true }, // 0 (dummy atom *) -> other
  { name: 'chirality', values: ['CHI_UNSPECIFIED', 'CHI_TETRAHEDRAL_CW', 'CHI_TETRAHEDRAL_CCW'], other: true },
  { name: 'degree', values: range(0, 10), other: true }, // heavy-atom graph degree
  { name: 'formal_charge', values: range(-5, 5), other: true },
  { name: 'total_hs', values: range(0, 8), other: true },
  { name: 'radical_electrons', values: range(0, 4), other: true },
  { name: 'hybridization', values: ['S', 'SP', 'SP2', 'SP3', 'SP3D', 'SP3D2'], other: true }, // unspecified -> other
  { name: 'aromatic', values: [false, true], other: false },
  { name: 'in_ring', values: [false, true], other: false },
];

/** Bond features, in column order (the same row serves both directions of an atom-atom edge). */
export const BOND_VOCABULARIES: readonly Vocabulary[] = [
  { name: 'bond_type', values: ['SINGLE', 'DOUBLE', 'TRIPLE', 'AROMATIC'], other: true }, // zero-order, dative -> other
  // E/Z from CIP ranks as RDKit reports them for SMILES input; CIS/TRANS when ranks cannot decide.
  { name: 'stereo', values: ['STEREONONE', 'STEREOZ', 'STEREOE', 'STEREOCIS', 'STEREOTRANS', 'STEREOANY'], other: true },
  { name: 'conjugated', values: [false, true], other: false },
  { name: 'in_ring', values: [false, true], other: false },
];

export const ATOM_FEATURE_COUNT = ATOM_VOCABULARIES.length;
export const BOND_FEATURE_COUNT = BOND_VOCABULARIES.length;

/** Number of distinct indices of each feature (values plus the other bucket): embedding table sizes. */
export const atomFeatureDims = (): number[] => ATOM_VOCABULARIES.map((v) => v.values.length + (v.other ? 1 : 0));
export const bondFeatureDims = (): number[] => BOND_VOCABULARIES.map((v) => v.values.length + (v.other ? 1 : 0));

const clampIndex = (value: number, lo: number, hi: number) => (value >= lo && value <= hi ? value - lo : hi - lo + 1);

/** Atom feature matrix, row-major [numAtoms x ATOM_FEATURE_COUNT]. */
export function atomFeatures(p: ParsedMolecule, t: Topology): Uint8Array {
  const out = new Uint8Array(p.numAtoms * ATOM_FEATURE_COUNT);
  for (let i = 0; i < p.numAtoms; i++) {
    const o = i * ATOM_FEATURE_COUNT;
    out[o] = clampIndex(p.atomicNum[i]!, 1, 118);
    const chiral = p.chiralTag[i]!;
    out[o + 1] = chiral === CHIRAL_NONE ? 0 : chiral === CHIRAL_CW ? 1 : chiral === CHIRAL_CCW ? 2 : 3;
    out[o + 2] = clampIndex(t.degree[i]!, 0, 10);
    out[o + 3] = clampIndex(p.formalCharge[i]!, -5, 5);
    out[o + 4] = clampIndex(p.totalHs[i]!, 0, 8);
    out[o + 5] = clampIndex(p.radicals[i]!, 0, 4);
    const h = t.hybridization[i]!; // HYB_S=1..HYB_SP3D2=6, 0 unspecified
    out[o + 6] = h === 0 ? 6 : h - 1;
    out[o + 7] = p.aromaticAtom[i]!;
    out[o + 8] = t.atomInRing[i]!;
  }
  return out;
}

/** Bond feature matrix, row-major [numBonds x BOND_FEATURE_COUNT], rows in RDKit bond order. */
export function bondFeatures(p: ParsedMolecule, t: Topology): Uint8Array {
  const out = new Uint8Array(p.numBonds * BOND_FEATURE_COUNT);
  for (let b = 0; b < p.numBonds; b++) {
    const o = b * BOND_FEATURE_COUNT;
    const order = p.bondOrder[b]!;
    out[o] = p.aromaticBond[b] ? 3 : order === BOND_SINGLE ? 0 : order === BOND_DOUBLE ? 1 : order === BOND_TRIPLE ? 2 : 4;
    out[o + 1] = stereoIndex(p, t, b);
    out[o + 2] = t.conjugated[b]!;
    out[o + 3] = t.bondInRing[b]!;
  }
  return out;
}

/** Index into BOND_VOCABULARIES.stereo. */
function stereoIndex(p: ParsedMolecule, t: Topology, b: number): number {
  const s = p.bondStereo[b]!;
  if (s === STEREO_NONE) return 0;
  if (s === STEREO_ANY) return 5;
  if (s !== STEREO_CIS && s !== STEREO_TRANS) return 6;
  const ez = cisTransToEZ(p, t, b);
  if (ez === 'Z') return 1;
  if (ez === 'E') return 2;
  return s === STEREO_CIS ? 3 : 4;
}

/**
 * RDKit writes cis/trans relative to two reference atoms; E/Z is the same relation between the
 * highest-CIP-rank neighbour on each side. Each side whose reference atom is not its top-ranked
 * neighbour flips the relation. Returns null when the ranks are missing or tied.
 */
function cisTransToEZ(p: ParsedMolecule, t: Topology, b: number): 'E' | 'Z' | null {
  const ranks = p.cipRanks;
  if (!ranks) return null;
  let cis = p.bondStereo[b] === STEREO_CIS;
  const ends = [p.bondBegin[b]!, p.bondEnd[b]!];
  for (let side = 0; side < 2; side++) {
    const atom = ends[side]!, partner = ends[1 - side]!, ref = p.bondStereoAtoms[2 * b + side]!;
    let best = -1, bestRank = -1, tie = false;
    for (let k = t.adjStart[atom]!; k < t.adjStart[atom + 1]!; k++) {
      const nb = t.adjAtom[k]!;
      if (nb === partner) continue;
      const r = ranks[nb]!;
      if (r > bestRank) { best = nb; bestRank = r; tie = false; } else if (r === bestRank) tie = true;
    }
    if (best < 0 || tie || ref < 0) return null;
    if (best !== ref) cis = !cis;
  }
  return cis ? 'Z' : 'E';
}

/** Decodes one atom's feature row into readable values (for JSON output and debugging). */
export function describeFeatures(row: ArrayLike<number>, vocabs: readonly Vocabulary[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  vocabs.forEach((v, k) => { const idx = row[k]!; out[v.name] = idx < v.values.length ? v.values[idx]! : 'other'; });
  return out;
}
