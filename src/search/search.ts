// OrmaSearch: the user-facing surface over the model, the libraries and their indexes.
//   stage 1: exact top-K by one (blocked) matrix product over the stored global vectors;
//   stage 2: the model's fused three-grain score on those K candidates (default 50), re-ranked. Text
//            candidates' token vectors come from the text index's token cache when it has one
//            (token-cache.ts: positioned reads of K records), else the candidates are encoded.
// Results are plain objects, sorted best first; no tensor escapes (every call runs in tidy scopes).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { noGrad, tensor, tidy } from '../tensor/index.js';
import { initRDKit, SmilesError } from '../chem/rdkit.js';
import type { HierGraph } from '../chem/hiergraph.js';
import { GraphCache } from '../data/graph-cache.js';
import { batchGraphs } from '../data/graph-batch.js';
import { padSequences } from '../text/padding.js';
import { loadOrmaModel, type OrmaBundle } from '../model/factory.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { SearchError } from './errors.js';
import { DEFAULT_MOLECULE_LIBRARY, DEFAULT_TEXT_LIBRARY, readMoleculeLibrary, readTextLibrary, type Library, type MoleculeEntry, type TextEntry } from './library.js';
import { embedGraphs, embedTokenIds, embedTokenIdsWithRecords, isCosine, tokenize } from './embed.js';
import { modelFingerprint, openStage1, type OpenStage1Options, type Stage1Index, type StoreChoice, type StoreDtype, type TokenCacheMode } from './store.js';
import { indexShard, mergeShards, type ShardResult, type ShardSpec } from './shard.js';
import type { TokenCache } from './token-cache.js';
import type { AnnChoice, AnnSearch } from './lance.js';
import { ChemIndex } from './chem.js';
import { explainPair, type Explanation } from './explain.js';

export interface Grains { global: number; local?: number; mid?: number; fused?: number }
export interface MoleculeHit { rank: number; id: string; smiles: string; name?: string; score: number; grains: Grains }
export interface TextHit { rank: number; id: string; text: string; score: number; grains: Grains }
export interface SearchOptions {
  /** How many hits (default 10). */
  k?: number;
  /** K of stage 2: how many global-score candidates are re-ranked by the fused score; 0 = global only. Default 50. */
  rerank?: number;
  /** Keep only molecules matching this SMARTS (RDKit pattern-fingerprint screen + substructure match). */
  substructure?: string;
}
export interface LoadOptions {
  /** Model directory (default models/default). */
  model?: string;
  /** Molecule library file (default the shipped ChEBI-20 molecules). */
  molecules?: string;
  /** Text library file (default the shipped ChEBI-20 descriptions). */
  texts?: string;
  /** Where indexes and caches live (default $ORMA_INDEX_DIR, else ~/.cache/orma/index). */
  indexDir?: string;
  /** Storage type of the index vectors (default float16). */
  dtype?: StoreDtype;
  /** Progress lines while an index is built (default none). */
  progress?: NodeJS.WriteStream | null;
  /** Build (or open) each index on first use instead of in load(). Default false. */
  lazy?: boolean;
  /**
   * Stage-1 store: 'exact' (the in-memory matrix, built on first use), 'lance' (a LanceDB store, built by
   * `orma index --store lance`), or 'auto' (default): the LanceDB store when one was built for the library
   * and model, else by library size (store.ts, EXACT_MAX_ROWS).
   */
  store?: StoreChoice;
  /** Build a missing LanceDB store instead of failing (what `orma index` does). Default false. */
  buildStore?: boolean;
  /** ANN index of a LanceDB store being built (default 'auto'). */
  ann?: AnnChoice;
  /** Search-time settings of a LanceDB store's ANN index (nprobes, refineFactor, ef, flat). */
  annSearch?: AnnSearch;
  /**
   * The text index's token cache, which lets stage 2 of searchTexts read its candidates' token vectors
   * instead of encoding them (token-cache.ts; ~(1 + 2 × tokens) × dim × 2 bytes a text on disk).
   * 'auto' (default): use it when the index has one, and build it when the text index itself is being
   * built; 'build' (`orma index`): also add it to an existing index, checking a present one record by
   * record; 'off': neither (stage 2 encodes).
   */
  tokenCache?: TokenCacheMode;
  /** Rows per chunk of an index being built (default 2048; an existing index keeps its own). */
  chunkRows?: number;
}

