// Retrieval with a trained model over a set of texts and a pool of molecules: encode both once (in
// length-sorted batches, so padding stays small), rank by the global (sentence–molecule) score, and
// optionally rerank each query's global top K by the fused three-grain score (two-stage retrieval:
// the fine grains cost per pair, so they see K candidates per query, not the whole pool).
import { cat, keep, noGrad, stack, tensor, tidy, zeros, type Tensor } from '../tensor/index.js';
import type { HierGraph } from '../chem/index.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import type { OrmaBundle } from '../model/factory.js';
import type { TextVectors } from '../model/text-encoder.js';
import type { MoleculeVectors } from '../model/orma.js';
import { globalScores } from '../model/scores.js';
import { metricsFromRanks, type RankingMetrics } from './metrics.js';

/** Per-item vectors, kept until `disposeEncoded`. */
export interface EncodedTexts {
  /** [N, D] */
  sentence: Tensor;
  /** Per text: [n_i, D] token and multi-token vectors over its real tokens. */
  tokens: Tensor[];
  multiTokens: Tensor[];
}

export interface EncodedMolecules {
  /** [M, D] */
  molecule: Tensor;
  /** Per molecule: [a_j, D] atoms and [m_j, D] motifs (m_j may be 0). */
  atoms: Tensor[];
  motifs: Tensor[];
}

/** Indices sorted by size, cut into batches of `batchSize`. */
function sortedBatches(sizes: number[], batchSize: number): number[][] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]! || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

/** Token ids of each text, as the model's tokenizer and maximum length give them. */
export function tokenizeTexts(b: OrmaBundle, texts: readonly string[]): number[][] {
  return texts.map((t) => b.tokenizer.encode(t, { maxLength: b.config.tokenizer.maxLength }).ids);
}

export function encodeTexts(b: OrmaBundle, ids: readonly (readonly number[])[], o: { batchSize?: number } = {}): EncodedTexts {
  const sentence: Tensor[] = new Array(ids.length), tokens: Tensor[] = new Array(ids.length), multiTokens: Tensor[] = new Array(ids.length);
  noGrad(() => {
    for (const batch of sortedBatches(ids.map((s) => s.length), o.batchSize ?? 64)) {
      tidy(() => {
        const v = b.model.encodeText(padSequences(batch.map((i) => ids[i]!), b.tokenizer.special.pad));
        batch.forEach((i, r) => {
          const n = ids[i]!.length;
          sentence[i] = keep(v.sentence.select(0, r).clone());
          tokens[i] = keep(v.tokens.select(0, r).narrow(0, 0, n).clone());
          multiTokens[i] = keep(v.multiTokens.select(0, r).narrow(0, 0, n).clone());
        });
      });
    }
  });
  return { sentence: keepStacked(sentence), tokens, multiTokens };
}

export function encodeMolecules(b: OrmaBundle, graphs: readonly HierGraph[], o: { batchSize?: number } = {}): EncodedMolecules {
  const molecule: Tensor[] = new Array(graphs.length), atoms: Tensor[] = new Array(graphs.length), motifs: Tensor[] = new Array(graphs.length);
  const oneMotif = b.config.orma.zeroMotifs === 'molecule';
  noGrad(() => {
    for (const batch of sortedBatches(graphs.map((g) => g.numAtoms), o.batchSize ?? 64)) {
      tidy(() => {
        const v = b.model.encodeMolecules(batchGraphs(batch.map((i) => graphs[i]!)));
        batch.forEach((i, r) => {
          const g = graphs[i]!;
          const m = oneMotif ? Math.max(1, g.numMotifs) : g.numMotifs;
          molecule[i] = keep(v.molecule.select(0, r).clone());
          atoms[i] = keep(v.atoms.select(0, r).narrow(0, 0, g.numAtoms).clone());
          motifs[i] = keep(v.motifs.select(0, r).narrow(0, 0, m).clone());
        });
      });
    }
  });
  return { molecule: keepStacked(molecule), atoms, motifs };
}

function keepStacked(rows: Tensor[]): Tensor {
  const out = keep(tidy(() => stack(rows, 0)));
  for (const r of rows) r.dispose();
  return out;
}

export function disposeEncoded(x: EncodedTexts | EncodedMolecules): void {
  for (const v of Object.values(x)) for (const t of Array.isArray(v) ? v : [v]) t.dispose();
}

/** [N, M] global scores (row-major float32): the model's sentence–molecule score, up to its positive scale. */
export function globalScoreMatrix(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules): Float32Array {
  return noGrad(() => tidy(() => globalScores(t.sentence, m.molecule, { cosine: b.config.orma.logitScale === 'learned' }).to('float32').toArray() as Float32Array));
}

/** Rows of `list` padded with zeros to a common length, with their mask: [k, L, D] and bool [k, L]. */
function padded(list: Tensor[]): { x: Tensor; mask: Tensor } {
  const dim = list[0]!.size(1);
  const L = Math.max(1, ...list.map((t) => t.size(0)));
  const x = stack(list.map((t) => (t.size(0) === L ? t : cat([t, zeros([L - t.size(0), dim])], 0))), 0);
  const mask = tensor(Uint8Array.from(list.flatMap((t) => Array.from({ length: L }, (_, i) => (i < t.size(0) ? 1 : 0)))), { dtype: 'uint8', shape: [list.length, L] }).bool();
  return { x, mask };
}

function textVectors(t: EncodedTexts, index: number[]): TextVectors {
  const tok = padded(index.map((i) => t.tokens[i]!)), multi = padded(index.map((i) => t.multiTokens[i]!));
  return { sentence: t.sentence.indexSelect(0, tensor(index, { dtype: 'int64' })), tokens: tok.x, multiTokens: multi.x, mask: tok.mask.to('int32') };
}

function moleculeVectors(m: EncodedMolecules, index: number[]): MoleculeVectors {
  const a = padded(index.map((j) => m.atoms[j]!)), k = padded(index.map((j) => m.motifs[j]!));
  return { molecule: m.molecule.indexSelect(0, tensor(index, { dtype: 'int64' })), atoms: a.x, atomMask: a.mask, motifs: k.x, motifMask: k.mask };
}

/** Fused scores of text i against molecules js (or of texts is against molecule j), as plain numbers. */
export function fusedScores(b: OrmaBundle, t: EncodedTexts, m: EncodedMolecules, texts: number[], molecules: number[]): number[] {
  return noGrad(() => tidy(() => b.model.scores(textVectors(t, texts), moleculeVectors(m, molecules)).fused.contiguous().toNumbers()));
}

/** 1-based rank of the item at `gold` among `scores` (higher first; ties count against the gold item). */
function rankOf(scores: ArrayLike<number>, gold: number, among?: readonly number[]): number {
  const s = scores[gold]!;
  let rank = 1;
  if (among) { for (const c of among) if (c !== gold && scores[c]! >= s) rank++; }
  else for (let c = 0; c < scores.length; c++) if (c !== gold && scores[c]! >= s) rank++;
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
  const N = t.tokens.length, M = m.atoms.length, K = o.rerank ?? 0;
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
  const cands = topK(globalRow, K);
  const f = fused(cands);
  const byIndex = new Map(cands.map((c, r) => [c, f[r]!]));
  const s = byIndex.get(gold)!;
  let rank = 1;
  for (const [c, v] of byIndex) if (c !== gold && v >= s) rank++;
  return rank;
}
