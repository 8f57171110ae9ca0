// Retrieval with a trained model over a set of texts and a pool of molecules: encode both once (in
// length-sorted batches, so padding stays small), rank by the global (sentence–molecule) score, and
// optionally rerank each query's global top K by the fused three-grain score (two-stage retrieval:
// the fine grains cost per pair, so they see K candidates per query, not the whole pool).
import { keep, noGrad, stack, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import type { HierGraph } from '../chem/index.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import type { OrmaBundle } from '../model/factory.js';
import type { TextVectors } from '../model/text-encoder.js';
import type { MoleculeVectors } from '../model/orma.js';
import { globalScores } from '../model/scores.js';
import { paddedRows } from '../model/pool-scores.js';
import { metricsFromRanks, type RankingMetrics } from './metrics.js';

/**
 * Per-item vectors, kept until `disposeEncoded`. Variable-length parts are stored flat ([Σ n_i + 1, D],
 * the last row zeros) with offsets, so any list of items becomes a padded batch in one gather.
 */
export interface EncodedTexts {
  /** [N, D] */
  sentence: Tensor;
  /** Token and multi-token vectors of every text's real tokens (every token slot, with `slots`), text after text. */
  tokens: Ragged;
  multiTokens: Ragged;
  /** With `slots`: each text's real token count (its rows are all slots.tokens slots). */
  realLengths?: number[];
}

export interface EncodedMolecules {
  /** [M, D] */
  molecule: Tensor;
  /** Atom and motif vectors of every molecule, molecule after molecule (a molecule may have 0 motifs). */
  atoms: Ragged;
  motifs: Ragged;
}

/** Rows of many items in one [Σ lengths + 1, D] tensor (the last row is zeros, the padding source). */
export interface Ragged {
  flat: Tensor;
  offsets: number[];
  lengths: number[];
}

/**
 * Indices sorted by size, cut into batches of `batchSize`; with `budget`, a batch also ends before its
 * items × largest size would exceed it (one item at least), so that batches of long items stay small.
 */
export function sortedBatches(sizes: number[], batchSize: number, budget = Infinity): number[][] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]! || a - b);
  const out: number[][] = [];
  if (budget === Infinity) {
    for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
    return out;
  }
  let cur: number[] = [];
  for (const i of order) {
    if (cur.length && (cur.length >= batchSize || (cur.length + 1) * sizes[i]! > budget)) { out.push(cur); cur = []; }
    cur.push(i);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Token ids of each text, as the model's tokenizer and maximum length give them. */
export function tokenizeTexts(b: OrmaBundle, texts: readonly string[]): number[][] {
  return texts.map((t) => b.tokenizer.encode(t, { maxLength: b.config.tokenizer.maxLength }).ids);
}

/**
 * Collects per-item row blocks (set in any order) into a Ragged in item order: the lengths are known
 * upfront, so each block is copied straight into the one flat tensor (no per-item copies to gather at the
 * end, whose concatenation needed twice the memory).
 */
class RaggedBuilder {
  private flat: Tensor | null = null;
  private readonly offsets: number[] = [];
  private readonly total: number;
  constructor(private readonly lengths: readonly number[], private readonly dim: number) {
    let at = 0;
    for (const n of lengths) { this.offsets.push(at); at += n; }
    this.total = at;
  }
  set(i: number, rows: Tensor): void {
    if (rows.size(0) !== this.lengths[i]) throw new Error(`RaggedBuilder: item ${i} has ${rows.size(0)} rows, expected ${this.lengths[i]}`);
    this.flat ??= keep(zeros([this.total + 1, this.dim], { dtype: rows.dtype }));
    if (rows.size(0) > 0) this.flat.narrow(0, this.offsets[i]!, rows.size(0)).copy_(rows);
  }
  build(): Ragged {
    return { flat: this.flat ?? keep(zeros([this.total + 1, this.dim])), offsets: this.offsets, lengths: [...this.lengths] };
  }
}

/** `tokenBudget`: batches of long texts hold fewer texts (at most this many padded tokens each; default: no bound). */
export function encodeTexts(b: OrmaBundle, ids: readonly (readonly number[])[], o: { batchSize?: number; tokenBudget?: number } = {}): EncodedTexts {
  const sentence: Tensor[] = new Array(ids.length);
  const dim = b.config.orma.dim, slots = b.config.orma.slots ?? null;
  // with the official slots a text keeps the vectors of every slot: the padded ones count in its scores
  const lengths = ids.map((x) => (slots ? slots.tokens : x.length));
  const tokens = new RaggedBuilder(lengths, dim), multiTokens = new RaggedBuilder(lengths, dim);
  noGrad(() => {
    for (const batch of sortedBatches(ids.map((s) => s.length), o.batchSize ?? 64, o.tokenBudget)) {
      tidy(() => {
        const v = b.model.encodeText(padSequences(batch.map((i) => ids[i]!), b.tokenizer.special.pad));
        batch.forEach((i, r) => {
          const n = lengths[i]!;
          sentence[i] = keep(v.sentence.select(0, r).clone());
          tokens.set(i, v.tokens.select(0, r).narrow(0, 0, n));
          multiTokens.set(i, v.multiTokens.select(0, r).narrow(0, 0, n));
        });
      });
    }
  });
  return { sentence: keepStacked(sentence), tokens: tokens.build(), multiTokens: multiTokens.build(), ...(slots ? { realLengths: ids.map((x) => x.length) } : {}) };
}

/** `atomBudget`: batches of large molecules hold fewer molecules (at most this many padded atoms each; default: no bound). */
export function encodeMolecules(b: OrmaBundle, graphs: readonly HierGraph[], o: { batchSize?: number; atomBudget?: number } = {}): EncodedMolecules {
  const molecule: Tensor[] = new Array(graphs.length);
  const oneMotif = b.config.orma.zeroMotifs === 'molecule', dim = b.config.orma.dim;
  const atoms = new RaggedBuilder(graphs.map((g) => g.numAtoms), dim);
  const motifs = new RaggedBuilder(graphs.map((g) => (oneMotif ? Math.max(1, g.numMotifs) : g.numMotifs)), dim);
  noGrad(() => {
    for (const batch of sortedBatches(graphs.map((g) => g.numAtoms), o.batchSize ?? 64, o.atomBudget)) {
      tidy(() => {
        const v = b.model.encodeMolecules(batchGraphs(batch.map((i) => graphs[i]!)));
        batch.forEach((i, r) => {
          const g = graphs[i]!;
          molecule[i] = keep(v.molecule.select(0, r).clone());
          atoms.set(i, v.atoms.select(0, r).narrow(0, 0, g.numAtoms));
          motifs.set(i, v.motifs.select(0, r).narrow(0, 0, oneMotif ? Math.max(1, g.numMotifs) : g.numMotifs));
        });
      });
    }
  });
  return { molecule: keepStacked(molecule), atoms: atoms.build(), motifs: motifs.build() };
}

function keepStacked(rows: Tensor[]): Tensor {
  const out = keep(tidy(() => stack(rows, 0)));
  for (const r of rows) r.dispose();
  return out;
}

export function disposeEncoded(x: EncodedTexts | EncodedMolecules): void {
  for (const v of Object.values(x) as (Tensor | Ragged | number[])[]) if (!Array.isArray(v)) ('flat' in v ? v.flat : v).dispose();
}

/** [N, M] global scores (row-major float32): the model's sentence–molecule score, up to its positive scale. */
export function globalScoreMatrix(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules): Float32Array {
  return noGrad(() => tidy(() => globalScores(t.sentence, m.molecule, { cosine: b.config.orma.logitScale === 'learned' }).to('float32').toArray() as Float32Array));
}

function textVectors(t: EncodedTexts, index: number[]): TextVectors {
  // with slots, a text's rows are all its token slots and its mask marks the real ones
  const tok = paddedRows(t.tokens, index, t.realLengths), multi = paddedRows(t.multiTokens, index);
  return { sentence: t.sentence.indexSelect(0, tensor(index, { dtype: 'int64' })), tokens: tok.x, multiTokens: multi.x, mask: tok.mask };
}

function moleculeVectors(m: EncodedMolecules, index: number[]): MoleculeVectors {
  const a = paddedRows(m.atoms, index), k = paddedRows(m.motifs, index);
  return { molecule: m.molecule.indexSelect(0, tensor(index, { dtype: 'int64' })), atoms: a.x, atomMask: a.mask, motifs: k.x, motifMask: k.mask };
}

/** Fused scores of text i against molecules js (or of texts is against molecule j), as plain numbers. */
export function fusedScores(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules, texts: number[], molecules: number[]): number[] {
  return noGrad(() => tidy(() => b.model.scores(textVectors(t, texts), moleculeVectors(m, molecules)).fused.contiguous().toNumbers()));
}

/** 1-based rank of the item at `gold` among `scores` (higher first; ties count against the gold item). */
function rankOf(scores: ArrayLike<number>, gold: number): number {
  const s = scores[gold]!;
  let rank = 1;
  for (let c = 0; c < scores.length; c++) if (c !== gold && scores[c]! >= s) rank++;
  return rank;
}

/** Indices of the k largest values (ties by index). */
function topK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b).slice(0, k);
}

