// Depictions for the API and the page: RDKit SVGs with motifs in the shared palette, each highlight
// element tagged with data-motif="k" so the page can emphasise one motif (token <-> motif hover).
import { MOTIF_PALETTE, depictSvg, type Highlight } from '../chem/depict.js';

/** CSS colours of MOTIF_PALETTE, written as RDKit writes them into its SVGs (each channel floor(v * 255)). */
export const PALETTE_HEX: readonly string[] = MOTIF_PALETTE.map((c) => '#' + c.map((v) => Math.floor(v * 255).toString(16).padStart(2, '0').toUpperCase()).join(''));

export interface MotifSvgOptions { width?: number; height?: number }

/** The molecule with motif k drawn in PALETTE_HEX[k % n], highlight elements tagged data-motif. */
export function motifSvg(smiles: string, motifs: readonly (readonly number[])[], o: MotifSvgOptions = {}): string {
  const highlights: Highlight[] = motifs.map((atoms, k) => ({ atoms, color: MOTIF_PALETTE[k % MOTIF_PALETTE.length]! }));
  return tagMotifs(clean(depictSvg(smiles, { width: o.width, height: o.height, highlights })), motifs);
}

/** The molecule with the given atoms highlighted in the first palette colour. */
export function atomsSvg(smiles: string, atoms: readonly number[], o: MotifSvgOptions = {}): string {
  return clean(depictSvg(smiles, { width: o.width, height: o.height, highlights: atoms.length ? [{ atoms, color: MOTIF_PALETTE[0]! }] : [] }));
}

/**
 * Adds data-motif="k" to every highlight element (RDKit writes class='atom-i ...' or
 * class='bond-j atom-a atom-b' and style='fill:#RRGGBB...'): k is the motif of that colour
 * holding all the element's atoms.
 */
export function tagMotifs(svg: string, motifs: readonly (readonly number[])[]): string {
  const sets = motifs.map((m) => new Set(m));
  return svg.replace(/<(path|ellipse)\s([^>]*?)class='([^']*)'([^>]*?)style='fill:(#[0-9A-Fa-f]{6})/g, (whole, tag: string, pre: string, cls: string, mid: string, fill: string) => {
    const colour = PALETTE_HEX.indexOf(fill.toUpperCase());
    if (colour < 0) return whole;
    const atoms = [...cls.matchAll(/\batom-(\d+)\b/g)].map((m) => Number(m[1]));
    if (!atoms.length) return whole;
    for (let k = colour; k < sets.length; k += PALETTE_HEX.length) {
      if (atoms.every((a) => sets[k]!.has(a))) return `<${tag} data-motif='${k}' ${pre}class='${cls}'${mid}style='fill:${fill}`;
    }
    return whole;
  });
}

/** Drops the XML prolog (the SVG goes inline into HTML) and anything script-like (RDKit writes none). */
function clean(svg: string): string {
  return svg.replace(/^<\?xml[^>]*\?>\s*/, '').replace(/<script[\s\S]*?<\/script>/gi, '').replace(/\son\w+\s*=\s*(['"]).*?\1/gi, '');
}
