// Loads the libtorch addon and describes its exports. Everything here works on integer handles;
// src/tensor/tensor.ts wraps them in the Tensor class. Nothing outside src/tensor imports this file.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

type H = number;
type Pair = [H, H];

export interface NativeEngine {
  // runtime
  free(h: H): void;
  freeMany(hs: H[]): void;
  liveTensors(): number;
  /** Reports the net change of tensor memory since the last call to V8. */
  flushExternalMemory(): void;
  /** libtorch's intra-op threads and every loaded OpenBLAS's pool; returns the OpenBLAS libraries set. */
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /** Every loaded OpenBLAS's own pool alone; returns the libraries set. */
  setOpenBlasThreads(n: number): number;
  /** The loaded OpenBLAS's own thread count (-1 when none is loaded). */
  openBlasThreads(): number;
  manualSeed(seed: number): void;
  parallelInfo(): string;
  /** The loaded OpenBLAS's kernel family ('' if none is loaded). */
  blasCoreName(): string;
  cudaAvailable(): boolean;
  allocatorStats(): { allocatedBytes: number; cachedBytes: number; peakBytes: number; cacheHits: number; cacheMisses: number };
  emptyCache(): void;
  setCacheLimit(bytes: number): void;
  /** allocator.cc: glibc's mmap threshold fixed at 64 KiB (true when glibc took it). */
  releaseFreedBlocks(): boolean;
  // creation and metadata
  fromArray(data: ArrayBufferView, shape: number[], dtype: number, device?: string): H;
  toArray(h: H): ArrayBuffer;
  shape(h: H): number[];
  dtype(h: H): number;
  device(h: H): string;
  numel(h: H): number;
  item(h: H): number;
  isContiguous(h: H): boolean;
  zeros(shape: number[], dtype: number, device?: string): H;
  ones(shape: number[], dtype: number, device?: string): H;
  empty(shape: number[], dtype: number, device?: string): H;
  full(shape: number[], value: number, dtype: number, device?: string): H;
  arange(start: number, end: number, step: number, dtype: number, device?: string): H;
  eye(n: number, dtype: number, device?: string): H;
  randn(shape: number[], dtype: number, device?: string): H;
  rand(shape: number[], dtype: number, device?: string): H;
  randint(low: number, high: number, shape: number[], dtype: number, device?: string): H;
  randperm(n: number, dtype: number, device?: string): H;
  normal_(h: H, mean: number, std: number): void;
  uniform_(h: H, low: number, high: number): void;
  fill_(h: H, value: number): void;
  copy_(dst: H, src: H): void;
  to(h: H, dtype: number, device: string): H;
  /** Moves h's data to `device` in place (same handle). */
  moveTo(h: H, device: string): void;
  // views
  reshape(h: H, shape: number[]): H;
  view(h: H, shape: number[]): H;
  transpose(h: H, d0: number, d1: number): H;
  permute(h: H, dims: number[]): H;
  narrow(h: H, dim: number, start: number, length: number): H;
  slice(h: H, dim: number, start: number, end: number, step: number): H;
  select(h: H, dim: number, index: number): H;
  unsqueeze(h: H, dim: number): H;
  squeeze(h: H, dim: number): H;
  flatten(h: H, start: number, end: number): H;
  expand(h: H, shape: number[]): H;
  contiguous(h: H): H;
  clone(h: H): H;
  cat(hs: H[], dim: number): H;
  stack(hs: H[], dim: number): H;
  split(h: H, sizes: number[], dim: number): H[];
  tril(h: H, diagonal: number): H;
  // indexing
  indexSelect(h: H, dim: number, index: H): H;
  gather(h: H, dim: number, index: H): H;
  maskedFill(h: H, mask: H, value: number): H;
  where(cond: H, a: H, b: H): H;
  scatterAdd(h: H, dim: number, index: H, src: H): H;
  indexAdd(h: H, dim: number, index: H, src: H): H;
  scatterReduce(h: H, dim: number, index: H, src: H, reduce: string, includeSelf: boolean): H;
  maskedSelect(h: H, mask: H): H;
  nonzero(h: H): H;
  topk(h: H, k: number, dim: number, largest: boolean): Pair;
  sort(h: H, dim: number, descending: boolean): Pair;
  argsort(h: H, dim: number, descending: boolean): H;
  oneHot(h: H, numClasses: number): H;
  // math
  add(a: H, b: H, alpha: number): H;
  sub(a: H, b: H, alpha: number): H;
  mul(a: H, b: H): H;
  div(a: H, b: H): H;
  pow(a: H, b: H): H;
  maximum(a: H, b: H): H;
  minimum(a: H, b: H): H;
  addScalar(a: H, s: number): H;
  mulScalar(a: H, s: number): H;
  divScalar(a: H, s: number): H;
  powScalar(a: H, s: number): H;
  rsubScalar(a: H, s: number): H;
  matmul(a: H, b: H): H;
  bmm(a: H, b: H): H;
  linear(x: H, w: H, b: H): H;
  einsum(eq: string, hs: H[]): H;
  clamp(h: H, min: number | null, max: number | null): H;
  compare(a: H, b: H | number, code: number, bIsScalar: boolean): H;
  logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H;
  logicalNot(a: H): H;
  unary(h: H, code: number): H;
  // reductions
  sum(h: H, dims: number[], keepdim: boolean): H;
  sumAll(h: H): H;
  mean(h: H, dims: number[], keepdim: boolean): H;
  meanAll(h: H): H;
  maxDim(h: H, dim: number, keepdim: boolean): Pair;
  minDim(h: H, dim: number, keepdim: boolean): Pair;
  maxAll(h: H): H;
  minAll(h: H): H;
  argmax(h: H, dim: number, keepdim: boolean): H;
  argmin(h: H, dim: number, keepdim: boolean): H;
  logsumexp(h: H, dims: number[], keepdim: boolean): H;
  norm(h: H, p: number, dims: number[], keepdim: boolean): H;
  var(h: H, dims: number[], correction: number, keepdim: boolean): H;
  cumsum(h: H, dim: number): H;
  any(h: H): H;
  all(h: H): H;
  // nn functions
  softmax(h: H, dim: number): H;
  logSoftmax(h: H, dim: number): H;
  layerNorm(h: H, shape: number[], weight: H, bias: H, eps: number): H;
  /** 0 with probability p, else 1/(1-p), shaped and typed as h (dropout.cc). */
  dropoutMask(h: H, p: number): H;
  embedding(weight: H, index: H, paddingIdx: number): H;
  crossEntropy(logits: H, target: H, ignoreIndex: number, labelSmoothing: number, reduction: number, weight: H): H;
  nllLoss(logp: H, target: H, ignoreIndex: number, reduction: number, weight: H): H;
  mseLoss(a: H, b: H, reduction: number): H;
  normalize(h: H, p: number, dim: number, eps: number): H;
  // autograd
  setRequiresGrad(h: H, on: boolean): void;
  requiresGrad(h: H): boolean;
  isLeaf(h: H): boolean;
  backward(h: H, grad: H, retainGraph: boolean): void;
  grad(h: H): H;
  zeroGrad(hs: H[]): void;
  detach(h: H): H;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  // optimizers
  adamStep(params: H[], expAvg: H[], expAvgSq: H[], steps: number[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean): void;
  clipGradNorm(params: H[], maxNorm: number): number;
  /** The addon's code tables ({name: code}); codeTable() below builds the TypeScript tables from them. */
  codes(): CodeTables;
  // optimal transport (ot.cc)
  ipotPlan(cost: H, a: H, b: H, beta: number, iterations: number): H;
  // the grouped score's pooled key weights, with their backward (grouped.cc)
  groupedPoolWeights(sim: H, gram: H, index: H, qm: H, km: H): H;
  // pool scoring (pool.cc)
  ipotPlanLanes(cost: H, a: H, b: H, beta: number, iterations: number, lanes: number): H;
  localPoolScores(sim: H, rowOffsets: H, colOffsets: H, keys: H, grams: H, gramOffsets: H, u: H, cosine: boolean): H;
  midPoolScores(cosT: H, rowOffsets: H, colOffsets: H, tokens: H, motifs: H, grams: H, gramOffsets: H, beta: number, iterations: number, argmin: boolean, tieTolerance: number, cosine: boolean, lanes: number): H;
  poolLanes(): number;
  midAssignments(cosT: H, rowOffsets: H, colOffsets: H, beta: number, iterations: number, argmin: boolean, tieTolerance: number, lanes: number): H;
  // the mid grain after its assignments, with its backward (mid.cc)
  midPairScores(tokens: H, motifs: H, rowOffsets: H, colOffsets: H, assign: H, cosine: boolean): H;
  // the local grain after its similarity GEMM, with its backward (local.cc)
  localPairScores(sim: H, keys: H, u: H, rowOffsets: H, colOffsets: H, cosine: boolean): H;
  // op profiling (profiler.cc): libtorch's profiler on this thread, its Chrome trace written to `path` at stop
  profilerStart(path: string): void;
  profilerStop(): void;
}

/** The numeric codes the addon's ops take, by name: dtypes, `unary` ops and `compare` ops. */
export interface CodeTables {
  unary: Record<string, number>;
  dtype: Record<string, number>;
  compare: Record<string, number>;
}

function addonPath(): string {
  const fromEnv = process.env.ORMA_NATIVE_ADDON;
  if (fromEnv) return fromEnv;
  return fileURLToPath(new URL('../../../build/orma_native.node', import.meta.url));
}

function load(): NativeEngine {
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(`orma's libtorch addon is not built (${path} is missing). Run \`npm run setup\` or \`npm run build:addon\`.`);
  }
  // libgomp (libtorch's intra-op pool) spin-waits by default. When the 2 cores are shared with any
  // other process (the test runner runs 2 files at once, a data loader, another job), a parallel
  // region waits a whole scheduler slice for a descheduled spinning worker (measurements:
  // docs/engine.md, "Threads"). PASSIVE workers sleep instead. libgomp reads this when it is loaded,
  // so set it before the addon loads.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  const engine = createRequire(import.meta.url)(path) as NativeEngine;
  // libtorch defaults to one thread per *physical* core, which is 1 on our 2-vCPU machines;
  // use every CPU the process may run on unless ORMA_NUM_THREADS says otherwise.
  const threads = Number(process.env.ORMA_NUM_THREADS ?? availableParallelism());
  if (Number.isInteger(threads) && threads > 0) engine.setNumThreads(threads);
  return engine;
}

