// The tensor engine's public face.
export { Tensor, type Scalar, type Reduction } from './tensor.js';
export { parseDevice, type Device } from './device.js';
export { type DType, DTYPES, isFloating, BYTES_PER_ELEMENT, type AnyTypedArray } from './dtype.js';
export { tidy, keep, dispose, liveTensorCount } from './scope.js';
export { zeros, ones, empty, full, arange, eye, randn, rand, randint, randperm, tensor, scalar, setDefaultDtype, getDefaultDtype, type CreateOptions } from './create.js';
export * from './functional.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { Adam, AdamW, clipGradNorm, type ParamGroup, type AdamOptions, type OptimizerState } from './optim.js';
export { LRScheduler, linearWarmupDecay, cosineWithWarmup, constant, type Schedule } from './schedule.js';
export { ipotKernel } from './transport.js';
export { groupedPoolWeights } from './grouped.js';
export { profile, summarizeTrace, type OpTime, type Profile } from './profiler.js';
export { poolLanes, ipotKernelLanes, localPoolScores, midPoolScores, midAssignments, type MidPoolOptions } from './pool.js';
export { localPairScores, midPairScores } from './fine.js';
export { saveSafetensors, loadSafetensors, type SafetensorsFile } from './safetensors.js';
export { loadTorchCheckpoint, isTorchCheckpoint, type TorchCheckpoint, type SkippedEntry } from './torch-checkpoint.js';
export { setNumThreads, getNumThreads, setBlasThreads, getBlasThreads, manualSeed, cudaAvailable, memoryStats, emptyCache, setAllocatorCacheLimit, releaseFreedBlocks, blasInfo, assertFastBlas, type MemoryStats, type BlasInfo } from './runtime.js';
