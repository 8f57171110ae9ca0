// Facts about the machine and engine that every benchmark prints with its numbers.
import { blasInfo, getBlasThreads, getNumThreads } from '../src/tensor/index.js';
import { hostInfo } from './stats.js';

export function machineInfo(): Record<string, unknown> {
  return {
    ...hostInfo(),
    torch_threads: getNumThreads(),
    blas_threads: getBlasThreads(),
    blas: blasInfo(),
    env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'LD_PRELOAD', 'ORMA_CACHING_ALLOCATOR', 'ORMA_NUM_THREADS']
      .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
  };
}
