// What the HTTP server needs from the search layer: the subset of `OrmaSearch` (src/search) it calls,
// with the search layer's own result types.
// `OrmaSearch` satisfies it structurally; tests may pass a stub with the same shape.
import type { Explanation as SearchExplanation, Grains, MoleculeHit, SearchOptions, TextHit } from '../search/index.js';

export type { Grains, MoleculeHit, SearchOptions, TextHit };
/** The part of the search layer's explanation the server returns (stubs need not fill the rest). */
export type Explanation = Pick<SearchExplanation, 'text' | 'smiles' | 'tokens' | 'motifs' | 'wholeMolecule' | 'plan' | 'tokenMotif' | 'grains' | 'fused'>;

export interface SearchBackend {
  searchMolecules(text: string, o?: SearchOptions): Promise<MoleculeHit[]>;
  searchTexts(smiles: string, o?: { k?: number; rerank?: number }): Promise<TextHit[]>;
  explain(text: string, smiles: string): Promise<Explanation>;
  molecule(id: string): { id: string; smiles: string; name?: string } | undefined;
  readonly info: { model: string; molecules: number; texts: number; dim: number };
  close(): void;
}