export const DEFAULT_MODEL_DIR = join(PACKAGE_ROOT, 'models', 'default');
export const DEFAULT_K = 10, DEFAULT_RERANK = 50, MAX_K = 1000;

export function defaultIndexDir(): string {
  return process.env.ORMA_INDEX_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'orma', 'index');
}

function count(v: unknown, field: string, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_K) throw new SearchError(`${field} must be an integer from ${min} to ${MAX_K}, got ${JSON.stringify(v)}`, field);
  return v;
}

function nonEmpty(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v.trim()) throw new SearchError(`${field} is empty`, field);
  return v.trim();
}

export class OrmaSearch {
  private molIndex: Stage1Index | null = null;
  private txtIndex: Stage1Index | null = null;
  private chemIndex: ChemIndex | null = null;
  private readonly byId: Map<string, number>;
  private closed = false;
  readonly info: { model: string; molecules: number; texts: number; dim: number };

  private constructor(
    private readonly bundle: OrmaBundle,
    private readonly modelDir: string,
    private readonly fingerprint: string,
    private readonly molecules: Library<MoleculeEntry>,
    private readonly texts: Library<TextEntry>,
    private readonly indexDir: string,
    private readonly graphs: GraphCache,
    private readonly o: LoadOptions,
    private readonly vocab: string,
  ) {
    this.byId = new Map(molecules.entries.map((e, i) => [e.id, i]));
    this.info = { model: modelDir, molecules: molecules.entries.length, texts: texts.entries.length, dim: bundle.config.orma.dim };
  }

  /** The library files and the index folder in use. */
  get files(): { molecules: string; texts: string; indexDir: string } {
    return { molecules: this.molecules.file, texts: this.texts.file, indexDir: this.indexDir };
  }

  /** Loads a model directory and the libraries, and opens (building if needed) their indexes. */
  static async load(o: LoadOptions = {}): Promise<OrmaSearch> {
    const modelDir = resolve(o.model ?? DEFAULT_MODEL_DIR);
    if (!existsSync(join(modelDir, 'config.json'))) {
      if (o.model === undefined) {
        throw new SearchError(`${modelDir} is not an orma model directory (no config.json): pass a model directory: \`orma search --model DIR\` on the command line, OrmaSearch.load({ model: DIR }) in code (a training run's best/ folder works)`, 'model');
      }
      throw new SearchError(`${modelDir}: not an orma model directory (no config.json)`, 'model');
    }
    await initRDKit();
    const fingerprint = await modelFingerprint(modelDir);
    const bundle = loadOrmaModel(modelDir);
    if (bundle.config.orma.slots) {
      throw new SearchError(`${modelDir}: the model scores over the official padded slots (orma.slots, an ablation switch), which search and its explanations do not implement; evaluate it with \`orma eval\``, 'model');
    }
    try {
      const molecules = readMoleculeLibrary(o.molecules ?? DEFAULT_MOLECULE_LIBRARY);
      const texts = readTextLibrary(o.texts ?? DEFAULT_TEXT_LIBRARY);
      const indexDir = resolve(o.indexDir ?? defaultIndexDir());
      const f = bundle.config.featurizer;
      const graphs = new GraphCache(join(indexDir, 'graphs'), { noBricsFallback: f.noBricsFallback, downwardEdges: f.downwardEdges });
      const vocab = createHash('sha256').update(readFileSync(join(modelDir, 'vocab.txt'))).digest('hex');
      const s = new OrmaSearch(bundle, modelDir, fingerprint, molecules, texts, indexDir, graphs, o, vocab);
      if (!o.lazy) { await s.moleculeIndex(); await s.textIndex(); }
      return s;
    } catch (err) {
      bundle.model.dispose();
      throw err;
    }
  }

  private check(): void {
    if (this.closed) throw new Error('OrmaSearch: used after close()');
  }

  private common() {
    return {
      root: this.indexDir, model: { dir: this.modelDir, fingerprint: this.fingerprint }, featurizer: this.bundle.config.featurizer,
      dim: this.bundle.config.orma.dim, normalized: isCosine(this.bundle), dtype: this.o.dtype, progress: this.o.progress ?? null,
      store: this.o.store, build: this.o.buildStore ?? false, ann: this.o.ann, annSearch: this.o.annSearch, chunkRows: this.o.chunkRows,
    };
  }