export interface RetrievalResult {
  textToMolecule: RankingMetrics;
  moleculeToText: RankingMetrics;
}

/**
 * Ranks for pairs (text i ↔ molecule gold[i]) in both directions. `rerank` 0 ranks by the global score;
 * K > 0 reranks each query's global top K by the fused score (the gold item outside the top K keeps its
 * global rank, which is > K). Ties count against the gold item.
 */
export function rankPairs(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules, gold: readonly number[], o: { rerank?: number; onQuery?: () => void } = {}): RetrievalResult {
  const N = t.tokens.lengths.length, M = m.atoms.lengths.length, K = o.rerank ?? 0;
  const g = globalScoreMatrix(b, t, m);
  const t2m = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const row = g.subarray(i * M, (i + 1) * M);
    t2m[i] = twoStage(row, gold[i]!, K, (cands) => fusedScores(b, t, m, [i], cands));
    o.onQuery?.();
  }
  // molecule → text: each molecule described by some text is a query; its first text is gold
  const goldText = new Map<number, number>();
  gold.forEach((j, i) => { if (!goldText.has(j)) goldText.set(j, i); });
  const m2t: number[] = [];
  for (const [j, i] of goldText) {
    const col = Float32Array.from({ length: N }, (_, r) => g[r * M + j]!);
    m2t.push(twoStage(col, i, K, (cands) => fusedScores(b, t, m, cands, [j])));
    o.onQuery?.();
  }
  return { textToMolecule: metricsFromRanks(t2m), moleculeToText: metricsFromRanks(m2t) };
}

function twoStage(globalRow: Float32Array, gold: number, K: number, fused: (cands: number[]) => number[]): number {
  const globalRank = rankOf(globalRow, gold);
  if (K <= 0 || globalRank > K) return globalRank;
  // the gold item is among the top K here (its global rank is at most K): its rank among their fused scores
  const cands = topK(globalRow, K);
  return rankOf(fused(cands), cands.indexOf(gold));
}
