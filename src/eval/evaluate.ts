// `evaluate`: a model's retrieval metrics on a pair file, both directions (text → molecule over a pool of
// molecules, molecule → text over the file's texts), with one of three scores:
//   global     the sentence–molecule cosine (globalScores), over the whole pool
//   fused      the three-grain ORMA score over the whole pool (every pair, through the model's pool scorer)
//   rerank:K   the global top K of each query re-ordered by the fused score (retrieval.ts `rankPairs` rule)
// and optionally MoMu's PCdes protocol. Protocols, pools and the JSON format: docs/evaluation.md.
import { emptyCache, noGrad, tensor, tidy, keep, type Tensor } from '../tensor/index.js';
import type { HierGraph } from '../chem/index.js';
import { padSequences } from '../text/padding.js';
import { batchGraphs } from '../data/graph-batch.js';
import { loadOrmaModel, type OrmaBundle } from '../model/factory.js';
import { globalScores } from '../model/scores.js';
import { PoolScorer } from '../model/pool-scores.js';
import { metricsFromOutcomes, type QueryOutcome, type RetrievalMetrics } from './metrics.js';
import { disposeEncoded, encodeMolecules, encodeTexts, sortedBatches, tokenizeTexts, type EncodedTexts } from './retrieval.js';
import { EvalError, readEvalData, stageProgress, type EvalData, type PoolSource, type SkippedRow } from './pool.js';
import { rankBothDirections, rerankTop, type BlockScorer, type Ranking, type RankingTask } from './ranking.js';

export type ScoreMode = { kind: 'global' } | { kind: 'fused' } | { kind: 'rerank'; k: number };
export const DEFAULT_SCORE = 'rerank:50';
/** MoMu's protocol: recall at 20 over the whole set, accuracy within unshuffled batches of 64. */
export const MOMU_RECALL_AT = 20, MOMU_BATCH = 64;

export function parseScoreMode(s: string): ScoreMode {
  if (s === 'global' || s === 'fused') return { kind: s };
  const m = /^rerank:(\d+)$/.exec(s);
  if (m && Number(m[1]) >= 1) return { kind: 'rerank', k: Number(m[1]) };
  throw new EvalError(`score must be global, fused or rerank:K with K >= 1, got '${s}'`);
}

export const scoreModeName = (m: ScoreMode) => (m.kind === 'rerank' ? `rerank:${m.k}` : m.kind);

export interface EvaluateOptions {
  /** A model directory or a loaded model. */
  model: string | OrmaBundle;
  /** Pair file (TSV, CSV or JSONL, plain or .gz). */
  data: string;
  /** Pool sources, united: 'split' (default), 'chebi20-all', molecule file paths. */
  pool?: readonly PoolSource[];
  /** 'global', 'fused' or 'rerank:K' (default rerank:50). */
  score?: string | ScoreMode;
  /** Queries per scoring block and items per encoding batch (default 64). */
  batchSize?: number;
  /** Add MoMu's PCdes protocol (global score). */
  momu?: boolean;
  /** Graph cache folder (default ~/.cache/orma/graphs). */
  cacheDir?: string | null;
  /** Progress lines with ETA (default: none). */
  progress?: NodeJS.WriteStream | null;
  /** Notes on left-out pool molecules. */
  log?: (line: string) => void;
  /** Add every query's rank to the report (`ranks`: Hits@k curves, per-item analysis, paired tests). */
  ranks?: boolean;
}

/** A query's best gold rank; `line` is the data file's line of the query's text (text → molecule) or of the molecule's first pair. */
export interface QueryRank { line: number; rank: number }

export interface DirectionReport {
  queries: number;
  'hits@1': number; 'hits@5': number; 'hits@10': number;
  'recall@1': number; 'recall@5': number; 'recall@10': number;
  mrr: number; mean_rank: number; median_rank: number;
}

export interface MomuDirection { 'rec@20': number; batch_accuracy: number }

export interface MomuReport { pairs: number; left_out: number; score: 'global'; batch: number; text_to_molecule: MomuDirection; molecule_to_text: MomuDirection }