  private stage1Options(kind: 'molecules' | 'texts'): OpenStage1Options {
    if (kind === 'molecules') {
      return {
        ...this.common(), kind: 'molecules',
        library: { file: this.molecules.file, sha256: this.molecules.sha256, ids: this.molecules.entries.map((e) => e.id) },
        embed: (start, end) => {
          const graphs: HierGraph[] = [], rows: number[] = [], invalid: { row: number; reason: string }[] = [];
          for (let row = start; row < end; row++) {
            try { graphs.push(this.graph(this.molecules.entries[row]!.smiles)); rows.push(row); } catch (err) { invalid.push({ row, reason: (err as Error).message }); }
          }
          const D = this.info.dim, out = new Float32Array((end - start) * D);
          if (graphs.length) {
            const v = embedGraphs(this.bundle, graphs);
            rows.forEach((row, i) => out.set(v.subarray(i * D, (i + 1) * D), (row - start) * D));
          }
          return { vectors: out, invalid };
        },
      };
    }
    return {
      ...this.common(), kind: 'texts',
      library: { file: this.texts.file, sha256: this.texts.sha256, ids: this.texts.entries.map((e) => e.id) },
      tokenCache: { mode: this.o.tokenCache ?? 'auto', vocab: this.vocab },
      embed: (start, end, records) => {
        const ids = tokenize(this.bundle, this.texts.entries.slice(start, end).map((e) => e.text));
        if (!records) return { vectors: embedTokenIds(this.bundle, ids), invalid: [] };
        records.begin(ids.map((x) => x.length));
        return { vectors: embedTokenIdsWithRecords(this.bundle, ids, (i, rec) => records.put(start + i, rec)), invalid: [] };
      },
    };
  }

  /**
   * Shard i of S of a sharded LanceDB build of a library (shard.ts, docs/scale.md): embeds its chunks
   * and appends them to the shared table; `mergeShards` then makes the store searchable.
   */
  async indexShard(kind: 'molecules' | 'texts', shard: ShardSpec, o: { appendRows?: number } = {}): Promise<ShardResult> {
    this.check();
    return indexShard({ ...this.stage1Options(kind), shard, appendRows: o.appendRows });
  }

  /** The merge step of a sharded build (every shard done): the row order, the ANN index, lance.json. */
  async mergeShards(kind: 'molecules' | 'texts'): Promise<Stage1Index> {
    this.check();
    await mergeShards({ ...this.stage1Options(kind), ann: this.o.ann });
    const index = await openStage1({ ...this.stage1Options(kind), store: 'lance', build: false });
    if (kind === 'molecules') { this.molIndex?.dispose(); this.molIndex = index; } else { this.txtIndex?.dispose(); this.txtIndex = index; }
    return index;
  }

  /** The molecule library's stage-1 store (the exact one built on first use when missing). */
  async moleculeIndex(): Promise<Stage1Index> {
    this.check();
    this.molIndex ??= await openStage1(this.stage1Options('molecules'));
    return this.molIndex;
  }

  /** The text library's stage-1 store (the exact one built on first use when missing), with its token cache. */
  async textIndex(): Promise<Stage1Index> {
    this.check();
    this.txtIndex ??= await openStage1(this.stage1Options('texts'));
    return this.txtIndex;
  }

  private chem(): ChemIndex {
    this.chemIndex ??= new ChemIndex(this.indexDir, this.molecules);
    return this.chemIndex;
  }

  /** The model's graph of a SMILES (canonicalised; cached). Throws SmilesError. */
  private graph(smiles: string): HierGraph {
    return this.graphs.getOrBuild(smiles).graph;
  }

  private graphOrError(smiles: string, field: string): HierGraph {
    try {
      return this.graph(smiles);
    } catch (err) {
      if (err instanceof SmilesError) throw new SearchError(`${field}: ${err.message}`, field);
      throw err;
    }
  }

  /** exp(learned scale) of the global grain (1 for official models without temperature): stage-1 logits = scale · cosine. */
  private globalScale(): number {
    return noGrad(() => tidy(() => { const s = this.bundle.model.scales().global; return typeof s === 'number' ? s : s.item(); }));
  }

