// Facts about the machine and engine that every benchmark prints with its numbers.
import os from 'node:os';
import { blasInfo, getNumThreads } from '../src/tensor/index.js';

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    torch_threads: getNumThreads(),
    blas: blasInfo(),
    env: Object.fromEntries(['OPENBLAS_CORETYPE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'LD_PRELOAD', 'ORMA_CACHING_ALLOCATOR', 'ORMA_NUM_THREADS']
      .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
  };
}

/** Median of the timings of `fn` over `reps` runs after `warmup` runs, in milliseconds. */
export function timeMedian(fn: () => void, reps: number, warmup = 1): { median_ms: number; min_ms: number; runs: number } {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median_ms: times[Math.floor(times.length / 2)]!, min_ms: times[0]!, runs: reps };
}
