// SVG depictions through RDKit's own drawer, with atoms/bonds highlighted in given colours
// (one colour per motif). Atoms shared by several highlights (fused rings) show all their colours.
import { withMol, parseMolecule } from './rdkit.js';

export type RGB = [number, number, number];

export interface Highlight {
  atoms: readonly number[];
  /** Bond indices to colour; by default every bond whose two atoms are both in `atoms`. */
  bonds?: readonly number[];
  color: RGB;
}

export interface DepictOptions {
  width?: number;
  height?: number;
  highlights?: readonly Highlight[];
  legend?: string;
}

/** A colour-blind-friendly palette (Okabe-Ito plus extras), cycled for many motifs. */
export const MOTIF_PALETTE: readonly RGB[] = [
  [0.90, 0.62, 0.0], [0.34, 0.71, 0.91], [0.0, 0.62, 0.45], [0.94, 0.89, 0.26], [0.0, 0.45, 0.70],
  [0.84, 0.37, 0.0], [0.80, 0.47, 0.65], [0.6, 0.6, 0.6], [0.55, 0.8, 0.4], [0.7, 0.5, 0.9],
];

/** SVG of `smiles` with the given highlights. Throws SmilesError for unparsable input. */
export function depictSvg(smiles: string, options: DepictOptions = {}): string {
  const { width = 400, height = 300, highlights = [], legend } = options;
  const p = parseMolecule(smiles);
  const atomColors = new Map<number, RGB[]>();
  const bondColors = new Map<number, RGB[]>();
  for (const h of highlights) {
    for (const a of h.atoms) {
      if (a < 0 || a >= p.numAtoms) throw new RangeError(`highlight atom ${a} is not an atom of '${smiles}' (${p.numAtoms} atoms)`);
      push(atomColors, a, h.color);
    }
    const inside = new Set(h.atoms);
    const bonds = h.bonds ?? [...Array(p.numBonds).keys()].filter((b) => inside.has(p.bondBegin[b]!) && inside.has(p.bondEnd[b]!));
    for (const b of bonds) push(bondColors, b, h.color);
  }
  const details: Record<string, unknown> = { width, height, atoms: [...atomColors.keys()], bonds: [...bondColors.keys()] };
  // RDKit draws either plain highlights or, once any atom/bond has several colours, only the
  // multi-colour maps; so with any overlap every highlight goes through the multi-colour maps.
  const overlap = [...atomColors.values(), ...bondColors.values()].some((c) => c.length > 1);
  if (overlap) {
    details.highlightAtomMultipleColors = Object.fromEntries(atomColors);
    details.highlightBondMultipleColors = Object.fromEntries(bondColors);
  } else {
    details.highlightAtomColors = Object.fromEntries([...atomColors].map(([k, c]) => [k, c[0]]));
    details.highlightBondColors = Object.fromEntries([...bondColors].map(([k, c]) => [k, c[0]]));
  }
  if (legend) details.legend = legend;
  return withMol(smiles, (mol) => mol.get_svg_with_highlights(JSON.stringify(details)));
}

/** SVG with one palette colour per motif (motif k gets MOTIF_PALETTE[k mod palette size]). */
export function depictMotifs(smiles: string, motifs: readonly (readonly number[])[], options: Omit<DepictOptions, 'highlights'> = {}): string {
  const highlights = motifs.map((atoms, k) => ({ atoms, color: MOTIF_PALETTE[k % MOTIF_PALETTE.length]! }));
  return depictSvg(smiles, { ...options, highlights });
}

function push(m: Map<number, RGB[]>, key: number, color: RGB): void {
  const list = m.get(key);
  if (list) { if (!list.some((c) => c.every((v, i) => v === color[i]))) list.push(color); } else m.set(key, [color]);
}
