// What the HTTP server needs from the search layer: the subset of `OrmaSearch` (src/search) it calls.
// `OrmaSearch` satisfies it structurally; tests may pass a stub with the same shape.
export interface Grains { global: number; local?: number; mid?: number; fused?: number }
export interface MoleculeHit { rank: number; id: string; smiles: string; name?: string; score: number; grains: Grains }
export interface TextHit { rank: number; id: string; text: string; score: number; grains: Grains }
export interface Explanation {
  text: string;
  /** canonical; the motifs' atom indices refer to it */
  smiles: string;
  tokens: string[];
  motifs: number[][];
  wholeMolecule: boolean;
  /** tokens x motifs */
  plan: number[][];
  /** per token, -1 for [CLS]/[SEP]/none */
  tokenMotif: number[];
  grains: { global: number; local: number; mid: number };
  fused: number;
}
export interface SearchOptions { k?: number; rerank?: number; substructure?: string }

export interface SearchBackend {
  searchMolecules(text: string, o?: SearchOptions): Promise<MoleculeHit[]>;
  searchTexts(smiles: string, o?: { k?: number; rerank?: number }): Promise<TextHit[]>;
  explain(text: string, smiles: string): Promise<Explanation>;
  molecule(id: string): { id: string; smiles: string; name?: string } | undefined;
  readonly info: { model: string; molecules: number; texts: number; dim: number };
  close(): void;
}
