// Both retrieval directions from one pass over the [texts × pool] score matrix, a block of texts at a
// time: the matrix (33,010 × 3,300 for ChEBI-20's whole pool) is never held, only ranks are kept.
//   text → molecule: a block row is a query's whole candidate list, so its rank is read off directly.
//   molecule → text: a molecule's candidates are a column spread over every block, so each gold text's
//   score (the threshold) is computed first, and the pass counts, per column, the other texts at or
//   above each threshold. A molecule with several texts has all of them as gold.
// Ties count against the gold item (metrics.ts `goldPositions`); texts with the same token ids are the
// same input and tie with each other whatever the rounding of the blocks they were scored in.
// Model-free: scores come from a BlockScorer, so the arithmetic is tested on plain matrices.
import { goldPositions, outcome, type QueryOutcome } from './metrics.js';

export interface RankingTask {
  /** Per text: the pool candidate of the molecule it describes (its gold), -1 when that molecule is not in the pool. */
  gold: Int32Array;
  /** Pool size (the candidates of text → molecule). */
  candidates: number;
  /** Per text: its molecule → text query (the data molecule it describes). */
  query: Int32Array;
  /** Per query: its pool candidate, -1 when the molecule could not be featurized or encoded (a miss). */
  queryCandidate: Int32Array;
  /** Per text: equal values are the same input (the same token ids). */
  identity: Int32Array;
}

export interface BlockScorer {
  /** [texts.length × candidates] row-major scores of these texts against every pool candidate. */
  rows(texts: number[]): Float32Array;
  /** The score of each pair (texts[k], candidates[k]). */
  pairs(texts: number[], candidates: number[]): ArrayLike<number>;
}

export interface Ranking {
  /** Per text. */
  textToMolecule: QueryOutcome[];
  /** Per query; positions in the order of `queryGolds`. */
  moleculeToText: QueryOutcome[];
  /** Per query: its gold texts. */
  queryGolds: number[][];
  /** With `keepTop` K: each text's top K candidates when its gold is among them (else null), best first. */
  topMolecules?: (Int32Array | null)[];
  /** With `keepTop` K: each query's top K texts (null for a query that was not scored), best first. */
  topTexts?: (Int32Array | null)[];
}

export interface RankingOptions {
  /** The order in which texts are scored (e.g. by length, so that blocks pad little). Default: 0..N-1. */
  order?: readonly number[];
  /** Texts per block (default 64). */
  blockSize?: number;
  /** Keep each query's top K (for a second stage). */
  keepTop?: number;
  onTexts?: (n: number) => void;
}

/** The best `k` items offered, in evaluation order: score descending, on equal scores non-gold first, then index. */
class TopList {
  private readonly key: Float64Array;
  private readonly idx: Int32Array;
  private readonly late: Uint8Array;
  private n = 0;
  constructor(private readonly k: number) {
    this.key = new Float64Array(k); this.idx = new Int32Array(k); this.late = new Uint8Array(k);
  }

  private before(key: number, late: number, index: number, j: number): boolean {
    return key > this.key[j]! || (key === this.key[j]! && (late < this.late[j]! || (late === this.late[j]! && index < this.idx[j]!)));
  }

  offer(score: number, index: number, gold: boolean): void {
    const key = Number.isNaN(score) ? (gold ? -Infinity : Infinity) : score, late = gold ? 1 : 0;
    if (this.n === this.k && !this.before(key, late, index, this.k - 1)) return;
    let p = this.n === this.k ? this.k - 1 : this.n++;
    for (; p > 0 && this.before(key, late, index, p - 1); p--) {
      this.key[p] = this.key[p - 1]!; this.idx[p] = this.idx[p - 1]!; this.late[p] = this.late[p - 1]!;
    }
    this.key[p] = key; this.idx[p] = index; this.late[p] = late;
  }