  /** Molecules for a description: stage 1 by the global score, stage 2 by the fused score on the top `rerank`. */
  async searchMolecules(text: string, o: SearchOptions = {}): Promise<MoleculeHit[]> {
    this.check();
    const query = nonEmpty(text, 'text');
    const k = count(o.k, 'k', DEFAULT_K, 1), K = count(o.rerank, 'rerank', DEFAULT_RERANK, 0);
    const index = await this.moleculeIndex();
    let subset: Int32Array | undefined;
    if (o.substructure !== undefined) {
      subset = Int32Array.from(this.chem().substructure(o.substructure));
      if (subset.length === 0) return [];
    }
    const ids = tokenize(this.bundle, [query]);
    const q = embedTokenIds(this.bundle, ids);
    const top = await index.topK(q, Math.max(k, K), { subset });
    const rows = top.rows;
    const scale = this.globalScale();
    let scored = rows.map((row, i) => ({ row, score: scale * top.scores[i]!, grains: { global: scale * top.scores[i]! } as Grains }));
    if (K > 0 && rows.length) {
      const graphs = rows.map((row) => this.graph(this.molecules.entries[row]!.smiles));
      const g = this.fineScores([ids[0]!], graphs);
      scored = rows.map((row, i) => ({ row, score: g[i]!.fused!, grains: g[i]! }));
      scored.sort((a, b) => b.score - a.score || a.row - b.row);
    }
    return scored.slice(0, k).map((s, i) => {
      const e = this.molecules.entries[s.row]!;
      return { rank: i + 1, id: e.id, smiles: e.smiles, ...(e.name ? { name: e.name } : {}), score: s.score, grains: s.grains };
    });
  }

  /** Texts for a molecule: stage 1 by the global score, stage 2 by the fused score on the top `rerank`. */
  async searchTexts(smiles: string, o: { k?: number; rerank?: number } = {}): Promise<TextHit[]> {
    this.check();
    const graph = this.graphOrError(nonEmpty(smiles, 'smiles'), 'smiles');
    const k = count(o.k, 'k', DEFAULT_K, 1), K = count(o.rerank, 'rerank', DEFAULT_RERANK, 0);
    const index = await this.textIndex();
    const top = await index.topK(embedGraphs(this.bundle, [graph]), Math.max(k, K));
    const rows = top.rows;
    const scale = this.globalScale();
    let scored = rows.map((row, i) => ({ row, score: scale * top.scores[i]!, grains: { global: scale * top.scores[i]! } as Grains }));
    if (K > 0 && rows.length) {
      const g = index.tokens ? this.cachedFineScores(index.tokens, rows, graph) : this.fineScores(tokenize(this.bundle, rows.map((row) => this.texts.entries[row]!.text)), [graph]);
      scored = rows.map((row, i) => ({ row, score: g[i]!.fused!, grains: g[i]! }));
      scored.sort((a, b) => b.score - a.score || a.row - b.row);
    }
    return scored.slice(0, k).map((s, i) => {
      const e = this.texts.entries[s.row]!;
      return { rank: i + 1, id: e.id, text: e.text, score: s.score, grains: s.grains };
    });
  }

  /**
   * All grains of texts × graphs where one side has a single item (1 × K or K × 1), flattened over the
   * other side, through the model's own `scores` on freshly encoded vectors (texts in chunks of 32).
   */
  private fineScores(ids: number[][], graphs: HierGraph[]): Required<Grains>[] {
    const out: Required<Grains>[] = [];
    noGrad(() => {
      const chunk = 32;
      const texts = ids.length > 1 ? Array.from({ length: Math.ceil(ids.length / chunk) }, (_, c) => ids.slice(c * chunk, (c + 1) * chunk)) : [ids];
      for (const part of texts) {
        tidy(() => {
          const tv = this.bundle.model.encodeText(padSequences(part, this.bundle.tokenizer.special.pad));
          const mv = this.bundle.model.encodeMolecules(batchGraphs(graphs));
          const s = this.bundle.model.scores(tv, mv);
          const [gl, lo, mi, fu] = [s.global, s.local, s.mid, s.fused].map((x) => x.contiguous().toNumbers());
          for (let i = 0; i < gl!.length; i++) out.push({ global: gl![i]!, local: lo![i]!, mid: mi![i]!, fused: fu![i]! });
        });
      }
    });
    return out;
  }

