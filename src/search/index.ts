// The search API: load a model directory, then search molecule and text libraries, explain a pair,
// embed texts and molecules. See README "Search" and examples/search.ts.
export { OrmaSearch, DEFAULT_MODEL_DIR, DEFAULT_K, DEFAULT_RERANK, MAX_K, defaultIndexDir, type MoleculeHit, type TextHit, type SearchOptions, type LoadOptions, type Grains } from './search.js';
export type { Explanation } from './explain.js';
export { SearchError } from './errors.js';
export { readMoleculeLibrary, readTextLibrary, libraryKind, DEFAULT_MOLECULE_LIBRARY, DEFAULT_TEXT_LIBRARY, type MoleculeEntry, type TextEntry, type Library } from './library.js';
export { openIndex, openStage1, modelFingerprint, indexKey, indexDir, defaultStore, EXACT_MAX_ROWS, type IndexManifest, type VectorIndex, type Stage1Index, type StoreDtype, type StoreKind, type StoreChoice, type TokenCacheMode, type OpenStage1Options } from './store.js';
export { TokenCache, TokenCacheWriter, tokenCacheBytes, TOKEN_CACHE_FORMAT, TOKEN_CACHE_VERSION, type TokenCacheHeader, type TokenCacheIdentity, type TokenCacheSummary, type CachedTexts, type RecordSink } from './token-cache.js';
export { LanceStore, StoreError, writeLanceStore, readLanceManifest, annParams, ANN_MIN_ROWS, DEFAULT_ANN, type AnnChoice, type AnnType, type AnnParams, type AnnSearch, type LanceManifest, type VectorBatch, type TopRows, type StoreIdentity } from './lance.js';
export { exactTopK, type TopK } from './exact.js';
export { morganBits, MORGAN } from './chem.js';
export { indexShard, mergeShards, parseShard, shardChunks, shardStatus, readShardPlan, SHARDS_DIR, APPEND_ROWS, type ShardSpec, type ShardResult, type ShardProgress, type ShardOptions, type MergeOptions } from './shard.js';
