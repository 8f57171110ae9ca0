// `orma info`: what the engine runs on (libtorch threads, BLAS, devices, memory).
import { parseCommandArgs } from '../args.js';

const HELP = `usage: orma info [--json]

Prints the tensor engine's set-up: threads, the BLAS library libtorch loaded, CUDA availability
and allocator counters. Fails (exit 1) when libtorch runs on the slow reference BLAS.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, { json: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const t = await import('../../tensor/index.js');
  const info = { threads: t.getNumThreads(), blas: t.blasInfo(), cuda: t.cudaAvailable(), memory: t.memoryStats() };
  if (args.values.json) console.log(JSON.stringify(info));
  else {
    console.log(`threads  ${info.threads}`);
    console.log(`blas     ${info.blas.kind} (${info.blas.library})`);
    console.log(`cuda     ${info.cuda ? 'available' : 'not available'}`);
  }
  if (info.blas.kind === 'reference') {
    console.error('orma info: libtorch is using the reference BLAS (10-18x slower). Install OpenBLAS: sudo apt-get install -y libopenblas0-pthread');
    return 1;
  }
  return 0;
}
