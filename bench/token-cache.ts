// How much storing the text side of stage 2 compactly moves the fused scores of `searchTexts`
// (src/search/token-cache.ts). For a sample of library texts and of molecules, every molecule's top-K
// texts by the global score are scored by the model's fused score on their text vectors kept four ways:
//   float32     encoded once, in length-sorted batches as `orma index` encodes them (the reference)
//   re-encoded  encoded again per query in rank order, as stage 2 without a cache does (the noise floor:
//               the same numbers up to float32 rounding of other batch shapes)
//   tokens float16, rest float32   what the token cache stores: the token vectors rounded to float16,
//               the sentence and multi-token vectors float32
//   float16     everything rounded to float16 (not taken: see below)
//   int8        each vector as int8 with its own float32 scale (absmax / 127), not taken either
// The mid grain assigns each multi-token to its argmax motif of the OT plan, a discontinuous choice:
// float16 multi-token vectors flip near-tied assignments, which moved fused scores by up to 1.1 logits and
// changed 3 of 30 top-10 lists with the default model, so the cache keeps those vectors float32.
// and compared with the reference: the largest score change per grain, and how many queries' top-k
// (ids in order, and as a set) change. Prints one JSON object.
//   node dist/bench/token-cache.js [--model DIR] [--texts 200] [--molecules 20] [--rerank 50] [--k 10] [--threads N]
import { parseArgs } from 'node:util';
import { noGrad, setNumThreads, tensor, tidy, type Tensor } from '../src/tensor/index.js';
import { loadOrmaModel } from '../src/model/factory.js';
import { initRDKit } from '../src/chem/rdkit.js';
import { buildHierGraph } from '../src/chem/index.js';
import { batchGraphs } from '../src/data/graph-batch.js';
import { padSequences } from '../src/text/padding.js';
import { readMoleculeLibrary, readTextLibrary, DEFAULT_MODEL_DIR } from '../src/search/index.js';
import { embedGraphs, embedTokenIds, tokenize } from '../src/search/embed.js';
import { machineInfo } from './machine.js';
import { cpuWindow } from './stats.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, texts: { type: 'string' }, molecules: { type: 'string' }, rerank: { type: 'string' }, k: { type: 'string' }, threads: { type: 'string' } } });
if (values.threads) setNumThreads(Number(values.threads));
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const T = Number(values.texts ?? 200), M = Number(values.molecules ?? 20), K = Number(values.rerank ?? 50), k = Number(values.k ?? 10);
const cpu = cpuWindow();
await initRDKit();
const b = loadOrmaModel(modelDir);
const D = b.config.orma.dim;
const texts = readTextLibrary().entries.slice(0, T);
const byId = new Map(readMoleculeLibrary().entries.map((e) => [e.id, e]));
const queries = texts.map((t) => byId.get(t.id)).filter((m) => m !== undefined).slice(0, M);
const ids = tokenize(b, texts.map((t) => t.text));

// the reference records, float32: [1 + 2n, D] (sentence, tokens, multi-tokens), from the index's own pass
const f32: Float32Array[] = new Array(T);
const sentences = embedTokenIds(b, ids);
noGrad(() => {
  for (let s = 0; s < T; s += 32) {
    tidy(() => {
      const batch = ids.slice(s, s + 32);
      const v = b.model.encodeText(padSequences(batch, b.tokenizer.special.pad));
      const L = v.tokens.size(1);
      const [sent, tok, multi] = [v.sentence, v.tokens, v.multiTokens].map((x) => x.contiguous().toArray() as Float32Array);
      batch.forEach((seq, r) => {
        const n = seq.length, rec = new Float32Array((1 + 2 * n) * D);
        rec.set(sent!.subarray(r * D, (r + 1) * D), 0);
        rec.set(tok!.subarray(r * L * D, (r * L + n) * D), D);
        rec.set(multi!.subarray(r * L * D, (r * L + n) * D), (1 + n) * D);
        f32[s + r] = rec;
      });
    });
  }
});

function toHalf(rec: Float32Array): Float32Array {
  return noGrad(() => tidy(() => tensor(rec, { shape: [rec.length] }).to('float16').to('float32').toArray() as Float32Array));
}
function toInt8(rec: Float32Array): Float32Array {
  const out = new Float32Array(rec.length);
  for (let r = 0; r < rec.length / D; r++) {
    let peak = 0;
    for (let d = 0; d < D; d++) peak = Math.max(peak, Math.abs(rec[r * D + d]!));
    const scale = Math.fround(peak / 127) || 1;
    for (let d = 0; d < D; d++) out[r * D + d] = Math.max(-127, Math.min(127, Math.round(rec[r * D + d]! / scale))) * scale;
  }
  return out;
}
/** The token cache's layout: the sentence and multi-token rows float32, the token rows float16. */
function mixed(rec: Float32Array): Float32Array {
  const n = (rec.length / D - 1) / 2, out = Float32Array.from(rec);
  out.set(toHalf(rec.subarray(D, (1 + n) * D)), D);
  return out;
}
const variants: Record<string, Float32Array[]> = { 'tokens float16, rest float32': f32.map(mixed), float16: f32.map(toHalf), int8: f32.map(toInt8) };