/** What `orma eval --json` prints. Hits, Recall and MoMu's numbers in percent; MRR in [0, 1]. */
export interface EvaluationReport {
  data: string;
  pairs: number;
  pool: string;
  pool_size: number;
  score: string;
  ties: 'against gold';
  merged_duplicates: number;
  gold_added: number;
  pool_unusable: number;
  text_to_molecule: DirectionReport;
  molecule_to_text: DirectionReport;
  skipped: SkippedRow[];
  momu?: MomuReport;
  /** With `ranks`: every query's best gold rank, in the data file's order (misses rank pool size / texts). */
  ranks?: { text_to_molecule: QueryRank[]; molecule_to_text: QueryRank[] };
  /** Pairs the score computed (global, fused: queries × pool; rerank:K: its stage 2's fused pairs), and their rate over that stage's wall-clock time. */
  scored_pairs: number;
  pairs_per_second: number;
  seconds: number;
}

function direction(m: RetrievalMetrics): DirectionReport {
  return {
    queries: m.queries, 'hits@1': m.hits1, 'hits@5': m.hits5, 'hits@10': m.hits10,
    'recall@1': m.recall1, 'recall@5': m.recall5, 'recall@10': m.recall10, mrr: m.mrr, mean_rank: m.meanRank, median_rank: m.medianRank,
  };
}

/**
 * [n × D] rows of `encode` over size-sorted batches. A batch that throws is retried item by item; with
 * `failed`, items that still throw are recorded there (their rows stay zero) instead of failing the run.
 */
