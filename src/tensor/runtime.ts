// Engine-wide settings and facts: threads, seeds, memory, BLAS and devices.
import { readFileSync, realpathSync } from 'node:fs';
import { native } from './native.js';

/** libtorch's intra-op threads, and the loaded OpenBLAS's own pool (which libtorch's setting does not reach). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** OpenBLAS's own pool alone (setNumThreads sets it too), to measure other set-ups; false without OpenBLAS. */
export function setBlasThreads(n: number): boolean {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setBlasThreads: expected a positive integer, got ${n}`);
  return native.setOpenBlasThreads(n) > 0;
}
/** The loaded OpenBLAS's thread count, or null without OpenBLAS. */
export function getBlasThreads(): number | null {
  const n = native.openBlasThreads();
  return n < 0 ? null : n;
}
/** Seeds libtorch's global generator (randn, rand, dropout, randperm). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}

export interface MemoryStats {
  liveTensors: number;
  allocatedBytes: number;
  cachedBytes: number;
  peakBytes: number;
  cacheHits: number;
  cacheMisses: number;
}
/** Live tensors and the caching allocator's counters (large blocks only). */
export function memoryStats(): MemoryStats {
  return { liveTensors: native.liveTensors(), ...native.allocatorStats() };
}
/** Returns the allocator's idle blocks to the system. */
export function emptyCache(): void {
  native.emptyCache();
}
/**
 * Caps the caching allocator's idle blocks at `bytes` (its own bound is twice the peak in use, at most 8 GiB;
 * the environment's ORMA_ALLOCATOR_CACHE_BYTES sets this cap at start-up), trimming at once if above it.
 */
export function setAllocatorCacheLimit(bytes: number): void {
  native.setCacheLimit(bytes);
}
/**
 * From now on, large blocks freed past the allocator's cache go back to the system at once (glibc's mmap
 * threshold fixed at 64 KiB; its dynamic one keeps freed blocks of up to 32 MB in its heaps, so the RSS stays
 * at its high-water mark). For long single-purpose processes such as `orma eval`; returns false if glibc refused.
 */
export function releaseFreedBlocks(): boolean {
  return native.releaseFreedBlocks();
}

export interface BlasInfo {
  /** The BLAS library file libtorch resolved at run time. */
  library: string;
  kind: 'openblas' | 'reference' | 'mkl' | 'blis' | 'unknown';
  /**
   * OpenBLAS's kernel family (`Haswell`, `SkylakeX`, …: what OPENBLAS_CORETYPE or its CPU detection chose);
   * null for other libraries. On AVX-512 CPUs SkylakeX kernels are much faster than Haswell's (docs/engine.md, "AVX-512").
   */
  core: string | null;
}

/** Which BLAS this process loaded. Debian resolves libblas.so.3 through alternatives: the reference BLAS is far slower (docs/engine.md, "BLAS"). */
export function blasInfo(): BlasInfo {
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return { library: 'unknown (no /proc/self/maps)', kind: 'unknown', core: null };
  }
  const libs = [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => /lib(open)?blas|libmkl|libblis/.test(p)))];
  const lib = libs.find((p) => /blas|mkl|blis/.test(p)) ?? '';
  if (!lib) return { library: 'none found', kind: 'unknown', core: null };
  let real = lib;
  try { real = realpathSync(lib); } catch { /* keep the mapped name */ }
  const all = libs.join(' ');
  const kind = /openblas/.test(all) ? 'openblas' : /mkl/.test(all) ? 'mkl' : /blis/.test(all) ? 'blis' : /\/blas\/libblas|libblas\.so/.test(real) ? 'reference' : 'unknown';
  const core = kind === 'openblas' ? native.blasCoreName() || null : null;
  return { library: real, kind, core };
}

/** Throws when libtorch runs on the reference BLAS (the silent slowdown of docs/engine.md, "BLAS"). */
export function assertFastBlas(): void {
  const info = blasInfo();
  if (info.kind === 'reference') {
    throw new Error(`libtorch is using the reference BLAS (${info.library}), 10-18x slower than OpenBLAS. Install it: sudo apt-get install -y libopenblas0-pthread`);
  }
}