type Grains = { global: number[]; local: number[]; mid: number[]; fused: number[] };
function scoreRecords(recs: Float32Array[], graph: ReturnType<typeof buildHierGraph>): Grains {
  const n = recs.map((r) => (r.length / D - 1) / 2), L = Math.max(...n), C = recs.length;
  const sent = new Float32Array(C * D), tok = new Float32Array(C * L * D), multi = new Float32Array(C * L * D), mask = new Int32Array(C * L);
  recs.forEach((r, c) => {
    sent.set(r.subarray(0, D), c * D);
    tok.set(r.subarray(D, (1 + n[c]!) * D), c * L * D);
    multi.set(r.subarray((1 + n[c]!) * D), c * L * D);
    mask.fill(1, c * L, c * L + n[c]!);
  });
  return noGrad(() => tidy(() => {
    const tv = { sentence: tensor(sent, { shape: [C, D] }), tokens: tensor(tok, { shape: [C, L, D] }), multiTokens: tensor(multi, { shape: [C, L, D] }), mask: tensor(mask, { dtype: 'int32', shape: [C, L] }) };
    return grainsOf(b.model.scores(tv, b.model.encodeMolecules(batchGraphs([graph]))));
  }));
}
function grainsOf(s: { global: Tensor; local: Tensor; mid: Tensor; fused: Tensor }): Grains {
  return { global: s.global.contiguous().toNumbers(), local: s.local.contiguous().toNumbers(), mid: s.mid.contiguous().toNumbers(), fused: s.fused.contiguous().toNumbers() };
}
function reencoded(cands: number[], graph: ReturnType<typeof buildHierGraph>): Grains {
  const out: Grains = { global: [], local: [], mid: [], fused: [] };
  noGrad(() => {
    for (let s = 0; s < cands.length; s += 32) {
      tidy(() => {
        const tv = b.model.encodeText(padSequences(cands.slice(s, s + 32).map((i) => ids[i]!), b.tokenizer.special.pad));
        const g = grainsOf(b.model.scores(tv, b.model.encodeMolecules(batchGraphs([graph]))));
        for (const key of ['global', 'local', 'mid', 'fused'] as const) out[key].push(...g[key]);
      });
    }
  });
  return out;
}
const topIds = (g: Grains, cands: number[]) => cands.map((c, i) => ({ c, s: g.fused[i]! })).sort((x, y) => y.s - x.s || x.c - y.c).slice(0, k).map((x) => x.c);

const report: Record<string, { max_abs: Record<string, number>; mean_abs_fused: number; topk_order_changed: number; topk_set_changed: number }> = {};
const acc = (name: string) => (report[name] ??= { max_abs: { global: 0, local: 0, mid: 0, fused: 0 }, mean_abs_fused: 0, topk_order_changed: 0, topk_set_changed: 0 });
let pairs = 0;
for (const m of queries) {
  const graph = buildHierGraph(m.smiles, { noBricsFallback: b.config.featurizer.noBricsFallback, downwardEdges: b.config.featurizer.downwardEdges });
  const q = embedGraphs(b, [graph]);
  const global = Array.from({ length: T }, (_, i) => { let s = 0; for (let d = 0; d < D; d++) s += sentences[i * D + d]! * q[d]!; return s; });
  const cands = global.map((_, i) => i).sort((x, y) => global[y]! - global[x]! || x - y).slice(0, K);
  const ref = scoreRecords(cands.map((i) => f32[i]!), graph), refTop = topIds(ref, cands);
  const all: Record<string, Grains> = { 're-encoded': reencoded(cands, graph), ...Object.fromEntries(Object.entries(variants).map(([name, recs]) => [name, scoreRecords(cands.map((i) => recs[i]!), graph)])) };
  for (const [name, g] of Object.entries(all)) {
    const r = acc(name);
    for (const key of ['global', 'local', 'mid', 'fused'] as const) for (let i = 0; i < K; i++) r.max_abs[key] = Math.max(r.max_abs[key]!, Math.abs(g[key][i]! - ref[key][i]!));
    for (let i = 0; i < K; i++) r.mean_abs_fused += Math.abs(g.fused[i]! - ref.fused[i]!);
    const top = topIds(g, cands);
    if (top.join() !== refTop.join()) r.topk_order_changed++;
    if ([...top].sort().join() !== [...refTop].sort().join()) r.topk_set_changed++;
  }
  pairs += K;
}
for (const r of Object.values(report)) r.mean_abs_fused /= pairs;
b.model.dispose();
console.log(JSON.stringify({ machine: machineInfo(), model: modelDir, texts: T, queries: queries.length, rerank: K, k, fused_scale: 'logits (the weighted sum of the grains)', report, other_cpu: cpu() }));
