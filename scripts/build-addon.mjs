// Builds the libtorch N-API addon (native/src/*.cc -> build/orma_native.node) with g++.
//
// Against Debian's libtorch (`libtorch-dev`) by default; set LIBTORCH=/path/to/libtorch to build
// against another distribution (for example an upstream CUDA build). Objects are rebuilt only when
// a source, a header or the flags change. Compiles two files at a time (our machines have 2 cores).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import os from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native', 'src');
const outDir = join(root, 'build');
const objDir = join(outDir, 'obj');
const target = join(outDir, 'orma_native.node');

function fail(msg) {
  console.error(`build-addon: ${msg}`);
  process.exit(1);
}

function nodeIncludeDir() {
  const candidates = [join(process.config.variables.node_prefix ?? '/usr', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  const dir = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!dir) fail(`Node's headers (node_api.h) not found in ${candidates.join(', ')}`);
  return dir;
}

function torchFlags() {
  const lt = process.env.LIBTORCH;
  if (lt) {
    if (!existsSync(join(lt, 'include', 'ATen', 'ATen.h'))) fail(`LIBTORCH=${lt} has no include/ATen/ATen.h`);
    const lib = join(lt, 'lib');
    const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
    // A CUDA build registers its kernels from libtorch_cuda at load time: link it even though no symbol is used.
    if (existsSync(join(lib, 'libtorch_cuda.so'))) libs.unshift('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
    const abi = process.env.ORMA_CXX11_ABI === '0' ? ['-D_GLIBCXX_USE_CXX11_ABI=0'] : [];
    return {
      cflags: [`-I${join(lt, 'include')}`, `-I${join(lt, 'include', 'torch', 'csrc', 'api', 'include')}`, ...abi],
      ldflags: [`-L${lib}`, `-Wl,-rpath,${lib}`, ...libs],
    };
  }
  if (!existsSync('/usr/include/ATen/ATen.h')) {
    fail('libtorch headers not found. Install them with:\n  sudo apt-get install -y libtorch-dev libopenblas0-pthread\nor set LIBTORCH=/path/to/libtorch');
  }
  return { cflags: ['-I/usr/include/torch/csrc/api/include'], ldflags: ['-ltorch', '-ltorch_cpu', '-lc10'] };
}

const require = createRequire(import.meta.url);
const napiInclude = dirname(require.resolve('node-addon-api/package.json'));
const torch = torchFlags();
// -fopenmp: Debian's libtorch is built with OpenMP (ATen/Config.h AT_PARALLEL_OPENMP), and at::parallel_for is a
// header template whose `#pragma omp parallel` is ignored without it: every parallel_for of ours ran on one thread
const cflags = [
  '-std=c++17', '-O2', '-fopenmp', '-fPIC', '-fexceptions', '-frtti', '-Wall', '-Wno-unused-parameter', '-Wno-unused-variable',
  '-DNAPI_VERSION=8', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${nodeIncludeDir()}`, `-I${napiInclude}`, ...torch.cflags,
];
const ldflags = ['-shared', '-fopenmp', ...torch.ldflags, '-lpthread'];
const flagHash = createHash('sha256').update(JSON.stringify([cflags, ldflags])).digest('hex').slice(0, 16);

mkdirSync(objDir, { recursive: true });
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.cc')).sort();
const headers = readdirSync(srcDir).filter((f) => f.endsWith('.h')).map((f) => join(srcDir, f));
const newestHeader = Math.max(0, ...headers.map((h) => statSync(h).mtimeMs));
const stampFile = join(objDir, 'flags');
const flagsChanged = !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== flagHash;

const jobs = sources.map((s) => ({ src: join(srcDir, s), obj: join(objDir, s.replace(/\.cc$/, '.o')) }))
  .filter(({ src, obj }) => flagsChanged || !existsSync(obj) || statSync(obj).mtimeMs < Math.max(statSync(src).mtimeMs, newestHeader));

function compile({ src, obj }) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('g++', [...cflags, '-c', src, '-o', obj + '.tmp'], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`g++ failed on ${src}`));
      renameSync(obj + '.tmp', obj);
      console.error(`build-addon: compiled ${src.slice(root.length + 1)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      resolve();
    });
  });
}

const parallel = Math.max(1, Math.min(os.availableParallelism?.() ?? 2, 4));
const queue = [...jobs];
try {
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (queue.length) await compile(queue.shift());
  }));
} catch (err) {
  fail(err.message);
}
writeFileSync(stampFile, flagHash);

const objs = sources.map((s) => join(objDir, s.replace(/\.cc$/, '.o')));
const newestObj = Math.max(...objs.map((o) => statSync(o).mtimeMs));
if (jobs.length || !existsSync(target) || statSync(target).mtimeMs < newestObj) {
  execFileSync('g++', [...objs, '-o', target + '.tmp', ...ldflags], { stdio: 'inherit' });
  renameSync(target + '.tmp', target);
  console.error(`build-addon: linked ${target.slice(root.length + 1)}`);
} else {
  console.error('build-addon: up to date');
}
