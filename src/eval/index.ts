// The evaluation layer: retrieval metrics of a model on a pair file (`evaluate`, what `orma eval` runs),
// the ranking arithmetic under it, and the encode/score helpers training's validation uses.
// Protocols, pools, the tie rule and the report's format: docs/evaluation.md.
export { evaluate, parseScoreMode, scoreModeName, DEFAULT_SCORE, MOMU_BATCH, MOMU_RECALL_AT, type EvaluateOptions, type EvaluationReport, type DirectionReport, type MomuReport, type MomuDirection, type ScoreMode, type QueryRank } from './evaluate.js';
export { EvalError, readEvalData, CHEBI20_ALL_FILE, type EvalData, type EvalPair, type EvalMolecule, type PoolSource, type SkippedRow } from './pool.js';
export { rankBothDirections, rerankTop, type RankingTask, type BlockScorer, type FineScorer, type Ranking, type RankingOptions } from './ranking.js';
export { goldRanks, goldPositions, metricsFromRanks, metricsFromOutcomes, retrievalMetrics, outcome, type RankingMetrics, type RetrievalMetrics, type QueryOutcome } from './metrics.js';
export { hitsAtK, hitsCurvesSvg, type RankSeries } from './plot.js';
export { encodeTexts, encodeMolecules, disposeEncoded, tokenizeTexts, globalScoreMatrix, fusedScores, rankPairs, type EncodedTexts, type EncodedMolecules, type RetrievalResult } from './retrieval.js';
