// A stand-in for OrmaSearch with the same shape: a few molecules, made-up but deterministic scores,
// real RDKit parsing (bad SMILES fail as they do in the search layer), real BRICS motifs, and an
// optional delay to play a slow rerank.
import { buildHierGraph, motifLists } from '../../src/chem/hiergraph.js';
import { canonicalSmiles } from '../../src/chem/rdkit.js';
import type { Explanation, MoleculeHit, SearchBackend, SearchOptions, TextHit } from '../../src/server/backend.js';

export class StubSearchError extends Error {
  constructor(message: string, readonly field?: string) { super(message); this.name = 'SearchError'; }
}

export const STUB_MOLECULES = [
  { id: '2244', smiles: 'CC(=O)Oc1ccccc1C(=O)O', name: 'aspirin' },
  { id: '702', smiles: 'CCO', name: 'ethanol' },
  { id: '5793', smiles: 'OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O', name: 'glucose' },
  { id: '2519', smiles: 'Cn1cnc2c1c(=O)n(C)c(=O)n2C', name: 'caffeine' },
  { id: '1983', smiles: 'CC(=O)Nc1ccc(O)cc1', name: 'paracetamol' },
];
export const STUB_TEXTS = [
  { id: 't1', text: 'The molecule is an aromatic ester and a carboxylic acid used as a painkiller.' },
  { id: 't2', text: 'The molecule is a primary alcohol.' },
];

export class StubSearch implements SearchBackend {
  calls = 0;
  closed = false;
  /** delayMs: an asynchronous wait; blockMs: a synchronous one (the event loop stalls, as in a libtorch call) */
  constructor(readonly delayMs = 0, readonly blockMs = 0) {}
  readonly info = { model: 'stub', molecules: STUB_MOLECULES.length, texts: STUB_TEXTS.length, dim: 8 };

  private async wait(): Promise<void> {
    this.calls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.blockMs) { const end = performance.now() + this.blockMs; while (performance.now() < end); }
  }

  async searchMolecules(text: string, o: SearchOptions = {}): Promise<MoleculeHit[]> {
    await this.wait();
    if (!text.trim()) throw new StubSearchError('text is empty', 'text');
    let pool = STUB_MOLECULES;
    if (o.substructure !== undefined) {
      try { canonicalSmiles(o.substructure); } catch (err) { throw new StubSearchError(`substructure: ${(err as Error).message}`, 'substructure'); }
      pool = pool.filter((m) => m.smiles.includes('c1'));
    }
    return pool.slice(0, o.k ?? 10).map((m, i) => ({ rank: i + 1, ...m, score: 0.9 - 0.1 * i, grains: { global: 0.8 - 0.1 * i, ...(o.rerank ? { fused: 0.9 - 0.1 * i } : {}) } }));
  }

  async searchTexts(smiles: string, o: { k?: number; rerank?: number } = {}): Promise<TextHit[]> {
    await this.wait();
    canonicalSmiles(smiles); // SmilesError for a bad one
    return STUB_TEXTS.slice(0, o.k ?? 10).map((t, i) => ({ rank: i + 1, ...t, score: 0.7 - 0.2 * i, grains: { global: 0.7 - 0.2 * i } }));
  }

  async explain(text: string, smiles: string): Promise<Explanation> {
    await this.wait();
    const canonical = canonicalSmiles(smiles);
    const motifs = motifLists(buildHierGraph(canonical));
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    const tokens = ['[CLS]', ...words, '[SEP]'];
    const tokenMotif = tokens.map((t, i) => (t.startsWith('[') ? -1 : (i - 1) % motifs.length));
    const plan = tokens.map((_, i) => motifs.map((__, k) => (tokenMotif[i] === k ? 0.8 : 0.2 / Math.max(1, motifs.length - 1)) / tokens.length));
    return { text, smiles: canonical, tokens, motifs, wholeMolecule: false, plan, tokenMotif, grains: { global: 0.61, local: 0.42, mid: 0.55 }, fused: 0.53 };
  }

  molecule(id: string) { return STUB_MOLECULES.find((m) => m.id === id); }
  close(): void { this.closed = true; }
}
