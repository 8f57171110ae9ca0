// Search latency: stage 1 (exact top-k over N synthetic unit vectors of the model's dimension, float16
// and float32, one query at a time) and, with a model, stage 2 (the fused score on the top K) and the
// whole searchMolecules call. Prints one JSON object.
//   node dist/bench/search.js [--n 1000000] [--dim 256] [--queries 50] [--k 10] [--model DIR] [--library default]
// --library default: the model over the shipped 33k ChEBI-20 libraries (index build timed, then both directions).
// Stage 1 is exact, so its recall@10 against exact search is 1 by construction (reported as measured).
// searchTexts with rerank reads its candidates from the text index's token cache (built with the index;
// its size is reported); searchTexts_rerank50_encoding is the same search encoding the candidates instead.
// The temporary index folder is removed at the end (the default texts' token cache alone is ~3.5 GiB).
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { noGrad, normalize, randn, setNumThreads, tidy, manualSeed } from '../src/tensor/index.js';
import { exactTopK } from '../src/search/exact.js';
import { OrmaSearch } from '../src/search/index.js';
import { cpuWindow, hostInfo, percentile } from './stats.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, dim: { type: 'string' }, queries: { type: 'string' }, k: { type: 'string' }, model: { type: 'string' }, threads: { type: 'string' }, library: { type: 'string' } } });
const N = Number(values.n ?? 1_000_000), D = Number(values.dim ?? 256), Q = Number(values.queries ?? 50), k = Number(values.k ?? 10);
if (values.threads) setNumThreads(Number(values.threads));
manualSeed(0);
const stats = (t: number[]) => ({ p50_ms: +percentile(t, 50).toFixed(3), p95_ms: +percentile(t, 95).toFixed(3) });
const cpu = cpuWindow();
const out: Record<string, unknown> = { host: hostInfo(), n: N, dim: D, queries: Q, k };

for (const dtype of ['float32', 'float16'] as const) {
  const matrix = noGrad(() => tidy(() => normalize(randn([N, D]), -1).to(dtype)));
  const queries = noGrad(() => tidy(() => normalize(randn([Q, D]), -1).toArray() as Float32Array));
  const times: number[] = [];
  let reference: number[][] = [];
  for (let q = 0; q < Q; q++) {
    const v = queries.subarray(q * D, (q + 1) * D);
    const t0 = performance.now();
    const top = exactTopK(matrix, v, k);
    times.push(performance.now() - t0);
    reference.push(top.rows);
  }
  // recall@k of the blocked search against one unblocked float32 product (the exact answer)
  let found = 0;
  if (N * D <= 1 << 27) {
    const wide = noGrad(() => tidy(() => matrix.to('float32')));
    for (let q = 0; q < Q; q++) {
      const exact = new Set(exactTopK(wide, queries.subarray(q * D, (q + 1) * D), k, { blockRows: N }).rows);
      found += reference[q]!.filter((r) => exact.has(r)).length;
    }
    wide.dispose();
    out[`stage1_${dtype}_recall_at_${k}`] = found / (Q * k);
  }
  reference = [];
  out[`stage1_${dtype}`] = stats(times.slice(1));
  matrix.dispose();
}

if (values.model) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const shipped = values.library === 'default';
  const libraries = shipped ? {} : { molecules: join(root, 'test/fixtures/search/molecules.tsv'), texts: join(root, 'test/fixtures/search/texts.tsv') };
  const t0 = performance.now();
  const indexDir = join(tmpdir(), `orma-bench-index-${process.pid}`);
  // lazy: the two indexes are built (and timed) one by one below, not inside load()
  const s = await OrmaSearch.load({ model: values.model, indexDir, ...libraries, lazy: true });
  await s.moleculeIndex();
  const t1 = performance.now();
  const texts = await s.textIndex();
  out.index_build_seconds = { molecules: +((t1 - t0) / 1000).toFixed(1), texts: +((performance.now() - t1) / 1000).toFixed(1) };
  out.token_cache = texts.tokens ? { bytes: texts.tokens.summary.bytes, texts: texts.tokens.summary.texts, tokens: texts.tokens.summary.tokens } : null;
  const queries = ['The molecule is a carboxylic ester.', 'An aromatic amine with a role as a metabolite.', 'The molecule is a steroid.'];
  const smiles = ['CC(O)C(=O)[O-]', 'c1ccc2ccccc2c1', 'CC(=O)Oc1ccccc1C(=O)O'];
  /** p50/p95 of 3 rounds over the inputs, the first call (warm-up) left out. */
  const timed = async (inputs: string[], search: (x: string) => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 3 * inputs.length; i++) {
      const t0 = performance.now();
      await search(inputs[i % inputs.length]!);
      times.push(performance.now() - t0);
    }
    return stats(times.slice(1));
  };
  for (const rerank of [0, 50]) out[`searchTexts_rerank${rerank}`] = await timed(smiles, (x) => s.searchTexts(x, { k, rerank }));
  for (const rerank of [0, 50]) out[`searchMolecules_rerank${rerank}`] = await timed(queries, (x) => s.searchMolecules(x, { k, rerank }));
  s.close();
  const encoding = await OrmaSearch.load({ model: values.model, indexDir, ...libraries, lazy: true, tokenCache: 'off' });
  await encoding.textIndex();
  out.searchTexts_rerank50_encoding = await timed(smiles, (x) => encoding.searchTexts(x, { k, rerank: 50 }));
  encoding.close();
  rmSync(indexDir, { recursive: true, force: true });
}
out.other_cpu = cpu();
console.log(JSON.stringify(out));