export const native: NativeEngine = load();

const CODES: CodeTables = (() => {
  if (typeof native.codes !== 'function') {
    throw new Error(`orma's libtorch addon (${addonPath()}) is older than its TypeScript (it has no codes()); run \`npm run build:addon\`.`);
  }
  return native.codes();
})();

/**
 * The codes of `names` in one of the addon's tables, which are the only definition of the codes (an
 * index into a C++ table). A name on one side only means the addon and the TypeScript were built from
 * other versions: that fails here, when the addon loads, rather than calling the wrong op later.
 */
export function codeTable<N extends string>(table: keyof CodeTables, names: readonly N[]): Readonly<Record<N, number>> {
  const fromAddon = CODES[table];
  const missing = names.filter((n) => !Object.hasOwn(fromAddon, n));
  const extra = Object.keys(fromAddon).filter((n) => !names.includes(n as N));
  if (missing.length || extra.length) {
    throw new Error(`orma's libtorch addon and src/tensor disagree on the ${table} codes (only in TypeScript: ${missing.join(', ') || 'none'}; only in the addon: ${extra.join(', ') || 'none'}); run \`npm run build:addon\` or update the TypeScript table`);
  }
  return Object.freeze(Object.fromEntries(names.map((n) => [n, fromAddon[n]!]))) as Record<N, number>;
}

/** Codes of the native `unary` op (kUnary in native/src/ops.cc). */
export const UNARY = codeTable('unary', [
  'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'neg', 'relu', 'gelu', 'tanh', 'sigmoid', 'sign', 'floor', 'reciprocal',
  'sin', 'cos', 'log1p', 'square', 'geluTanh', 'isnan', 'ceil', 'round', 'isfinite',
] as const);

/** Codes of the native `compare` op (kCompare in native/src/ops.cc). */
export const COMPARE = codeTable('compare', ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const);