  items(): Int32Array { return this.idx.slice(0, this.n); }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Each query's gold texts, best threshold first (NaN last), then by index. */
function goldTexts(task: RankingTask, thr: Float64Array): number[][] {
  const golds: number[][] = Array.from(task.queryCandidate, () => []);
  task.query.forEach((q, i) => golds[q]!.push(i));
  const key = (i: number) => (Number.isNaN(thr[i]!) ? -Infinity : thr[i]!);
  for (const g of golds) g.sort((a, b) => key(b) - key(a) || a - b);
  return golds;
}

/** The score of every text with its query's molecule (the molecule → text thresholds), in blocks. */
function thresholds(task: RankingTask, scorer: BlockScorer, order: readonly number[], size: number): Float64Array {
  const thr = new Float64Array(task.gold.length).fill(NaN);
  const scored = order.filter((i) => task.queryCandidate[task.query[i]!]! >= 0);
  for (let s = 0; s < scored.length; s += size) {
    const block = scored.slice(s, s + size);
    const v = scorer.pairs(block, block.map((i) => task.queryCandidate[task.query[i]!]!));
    block.forEach((i, k) => { thr[i] = v[k]!; });
  }
  return thr;
}

/** Ranks of every query in both directions; with `keepTop`, the candidates of a second stage. */
export function rankBothDirections(task: RankingTask, scorer: BlockScorer, o: RankingOptions = {}): Ranking {
  const N = task.gold.length, M = task.candidates, size = o.blockSize ?? 64, K = o.keepTop ?? 0;
  const order = o.order ?? range(N);
  // a block of gold pairs scores every text of it against every molecule of it: keep the blocks small
  const thr = thresholds(task, scorer, order, Math.min(size, 16));
  const golds = goldTexts(task, thr);
  const ahead = golds.map((g) => new Int32Array(g.length));  // per gold text: other texts at or above it
  const t2m = new Array<QueryOutcome>(N);
  const topMolecules = K ? new Array<Int32Array | null>(N).fill(null) : undefined;
  const topLists = K ? Array.from(task.queryCandidate, (j) => (j >= 0 ? new TopList(K) : null)) : undefined;
  const columns = range(task.queryCandidate.length).filter((q) => task.queryCandidate[q]! >= 0);
  for (let s = 0; s < N; s += size) {
    const block = order.slice(s, s + size);
    const scores = scorer.rows(block);
    block.forEach((i, r) => {
      const row = scores.subarray(r * M, (r + 1) * M);
      const g = task.gold[i]!;
      const pos = g >= 0 ? goldPositions(row, [g])[0]! : 0;
      t2m[i] = outcome(g >= 0 ? [pos] : [], 1, M);
      if (topMolecules && g >= 0 && pos <= K) topMolecules[i] = topOf(row, g, K);
      for (const q of columns) {
        const v = row[task.queryCandidate[q]!]!;
        const own = task.query[i] === q;
        topLists?.[q]!.offer(v, i, own);
        if (own) continue;
        const gq = golds[q]!, aq = ahead[q]!;
        for (let k = 0; k < gq.length; k++) if (!(v < thr[gq[k]!]!) || task.identity[i] === task.identity[gq[k]!]) aq[k]!++;
      }
    });
    o.onTexts?.(block.length);
  }
  const m2t = golds.map((gq, q) => outcome(task.queryCandidate[q]! >= 0 ? gq.map((_, k) => k + 1 + ahead[q]![k]!) : [], gq.length, N));
  return { textToMolecule: t2m, moleculeToText: m2t, queryGolds: golds, ...(K ? { topMolecules, topTexts: topLists!.map((l) => l?.items() ?? null) } : {}) };
}

function topOf(row: Float32Array, gold: number, k: number): Int32Array {
  const top = new TopList(k);
  for (let c = 0; c < row.length; c++) top.offer(row[c]!, c, c === gold);
  return top.items();
}

export interface FineScorer {
  /** Scores of text `text` against the pool candidates `molecules`. */
  textToMolecules(text: number, molecules: Int32Array): ArrayLike<number>;
  /** Scores of query `query`'s molecule against the texts `texts`. */
  moleculeToTexts(query: number, texts: Int32Array): ArrayLike<number>;
}

/**
 * Two-stage ranks (rankPairs' rule, generalised to several gold items): the first stage's top K of a
 * query are re-ordered by the fine scores; a gold item outside them keeps its first-stage position,
 * which is beyond K. `first` must come from rankBothDirections with keepTop K.
 */
export function rerankTop(task: RankingTask, first: Ranking, K: number, fine: FineScorer, onQuery?: () => void): Ranking {
  const M = task.candidates, N = task.gold.length;
  const t2m = first.textToMolecule.map((o, i) => {
    const top = first.topMolecules![i];
    onQuery?.();
    if (!top) return o;
    return outcome(goldPositions(fine.textToMolecules(i, top), [top.indexOf(task.gold[i]!)]), 1, M);
  });
  const m2t = first.moleculeToText.map((o, q) => {
    const top = first.topTexts![q], gq = first.queryGolds[q]!;
    onQuery?.();
    if (!top) return o;
    const at = gq.map((g) => top.indexOf(g));
    const outside = o.positions.map((p) => Math.max(p, K + 1));
    if (at.every((a) => a < 0)) return outcome(outside, gq.length, N);
    const inside = at.filter((a) => a >= 0);
    const pos = goldPositions(fine.moleculeToTexts(q, top), inside, (c, g) => task.identity[top[c]!] === task.identity[top[g]!]);
    return outcome(at.map((a, k) => (a >= 0 ? pos[inside.indexOf(a)]! : outside[k]!)), gq.length, N);
  });
  return { textToMolecule: t2m, moleculeToText: m2t, queryGolds: first.queryGolds };
}
