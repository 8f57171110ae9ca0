// Retrieval metrics from a score matrix (orma-reference.md §10, §14): Hits@k, MRR and mean rank as
// reported on ChEBI-20, Recall@k as reported on PCdes, in both directions from one matrix.

export interface RankingMetrics {
  queries: number;
  /** Percent of queries whose gold item ranks at most 1, 5, 10. Recall@k with one gold item per query. */
  hits1: number;
  hits5: number;
  hits10: number;
  /** Mean reciprocal rank, a fraction in (0, 1]. */
  mrr: number;
  meanRank: number;
  medianRank: number;
}

/**
 * 1-based rank of each query's gold candidate in `scores` (row-major [queries, candidates], higher is
 * better). Ties go to the lower candidate index, as a stable descending sort would order them, so a
 * constant score matrix does not look perfect.
 */
export function goldRanks(scores: ArrayLike<number>, queries: number, candidates: number, gold: ArrayLike<number>): Int32Array {
  if (scores.length !== queries * candidates) throw new Error(`goldRanks: ${scores.length} scores for ${queries} × ${candidates}`);
  if (gold.length !== queries) throw new Error(`goldRanks: ${gold.length} gold indices for ${queries} queries`);
  const ranks = new Int32Array(queries);
  for (let q = 0; q < queries; q++) {
    const g = gold[q]!;
    if (!(g >= 0 && g < candidates)) throw new Error(`goldRanks: gold index ${g} of query ${q} is outside 0..${candidates - 1}`);
    const row = q * candidates;
    const s = scores[row + g]!;
    if (Number.isNaN(s)) throw new Error(`goldRanks: the gold score of query ${q} is NaN`);
    let rank = 1;
    for (let c = 0; c < candidates; c++) {
      const v = scores[row + c]!;
      if (v > s || (v === s && c < g) || Number.isNaN(v)) rank++;
    }
    ranks[q] = rank;
  }
  return ranks;
}

export function metricsFromRanks(ranks: ArrayLike<number>): RankingMetrics {
  const n = ranks.length;
  if (n === 0) throw new Error('metricsFromRanks: no queries');
  let h1 = 0, h5 = 0, h10 = 0, rr = 0, sum = 0;
  for (let i = 0; i < n; i++) {
    const r = ranks[i]!;
    if (r <= 1) h1++;
    if (r <= 5) h5++;
    if (r <= 10) h10++;
    rr += 1 / r;
    sum += r;
  }
  const sorted = Array.from(ranks).sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { queries: n, hits1: (100 * h1) / n, hits5: (100 * h5) / n, hits10: (100 * h10) / n, mrr: rr / n, meanRank: sum / n, medianRank: median };
}

/**
 * Both directions from one [texts, molecules] score matrix where text i describes molecule gold[i]:
 * text→molecule ranks rows; molecule→text ranks the columns of molecules that have a text.
 */
export function retrievalMetrics(scores: ArrayLike<number>, texts: number, molecules: number, gold: ArrayLike<number>): { textToMolecule: RankingMetrics; moleculeToText: RankingMetrics } {
  const t2m = metricsFromRanks(goldRanks(scores, texts, molecules, gold));
  // molecule→text: the transposed matrix, one query per molecule that some text describes (its first text is gold).
  const goldText = new Map<number, number>();
  for (let t = 0; t < texts; t++) if (!goldText.has(gold[t]!)) goldText.set(gold[t]!, t);
  const mols = [...goldText.keys()];
  const transposed = new Float64Array(mols.length * texts);
  mols.forEach((m, q) => { for (let t = 0; t < texts; t++) transposed[q * texts + t] = scores[t * molecules + m]!; });
  const m2t = metricsFromRanks(goldRanks(transposed, mols.length, texts, mols.map((m) => goldText.get(m)!)));
  return { textToMolecule: t2m, moleculeToText: m2t };
}
