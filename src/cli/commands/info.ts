// `orma info`: what the engine runs on (libtorch threads, BLAS and its kernels, devices, memory).
import { readFileSync } from 'node:fs';
import { parseCommandArgs } from '../args.js';

/** OpenBLAS kernel families that use AVX-512. */
const AVX512_CORES = /^(SkylakeX|Cooperlake|SapphireRapids)$/i;

/** Whether this CPU has AVX-512F (Linux /proc/cpuinfo; false elsewhere). */
function hasAvx512(): boolean {
  try { return /^flags\s*:.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')); } catch { return false; }
}

/** The advice for an AVX-512 CPU running OpenBLAS's AVX2 kernels (measured: docs/engine.md, "AVX-512"). */
export function blasAdvice(core: string | null, avx512: boolean): string | null {
  if (!core || !avx512 || AVX512_CORES.test(core)) return null;
  return `this CPU has AVX-512 but OpenBLAS runs its ${core} kernels${process.env.OPENBLAS_CORETYPE ? ` (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE})` : ''}: `
    + 'OPENBLAS_CORETYPE=SkylakeX made an ORMA training step 1.5x faster on an AMD EPYC (docs/engine.md, "AVX-512")';
}

const HELP = `usage: orma info [--json]

Prints the tensor engine's set-up: threads, the BLAS library libtorch loaded and its kernels (with a
hint when an AVX-512 CPU runs AVX2 kernels), CUDA availability and allocator counters. Fails (exit 1) when libtorch runs on the slow reference BLAS.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, { json: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const t = await import('../../tensor/index.js');
  const blas = t.blasInfo(), avx512 = hasAvx512();
  const info = { threads: t.getNumThreads(), blasThreads: t.getBlasThreads(), blas, avx512, hint: blasAdvice(blas.core, avx512), cuda: t.cudaAvailable(), memory: t.memoryStats() };
  if (args.values.json) console.log(JSON.stringify(info));
  else {
    console.log(`threads  ${info.threads}${info.blasThreads !== null ? ` (OpenBLAS ${info.blasThreads})` : ''}`);
    console.log(`blas     ${blas.kind} (${blas.library})${blas.core ? `, ${blas.core} kernels` : ''}`);
    console.log(`cuda     ${info.cuda ? 'available' : 'not available'}`);
    if (info.hint) console.log(`hint     ${info.hint}`);
  }
  if (info.blas.kind === 'reference') {
    console.error('orma info: libtorch is using the reference BLAS (10-18x slower). Install OpenBLAS: sudo apt-get install -y libopenblas0-pthread');
    return 1;
  }
  return 0;
}
