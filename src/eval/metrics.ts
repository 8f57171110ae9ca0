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

/**
 * 1-based positions of the gold candidates `gold` among `scores` (higher first) in the order evaluation
 * uses: on equal scores every other candidate goes before a gold one (ties count against the gold), and
 * gold candidates among themselves go by score, then index. A NaN score goes before every gold candidate;
 * a NaN gold score is last. `same(c, g)` says that candidate c is the same input as gold g (an identical
 * text): it ties with g whatever the float rounding. Positions are returned in the order of `gold`.
 */
export function goldPositions(scores: ArrayLike<number>, gold: readonly number[], same?: (c: number, g: number) => boolean): number[] {
  const key = (g: number) => (Number.isNaN(scores[g]!) ? -Infinity : scores[g]!);
  return gold.map((g) => {
    const s = scores[g]!, at = (c: number) => !(scores[c]! < s) || (same?.(c, g) ?? false);
    let ahead = 0;
    for (let c = 0; c < scores.length; c++) if (at(c)) ahead++;
    // gold candidates were counted above when at or above s (g itself always); they go by score, then index
    for (const h of gold) {
      if (at(h)) ahead--;
      if (h !== g && (key(h) > key(g) || (key(h) === key(g) && h < g))) ahead++;
    }
    return ahead + 1;
  });
}

/** One query's outcome: where each gold candidate ended up; `positions` is empty when the query could not be scored. */
export interface QueryOutcome {
  /** Rank of the best-placed gold candidate (1-based), or the pool size for a query that was not scored. */
  rank: number;
  /** Positions of the gold candidates that were ranked (all of them, or none). */
  positions: number[];
  /** How many gold candidates the query has. */
  golds: number;
}

export function outcome(positions: number[], golds: number, missRank: number): QueryOutcome {
  return { rank: positions.length ? Math.min(...positions) : missRank, positions, golds };
}

export interface RetrievalMetrics extends RankingMetrics {
  /** Percent of the gold candidates in the top 1, 5, 10, averaged over queries (= Hits@k with one gold each). */
  recall1: number;
  recall5: number;
  recall10: number;
}

/**
 * Hits@k (any gold in the top k), Recall@k (share of the query's golds in the top k), MRR, mean and
 * median rank (of the best gold). A query that was not scored is a miss at every k and counts its rank.
 */
export function metricsFromOutcomes(outcomes: readonly QueryOutcome[]): RetrievalMetrics {
  const base = metricsFromRanks(outcomes.map((o) => o.rank));
  const pct = (f: (o: QueryOutcome) => number) => (100 * outcomes.reduce((a, o) => a + f(o), 0)) / outcomes.length;
  const hits = (k: number) => pct((o) => (o.positions.some((p) => p <= k) ? 1 : 0));
  const recall = (k: number) => pct((o) => o.positions.filter((p) => p <= k).length / o.golds);
  return { ...base, hits1: hits(1), hits5: hits(5), hits10: hits(10), recall1: recall(1), recall5: recall(5), recall10: recall(10) };
}