function encodeRows(dim: number, sizes: number[], batchSize: number, encode: (items: number[]) => Tensor, failed?: Map<number, string>, tick?: (n: number) => void, budget?: number): Float32Array {
  const out = new Float32Array(sizes.length * dim);
  const put = (items: number[]) => {
    const x = tidy(() => encode(items).to('float32').contiguous().toArray() as Float32Array);
    items.forEach((i, r) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  };
  noGrad(() => {
    for (const batch of sortedBatches(sizes, batchSize, budget)) {
      try { put(batch); } catch (err) {
        if (!failed) throw err;
        for (const i of batch) try { put([i]); } catch (e) { failed.set(i, (e as Error).message); }
      }
      tick?.(batch.length);
    }
  });
  return out;
}

const indexTensor = (ix: number[]) => tensor(Int32Array.from(ix), { dtype: 'int32', shape: [ix.length] }).long();
const rowsTensor = (rows: Float32Array, n: number, dim: number) => keep(tensor(rows, { shape: [n, dim] }));

function selectRows(rows: Float32Array, index: number[], dim: number): Float32Array {
  const out = new Float32Array(index.length * dim);
  index.forEach((i, r) => out.set(rows.subarray(i * dim, (i + 1) * dim), r * dim));
  return out;
}

/**
 * Padded tokens per text-encoding batch. With the default model, a batch of 64 texts of 256 tokens took the
 * tensors in use to 1.9 GB (ChEBI-20's selection slice), and 16 of them (this bound) to 0.65 GB.
 */
const TEXT_TOKENS_PER_BATCH = 4096;
/** Padded atoms per molecule-encoding batch: 37 molecules up to 574 atoms held 733 MB (ChEBI-20 validation), 4,096 atoms at most 329 MB. */
const ATOMS_PER_BATCH = 4096;

/** Global scores of sentence rows against molecule rows (the model's cosine or dot product, unscaled). */
function globalScorer(b: OrmaBundle, sentences: Tensor, molecules: Tensor): BlockScorer {
  const cosine = b.config.orma.logitScale === 'learned';
  const block = (texts: number[], mols: Tensor) => noGrad(() => tidy(() => globalScores(sentences.indexSelect(0, indexTensor(texts)), mols, { cosine }).to('float32').contiguous().toArray() as Float32Array));
  return {
    rows: (texts) => block(texts, molecules),
    // a pair's score is read off a small block of the same product, so it rounds as the rows do
    pairs: (texts, cands) => {
      const s = tidy(() => block(texts, molecules.indexSelect(0, indexTensor(cands))));
      return texts.map((_, k) => s[k * cands.length + k]!);
    },
  };
}

/**
 * Fused scores over the whole pool through the model's pool scorer (src/model/pool-scores.ts): the
 * per-text and per-molecule work is done once, every pair is scored at its real size, and memory stays
 * bounded by the scorer's block budgets whatever the number of texts a call asks for.
 */
function fusedScorer(pool: PoolScorer, molecules: number): BlockScorer {
  const all = Array.from({ length: molecules }, (_, j) => j);
  return {
    rows: (texts) => pool.fusedArray(texts, all),
    pairs: (texts, cands) => {
      const distinct = [...new Set(cands)];
      const s = pool.fusedArray(texts, distinct);
      return texts.map((_, k) => s[k * distinct.length + distinct.indexOf(cands[k]!)]!);
    },
  };
}

/** The ranking task of the data: gold candidates, molecule → text queries, text identities. */
function buildTask(d: EvalData, ids: number[][], poolOf: Int32Array): RankingTask {
  const queryOf = new Map<string, number>(), identityOf = new Map<string, number>();
  const query = new Int32Array(d.pairs.length), identity = new Int32Array(d.pairs.length), gold = new Int32Array(d.pairs.length);
  d.pairs.forEach((p, i) => {
    if (!queryOf.has(p.key)) queryOf.set(p.key, queryOf.size);
    query[i] = queryOf.get(p.key)!;
    const tokens = ids[i]!.join(',');
    if (!identityOf.has(tokens)) identityOf.set(tokens, identityOf.size);
    identity[i] = identityOf.get(tokens)!;
    gold[i] = poolOf[d.keyIndex.get(p.key)!]!;
  });
  const queryCandidate = Int32Array.from(queryOf.keys(), (k) => poolOf[d.keyIndex.get(k)!]!);
  const candidates = poolOf.reduce((n, c) => (c >= 0 ? n + 1 : n), 0);
  return { gold, candidates, query, queryCandidate, identity };
}

const bar = (o: EvaluateOptions, label: string, total: number, unit: string, show?: boolean) => stageProgress(o.progress, label, total, unit, show);

interface Pool {
  /** Pool candidate -> index into EvalData.molecules, and back (-1: not in the pool). */
  members: number[];
  poolOf: Int32Array;
  graphs: HierGraph[];
  /** [pool, D] molecule vectors (stage 1). */
  vectors: Tensor;
  /** Molecules of the pool sources (not of the data) that could not be used. */
  unusable: number;
}

/**
 * Encodes every featurized molecule once (its global vector, which also finds any molecule the encoder
 * cannot take: it is marked unusable like an unparsable one); the rest are the pool.
 */
function encodePool(b: OrmaBundle, d: EvalData, size: number, o: EvaluateOptions): Pool {
  const usable = d.molecules.flatMap((m, i) => (m.graph ? [i] : []));
  const graphsOf = (ix: number[]) => ix.map((i) => d.molecules[i]!.graph!);
  const failed = new Map<number, string>(), dim = b.config.orma.dim;
  const progress = bar(o, 'eval encode', usable.length, 'molecules');
  const rows = encodeRows(dim, graphsOf(usable).map((g) => g.numAtoms), size,
    (ix) => b.model.encodeMolecules(batchGraphs(graphsOf(ix.map((i) => usable[i]!)))).molecule, failed, (n) => progress.tick(n), ATOMS_PER_BATCH);
  progress.finish();
  for (const [i, reason] of failed) Object.assign(d.molecules[usable[i]!]!, { graph: null, reason: `cannot be encoded: ${reason}` });
  const kept = usable.flatMap((_, i) => (failed.has(i) ? [] : [i]));
  const members = kept.map((i) => usable[i]!);
  const poolOf = new Int32Array(d.molecules.length).fill(-1);
  members.forEach((mi, c) => { poolOf[mi] = c; });
  const referenced = new Set(d.pairs.map((p) => d.keyIndex.get(p.key)!));
  const left = [...d.poolRejected.map((r) => `${r.file}:${r.line}: ${r.reason}`),
    ...d.molecules.flatMap((m, i) => (!m.graph && !referenced.has(i) ? [`${m.id} ${m.smiles}: ${m.reason}`] : []))];
  if (left.length) o.log?.(`pool: ${left.length} molecule(s) cannot be used and are left out, e.g. ${left.slice(0, 3).join('; ')}`);
  return { members, poolOf, graphs: graphsOf(members), vectors: rowsTensor(selectRows(rows, kept, dim), members.length, dim), unusable: left.length };
}

/** Rows the reader rejected, then pairs whose molecule is not in the pool (misses), by line. */
function skippedRows(d: EvalData, task: RankingTask): SkippedRow[] {
  const misses = d.pairs.flatMap((p, i) => (task.gold[i]! < 0 ? [{ row: p.line, reason: `field 'SMILES': ${d.molecules[d.keyIndex.get(p.key)!]!.reason} (scored as a miss)` }] : []));
  return [...d.rejected, ...misses].sort((x, y) => x.row - y.row);
}

interface Scoring {
  b: OrmaBundle; o: EvaluateOptions; task: RankingTask; ids: number[][]; sentences: Tensor; pool: Pool; size: number; owned: { dispose(): void }[];
  /** Every text's token and multi-token vectors (fused and rerank:K; `sentences` is their sentence tensor). */
  texts: EncodedTexts | null;
  /** The pairs the mode's score computed (global, fused: queries × pool; rerank:K: stage 2's fused pairs) and the seconds it took. */
  timing?: { pairs: number; seconds: number };
}

/** Both directions' outcomes under the score mode. */
function rank(mode: ScoreMode, s: Scoring): Ranking {
  const { b, o, task, ids, pool, size } = s;
  const byLength = ids.map((_, i) => i).sort((x, y) => ids[x]!.length - ids[y]!.length || x - y);
  // the fused score costs per pair: a few hundred texts against a large pool already take minutes
  const progress = bar(o, 'eval score', ids.length, 'texts', mode.kind === 'fused' ? ids.length * pool.members.length >= 20_000 : ids.length >= 500);
  const opts = { order: byLength, blockSize: size, onTexts: (n: number) => progress.tick(n) };
  if (mode.kind === 'fused') {
    const m = encodeMolecules(b, pool.graphs, { batchSize: size, atomBudget: ATOMS_PER_BATCH });
    const scorer = new PoolScorer(b.model, s.texts!, m);
    emptyCache();  // the molecule encoder's idle blocks: the scoring needs far less
    s.owned.push({ dispose: () => { scorer.dispose(); disposeEncoded(m); } });
    const t0 = performance.now();
    const r = rankBothDirections(task, fusedScorer(scorer, pool.members.length), opts);
    progress.finish();
    s.timing = { pairs: ids.length * pool.members.length, seconds: (performance.now() - t0) / 1000 };
    return r;
  }
  const t0 = performance.now();
  const first = rankBothDirections(task, globalScorer(b, s.sentences, pool.vectors), { ...opts, keepTop: mode.kind === 'rerank' ? mode.k : 0 });
  progress.finish();
  s.timing = { pairs: ids.length * pool.members.length, seconds: (performance.now() - t0) / 1000 };
  return mode.kind === 'rerank' ? rerank(s, first, mode.k) : first;
}

/** Evaluates a model on a pair file; see the file header and docs/evaluation.md. Throws EvalError for bad input. */
export async function evaluate(o: EvaluateOptions): Promise<EvaluationReport> {
  const t0 = performance.now();
  const mode = typeof o.score === 'object' ? o.score : parseScoreMode(o.score ?? DEFAULT_SCORE);
  const size = o.batchSize ?? 64;
  if (!(Number.isInteger(size) && size >= 1)) throw new EvalError(`batch size must be a positive integer, got ${size}`);
  let b: OrmaBundle;
  try {
    b = typeof o.model === 'string' ? loadOrmaModel(o.model) : o.model;
  } catch (err) {
    throw new EvalError(`model: ${(err as Error).message}`);
  }
  const owned: { dispose(): void }[] = typeof o.model === 'string' ? [b.model] : [];
  const wasTraining = b.model.training;
  b.model.eval();  // no dropout; a model passed in mid-training is put back afterwards
  try {
    const f = b.config.featurizer;
    const d = await readEvalData({ data: o.data, pool: o.pool, featurizer: { noBricsFallback: f.noBricsFallback, downwardEdges: f.downwardEdges }, cacheDir: o.cacheDir, progress: o.progress });
    const pool = encodePool(b, d, size, o);
    owned.push(pool.vectors);
    const ids = tokenizeTexts(b, d.pairs.map((p) => p.text));
    const task = buildTask(d, ids, pool.poolOf);
    // the fused and reranked scores need every text's token vectors: one encoding gives them and the sentences
    // (the same batches as encodeRows, so the same sentence vectors)
    const texts = mode.kind === 'global' ? null : encodeTexts(b, ids, { batchSize: size, tokenBudget: TEXT_TOKENS_PER_BATCH });
    if (texts) owned.push({ dispose: () => disposeEncoded(texts) });
    const sentences = texts ? texts.sentence : rowsTensor(encodeRows(b.config.orma.dim, ids.map((x) => x.length), size,
      (ix) => b.model.encodeText(padSequences(ix.map((i) => ids[i]!), b.tokenizer.special.pad)).sentence, undefined, undefined, TEXT_TOKENS_PER_BATCH), ids.length, b.config.orma.dim);
    if (!texts) owned.push(sentences);
    emptyCache();  // the encoders' idle blocks (and glibc's free pages) go back to the system before scoring
    const scoring: Scoring = { b, o, task, ids, sentences, pool, size, owned, texts };
    const ranking = rank(mode, scoring);
    const timing = scoring.timing ?? { pairs: 0, seconds: 0 };
    const report: EvaluationReport = {
      data: o.data, pairs: d.pairs.length, pool: (o.pool?.length ? o.pool : ['split']).join(' + '), pool_size: pool.members.length,
      score: scoreModeName(mode), ties: 'against gold', merged_duplicates: d.mergedDuplicates, gold_added: d.goldAdded, pool_unusable: pool.unusable,
      text_to_molecule: direction(metricsFromOutcomes(ranking.textToMolecule)),
      molecule_to_text: direction(metricsFromOutcomes(ranking.moleculeToText)),
      skipped: skippedRows(d, task), scored_pairs: timing.pairs,
      pairs_per_second: timing.seconds > 0 ? Math.round(timing.pairs / timing.seconds) : 0, seconds: 0,
    };
    if (o.momu) report.momu = momu(b, task, sentences, pool.vectors);
    if (o.ranks) report.ranks = queryRanks(d, task, ranking);
    report.seconds = Math.round((performance.now() - t0) / 100) / 10;
    return report;
  } finally {
    b.model.train(wasTraining);
    for (const x of owned.reverse()) x.dispose();
  }
}

function queryRanks(d: EvalData, task: RankingTask, r: Ranking): NonNullable<EvaluationReport['ranks']> {
  const firstPair = new Int32Array(r.moleculeToText.length).fill(-1);
  task.query.forEach((q, i) => { if (firstPair[q]! < 0) firstPair[q] = i; });
  return {
    text_to_molecule: r.textToMolecule.map((x, i) => ({ line: d.pairs[i]!.line, rank: x.rank })),
    molecule_to_text: r.moleculeToText.map((x, q) => ({ line: d.pairs[firstPair[q]!]!.line, rank: x.rank })),
  };
}

/** Stage 2 of rerank:K: fine vectors for the candidates only, then each query's top K by the fused score. */
function rerank(s: Scoring, first: Ranking, K: number): Ranking {
  const { b, task, size } = s;
  const need = new Set<number>();
  for (const top of first.topMolecules!) if (top) for (const c of top) need.add(c);
  task.queryCandidate.forEach((c, q) => { if (c >= 0 && first.topTexts![q]) need.add(c); });
  const union = [...need].sort((x, y) => x - y), local = new Map(union.map((c, i) => [c, i]));
  const m = encodeMolecules(b, union.map((c) => s.pool.graphs[c]!), { batchSize: size, atomBudget: ATOMS_PER_BATCH });
  const scorer = new PoolScorer(b.model, s.texts!, m);
  emptyCache();
  s.owned.push({ dispose: () => { scorer.dispose(); disposeEncoded(m); } });
  const queries = first.textToMolecule.length + first.moleculeToText.length;
  const progress = bar(s.o, 'eval rerank', queries, 'queries', queries >= 200);
  let pairs = 0;
  const t0 = performance.now();
  const r = rerankTop(task, first, K, {
    textToMolecules: (i, cands) => { pairs += cands.length; return scorer.fusedArray([i], Array.from(cands, (c) => local.get(c)!)); },
    moleculeToTexts: (q, texts) => { pairs += texts.length; return scorer.fusedArray(Array.from(texts), [local.get(task.queryCandidate[q]!)!]); },
  }, () => progress.tick());
  progress.finish();
  s.timing = { pairs, seconds: (performance.now() - t0) / 1000 };
  return r;
}

/**
 * MoMu's protocol (GraphTextRetrieval, on PCdes): the pairs whose molecule is usable, in file order, each
 * its own candidate (no merging, one gold each); global score. Rec@20 over the whole set, and accuracy
 * within consecutive batches of 64 (unshuffled, the last partial batch kept). Ties count against the gold.
 */
function momu(b: OrmaBundle, task: RankingTask, sentences: Tensor, molecules: Tensor): MomuReport {
  const rows = Array.from(task.gold.keys()).filter((i) => task.gold[i]! >= 0);
  const n = rows.length;
  if (n === 0) throw new EvalError('momu: no pair has a usable molecule');
  const [sent, mols] = tidy(() => [keep(sentences.indexSelect(0, indexTensor(rows))), keep(molecules.indexSelect(0, indexTensor(rows.map((i) => task.gold[i]!))))]);
  // every pair is its own text -> molecule and molecule -> text query, with its own row as the one gold
  const ownRows = (identity: Int32Array): RankingTask => {
    const self = Int32Array.from(identity, (_, k) => k);
    return { gold: self, candidates: self.length, query: self, queryCandidate: self, identity };
  };
  try {
    const identity = Int32Array.from(rows, (i) => task.identity[i]!);
    const all = rankBothDirections(ownRows(identity), globalScorer(b, sent, mols), { blockSize: MOMU_BATCH });
    const inBatch: [QueryOutcome[], QueryOutcome[]] = [[], []];
    for (let s = 0; s < n; s += MOMU_BATCH) {
      const k = Math.min(MOMU_BATCH, n - s);
      const r = tidy(() => rankBothDirections(ownRows(identity.slice(s, s + k)), globalScorer(b, sent.narrow(0, s, k), mols.narrow(0, s, k)), { blockSize: k }));
      inBatch[0].push(...r.textToMolecule);
      inBatch[1].push(...r.moleculeToText);
    }
    const pct = (os: QueryOutcome[], k: number) => (100 * os.filter((x) => x.positions.some((p) => p <= k)).length) / os.length;
    return {
      pairs: n, left_out: task.gold.length - n, score: 'global', batch: MOMU_BATCH,
      text_to_molecule: { 'rec@20': pct(all.textToMolecule, MOMU_RECALL_AT), batch_accuracy: pct(inBatch[0], 1) },
      molecule_to_text: { 'rec@20': pct(all.moleculeToText, MOMU_RECALL_AT), batch_accuracy: pct(inBatch[1], 1) },
    };
  } finally {
    sent.dispose(); mols.dispose();
  }
}