  /**
   * All grains of the library texts `rows` against one molecule, through the model's own `scores`, on the
   * texts' vectors read from the token cache (token vectors float16, widened) and the molecule's freshly
   * encoded ones.
   */
  private cachedFineScores(cache: TokenCache, rows: number[], graph: HierGraph): Required<Grains>[] {
    const c = cache.read(rows), K = rows.length, L = c.length, D = this.info.dim;
    return noGrad(() => tidy(() => {
      const tv = {
        sentence: tensor(c.sentence, { shape: [K, D] }), tokens: tensor(c.tokens, { dtype: 'float16', shape: [K, L, D] }).to('float32'),
        multiTokens: tensor(c.multiTokens, { shape: [K, L, D] }), mask: tensor(c.mask, { dtype: 'int32', shape: [K, L] }),
      };
      const s = this.bundle.model.scores(tv, this.bundle.model.encodeMolecules(batchGraphs([graph])));
      const [gl, lo, mi, fu] = [s.global, s.local, s.mid, s.fused].map((x) => x.contiguous().toNumbers());
      return gl!.map((_, i) => ({ global: gl![i]!, local: lo![i]!, mid: mi![i]!, fused: fu![i]! }));
    }));
  }

  /** Why `text` and `smiles` score as they do (tokens, motifs, OT plan, each token's motif, grains, fused). */
  async explain(text: string, smiles: string): Promise<Explanation> {
    this.check();
    const t = nonEmpty(text, 'text');
    return explainPair(this.bundle, t, this.graphOrError(nonEmpty(smiles, 'smiles'), 'smiles'));
  }

  /**
   * Molecules similar to a molecule: by the learned molecule vectors ('model', score = their cosine for
   * cosine models) or by Morgan fingerprints (radius 2, 2048 bits; score = Tanimoto). The query itself is
   * a hit when it is in the library.
   */
  async similarMolecules(smiles: string, o: { k?: number; by?: 'model' | 'morgan' } = {}): Promise<MoleculeHit[]> {
    this.check();
    const s = nonEmpty(smiles, 'smiles');
    const k = count(o.k, 'k', DEFAULT_K, 1);
    const by = o.by ?? 'model';
    let hits: { row: number; score: number }[];
    if (by === 'morgan') hits = this.chem().morganSimilar(s, k);
    else if (by === 'model') {
      const index = await this.moleculeIndex();
      const top = await index.topK(embedGraphs(this.bundle, [this.graphOrError(s, 'smiles')]), k);
      hits = top.rows.map((r, i) => ({ row: r, score: top.scores[i]! }));
    } else throw new SearchError(`by must be 'model' or 'morgan', got ${JSON.stringify(by)}`, 'by');
    return hits.map((h, i) => {
      const e = this.molecules.entries[h.row]!;
      return { rank: i + 1, id: e.id, smiles: e.smiles, ...(e.name ? { name: e.name } : {}), score: h.score, grains: { global: h.score } };
    });
  }

  /** Stage-1 vectors of texts (unit length for cosine models), as the text index stores them. */
  embedTexts(texts: string[]): Float32Array[] {
    this.check();
    const clean = texts.map((t, i) => nonEmpty(t, `texts[${i}]`));
    return this.split(embedTokenIds(this.bundle, tokenize(this.bundle, clean)), clean.length);
  }

  /** Stage-1 vectors of molecules (unit length for cosine models), as the molecule index stores them. */
  embedMolecules(smiles: string[]): Float32Array[] {
    this.check();
    const graphs = smiles.map((s, i) => this.graphOrError(nonEmpty(s, `smiles[${i}]`), `smiles[${i}]`));
    return this.split(graphs.length ? embedGraphs(this.bundle, graphs) : new Float32Array(0), graphs.length);
  }

  private split(flat: Float32Array, n: number): Float32Array[] {
    const D = this.info.dim;
    return Array.from({ length: n }, (_, i) => flat.slice(i * D, (i + 1) * D));
  }

  /** A molecule of the library by id. */
  molecule(id: string): { id: string; smiles: string; name?: string } | undefined {
    const row = this.byId.get(id);
    if (row === undefined) return undefined;
    const e = this.molecules.entries[row]!;
    return { id: e.id, smiles: e.smiles, ...(e.name ? { name: e.name } : {}) };
  }

  /** Frees the model, the index matrices and RDKit objects. Further calls throw. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.molIndex?.dispose();
    this.txtIndex?.dispose();
    this.chemIndex?.dispose();
    this.bundle.model.dispose();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
