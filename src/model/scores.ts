// ORMA's three alignment scores, each a true function of (text, molecule), computed for every pair of a
// text batch and a molecule batch (the official code aligns only same-slot pairs, reference §12 item 4).
//   global: sentence · molecule                               (reference §5)
//   local:  tokens grouped over atoms, SPARC-style             (reference §6)
//   mid:    OT multi-token vectors grouped over motifs         (reference §7)
// Padding is excluded from every pooling (the official code includes it, §12 item 5).
//
// Cost: the fine grains work on [texts, molecules, tokens, atoms|motifs] blocks. Padding every molecule
// to the batch's largest one made most of those elements padding, so the pairs are cut into blocks of
// molecules of similar size (and, for very long inputs, of texts), each padded only to its own largest
// member and bounded in elements (`ChunkOptions.budget`). Results are exact: a block computes the same
// per-pair function, and the columns are put back in the caller's order. Measurements: docs/model.md.
import { cat, einsum, groupedPoolWeights, layerNorm, noGrad, normalize, tensor, type Tensor } from '../tensor/index.js';
import { assignTokens, ipotPlan } from './ot.js';

/** [Bt, Bm] = sent [Bt, D] · mol [Bm, D]ᵀ (with `cosine`, of the L2-normalised vectors). */
export function globalScores(sent: Tensor, mol: Tensor, o: { cosine?: boolean } = {}): Tensor {
  if (o.cosine) return normalize(sent, -1).matmul(normalize(mol, -1).transpose(0, 1));
  return sent.matmul(mol.transpose(0, 1));
}

export interface ChunkOptions {
  /** Largest block, in elements of a [texts, molecules, tokens, keys] tensor. Default 2^21 (8 MB of float32). */
  budget?: number;
}

export interface GroupedOptions extends ChunkOptions {
  /** Cosine of the pooled vectors (a correlation in [-1, 1]) instead of their dot product (≈ D · correlation, the official logits). */
  cosine?: boolean;
}

const DEFAULT_BUDGET = 1 << 21;

/** LN₀: LayerNorm over the last dim without affine parameters (every pooled vector gets norm ≈ √D). */
function ln0(x: Tensor): Tensor {
  return layerNorm(x, [x.size(-1)], null, null, 1e-5);
}

/** Per row of a [B, k] mask: 1 + the index of its last real slot (0 for none), read back once. */
function extents(mask: Tensor): number[] {
  const [b, k] = mask.shape as [number, number];
  const flags = mask.to('uint8').toNumbers();
  return Array.from({ length: b }, (_, i) => {
    for (let j = k - 1; j >= 0; j--) if (flags[i * k + j] !== 0) return j + 1;
    return 0;
  });
}

interface Chunk { index: number[]; extent: number }

/** An item joins a chunk only if at least this share of its padded slots is real. */
const MIN_FILL = 0.7;

/**
 * Cuts items into chunks of similar extent: sorted by extent, each chunk grows while (items · largest
 * extent) stays within `capacity` and the new item fills ≥ MIN_FILL of the chunk's extent. Every chunk
 * has at least one item and extent ≥ 1.
 */
function chunksBySize(sizes: readonly number[], capacity: number): Chunk[] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const chunks: Chunk[] = [];
  for (const i of order) {
    const last = chunks[chunks.length - 1];
    const size = Math.max(1, sizes[i]!);
    if (last && (last.index.length + 1) * last.extent <= capacity && size >= MIN_FILL * last.extent) last.index.push(i);
    else chunks.push({ index: [i], extent: size });
  }
  return chunks;
}

const indexTensor = (index: number[]) => tensor(Int32Array.from(index), { dtype: 'int32', shape: [index.length] }).long();

/** The inverse of the permutation `order` (order[p] = original index at position p). */
function inverse(order: number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((orig, pos) => { inv[orig] = pos; });
  return inv;
}

/**
 * Runs `block(textChunk, moleculeChunk)` → [|textChunk|, |moleculeChunk|] over blocks of texts and molecules
 * of similar sizes and assembles the [Bt, Bm] result in the original order. Text chunks are cut so that a
 * single text chunk against the largest molecule fits the budget; molecule chunks then fill it.
 */
function blockwise(textExtents: number[], keyExtents: number[], budget: number, block: (t: Chunk, m: Chunk) => Tensor): Tensor {
  const widest = Math.max(1, ...keyExtents), longest = Math.max(1, ...textExtents);
  // small problems (a query against its rerank candidates): one padded block costs less than the ops of many
  if (textExtents.length * longest * keyExtents.length * widest <= budget / 4) {
    const all = (n: number) => Array.from({ length: n }, (_, i) => i);
    return block({ index: all(textExtents.length), extent: longest }, { index: all(keyExtents.length), extent: widest });
  }
  const textChunks = chunksBySize(textExtents, Math.max(1, Math.floor(budget / widest)));
  const rows: Tensor[] = [];
  for (const t of textChunks) {
    const molChunks = chunksBySize(keyExtents, Math.max(1, Math.floor(budget / (t.index.length * t.extent))));
    const cols = molChunks.map((m) => block(t, m));
    const order = molChunks.flatMap((m) => m.index);
    rows.push(permuteBack(cols.length === 1 ? cols[0]! : cat(cols, 1), order, 1));
  }
  return permuteBack(rows.length === 1 ? rows[0]! : cat(rows, 0), textChunks.flatMap((t) => t.index), 0);
}

function permuteBack(x: Tensor, order: number[], dim: number): Tensor {
  if (order.every((v, i) => v === i)) return x;
  return x.indexSelect(dim, indexTensor(inverse(order)));
}

/** Rows `index` of x along dim 0, cut to the first `extent` slots along dim 1. */
function take(x: Tensor, index: number[], extent: number, dim = 0): Tensor {
  const picked = index.length === x.size(dim) && index.every((v, i) => v === i) ? x : x.indexSelect(dim, indexTensor(index));
  return picked.narrow(dim + 1, 0, extent);
}

/**
 * Grouped ("SPARC-style") alignment scores for every (i, j) pair (reference §6 steps 1-8, padding excluded).
 * queries: [Bt, n, D]; qMask: [Bt, n]. keys: [Bm, k, D]; kMask: [Bm, k]. Returns [Bt, Bm].
 * For pair (i, j): S = Q Kᵀ, min-max normalised over j's real keys per query; W = S / ΣS; G = W K;
 * u = LN₀(Σ_t norm(Q_t)), v = LN₀(Σ_t norm(G_t)) over i's real queries; score = u · v (or cos(u, v)).
 */
export function groupedScores(queries: Tensor, qMask: Tensor, keys: Tensor, kMask: Tensor, o: GroupedOptions = {}): Tensor {
  const qm = qMask.to(queries.dtype as 'float32');
  // u depends on the text only: LN₀ of the sum of its normalised real queries
  const u = ln0(normalize(queries, -1).mul(qm.unsqueeze(-1)).sum(-2));                        // [Bt, D]
  return blockwise(extents(qMask), extents(kMask), o.budget ?? DEFAULT_BUDGET, (t, m) => {
    const q = take(queries, t.index, t.extent), mask = take(qm, t.index, t.extent);
    const k = take(keys, m.index, m.extent), km = take(kMask, m.index, m.extent);
    const v = groupedKeyVectors(einsum('and,bkd->abnk', q, k), mask.unsqueeze(1), k, km);   // [bt, bm, D]
    return pairScore(u.indexSelect(0, indexTensor(t.index)).unsqueeze(1), v, o.cosine);
  });
}

/** The paper's local (token–atom) grain: tokens grouped over atoms. */
export const localScores = groupedScores;

/** u [bt, 1|bm, D] against v [bt, bm, D]: the dot product, or the cosine. */
function pairScore(u: Tensor, v: Tensor, cosine = false): Tensor {
  return cosine ? normalize(u, -1).mul(normalize(v, -1)).sum(-1) : u.mul(v).sum(-1);
}

/**
 * v = LN₀(Σ_t norm(G_t)) for every pair of a block: sim [bt, bm, n, k] (queries · keys), qm [bt, 1|bm, n]
 * float mask of real queries, keys [bm, k, D], kMask [bm, k]. Returns [bt, bm, D]. The pooled weights
 * Σ_t w_t / ‖G_t‖ come from one native op with its own backward (`groupedPoolWeights`, the same
 * function as the tensor ops of `groupedKeyVectorsOps` below, as one autograd node instead of ~30 ops).
 */
function groupedKeyVectors(sim: Tensor, qm: Tensor, keys: Tensor, kMask: Tensor): Tensor {
  const gram = keys.matmul(keys.transpose(1, 2));                                // [bm, k, k]
  const pooledWeights = groupedPoolWeights(sim, gram.unsqueeze(0), qm, kMask.unsqueeze(0));   // [bt, bm, k]
  return ln0(einsum('abk,bkd->abd', pooledWeights, keys));
}

/** groupedKeyVectors as tensor ops: the reference the native op is tested against. */
export function groupedKeyVectorsOps(sim: Tensor, qm: Tensor, keys: Tensor, kMask: Tensor): Tensor {
  const real = kMask.unsqueeze(0).unsqueeze(2);                                  // [1, bm, 1, k]
  // Min-max over the real keys, then W = S / ΣS. The divisor (max − min + δ) is the same for every key of
  // a row, so it cancels in the row normalisation and is not computed; +δ keeps a query whose keys all
  // score the same uniform. A molecule without real keys gets weights 0 (the clamp keeps its empty min finite).
  const lo = sim.maskedFill(real.logicalNot(), Infinity).min(-1, true).values.clamp(-1e30, 1e30);
  // (sim − lo) first, then +δ: folding δ into lo first loses it in float32 once |lo| > ~8, and a row with
  // one real key (a one-motif molecule) then sums to 0 and its gradient overflows (NaN)
  const shifted = sim.sub(lo).add(1e-6).mul(real.to(sim.dtype as 'float32'));
  const w = shifted.div(shifted.sum(-1, true).clampMin(1e-30));
  // Σ_t norm(G_t) with G_t = Σ_k w_tk K_k, without materialising G [bt, bm, n, D]:
  // ‖G_t‖² = w_t (K Kᵀ) w_tᵀ, and Σ_t G_t / ‖G_t‖ = (Σ_t w_t / ‖G_t‖) K. Exact, with k² in place of k·D work.
  const gram = keys.matmul(keys.transpose(1, 2));                                // [bm, k, k]
  const sqNorms = einsum('abnk,bkl->abnl', w, gram).mul(w).sum(-1);              // [bt, bm, n]
  const invNorms = sqNorms.clampMin(1e-24).rsqrt().mul(qm);                      // 1 / max(‖G_t‖, 1e-12) on real queries
  const pooledWeights = einsum('abnk,abn->abk', w, invNorms);                    // [bt, bm, k]
  return ln0(einsum('abk,bkd->abd', pooledWeights, keys));
}

export interface MidOptions extends GroupedOptions {
  /** 'argmax' (largest transport mass, the paper's intent) or 'argmin' (the official code). */
  pick?: 'argmax' | 'argmin';
  beta?: number;
  iterations?: number;
}

/**
 * Multi-token–motif scores for every pair (reference §7): for text i and molecule j, IPOT between i's
 * tokens and j's motifs (cost 1 − cosine), each token goes to one motif, a motif's multi-token vector is
 * the mean of its tokens, then the grouped score of those vectors against j's motifs. Motifs that receive
 * no token are left out of the pooling. tokens [Bt, n, D], tokenMask [Bt, n]; motifs [Bm, m, D],
 * motifMask [Bm, m] with real motifs first. Returns [Bt, Bm].
 */
export function midScores(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  const motifExtents = extents(motifMask);
  const counts = motifMask.to('float32').sum(-1).toNumbers();
  motifExtents.forEach((e, j) => {
    if (e !== counts[j]) throw new Error(`midScores: molecule ${j}'s motif mask is not real-motifs-first: [${motifMask.select(0, j).to('float32').toNumbers().join(', ')}]`);
  });
  const dtype = tokens.dtype as 'float32';
  const [unitTokens, unitMotifs] = noGrad(() => [normalize(tokens.detach(), -1), normalize(motifs.detach(), -1)]);
  return blockwise(extents(tokenMask), motifExtents, o.budget ?? DEFAULT_BUDGET, (t, m) => {
    const tm = take(tokenMask, t.index, t.extent), mm = take(motifMask, m.index, m.extent);
    const [bt, n] = tm.shape as [number, number];
    const [bm, mc] = mm.shape as [number, number];
    const rowMask = tm.unsqueeze(1).expand(bt, bm, n), colMask = mm.unsqueeze(0).expand(bt, bm, mc);
    // the plan only decides the assignment: cost, plan and one-hot carry no gradient
    const onehot = noGrad(() => {
      const cost = einsum('and,bmd->abnm', take(unitTokens, t.index, t.extent), take(unitMotifs, m.index, m.extent)).rsub(1);
      const masks = { rowMask, colMask };
      const assign = assignTokens(ipotPlan(cost, { ...masks, beta: o.beta, iterations: o.iterations }), o.pick ?? 'argmax', masks);
      return assign.oneHot(mc).to(dtype).mul(rowMask.to(dtype).unsqueeze(-1));   // [bt, bm, n, mc]
    });
    const tokenCounts = onehot.sum(2);                                                           // [bt, bm, mc]
    const multiToken = einsum('abnm,and->abmd', onehot, take(tokens, t.index, t.extent)).div(tokenCounts.clampMin(1).unsqueeze(-1));
    const phraseMask = tokenCounts.gt(0).logicalAnd(colMask.to('bool')).to(dtype);               // [bt, bm, mc]
    const k = take(motifs, m.index, m.extent);
    const u = ln0(normalize(multiToken, -1).mul(phraseMask.unsqueeze(-1)).sum(-2));              // [bt, bm, D]
    const v = groupedKeyVectors(einsum('abmd,bkd->abmk', multiToken, k), phraseMask, k, mm);
    return pairScore(u, v, o.cosine);
  });
}

/**
 * The official code's pairing (reference §12 item 4), for paired batches (text b describes molecule b):
 * the grouping and the OT are computed only for the same-slot pairs (b, b), and logit[i, j] = u_i · v_j
 * mixes text i's pooled vector with the vector of the pair (j, j). Not a function of (text i, molecule j)
 * alone — a faithful switch, not something to retrieve with. The diagonal equals the pairwise scores.
 */
export function localScoresSameSlot(tokens: Tensor, tokenMask: Tensor, atoms: Tensor, atomMask: Tensor, o: GroupedOptions = {}): Tensor {
  const qm = tokenMask.to(tokens.dtype as 'float32');
  const u = ln0(normalize(tokens, -1).mul(qm.unsqueeze(-1)).sum(-2));                          // [B, D]
  const v = groupedKeyVectors(einsum('bnd,bkd->bnk', tokens, atoms).unsqueeze(0), qm.unsqueeze(0), atoms, atomMask);  // [1, B, D]
  return pairScore(u.unsqueeze(1), v, o.cosine);
}

/** The mid grain with the official same-slot pairing (see localScoresSameSlot). */
export function midScoresSameSlot(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  const dtype = tokens.dtype as 'float32';
  const [b, n] = tokens.shape as [number, number, number];
  const m = motifs.size(1);
  const rowMask = tokenMask.unsqueeze(0), colMask = motifMask.unsqueeze(0);                     // [1, B, n], [1, B, m]
  const onehot = noGrad(() => {
    const cost = einsum('bnd,bmd->bnm', normalize(tokens.detach(), -1), normalize(motifs.detach(), -1)).rsub(1).unsqueeze(0);
    const masks = { rowMask: rowMask.expand(1, b, n), colMask: colMask.expand(1, b, m) };
    const assign = assignTokens(ipotPlan(cost, { ...masks, beta: o.beta, iterations: o.iterations }), o.pick ?? 'argmax', masks);
    return assign.oneHot(m).to(dtype).mul(rowMask.to(dtype).unsqueeze(-1));                      // [1, B, n, m]
  });
  const tokenCounts = onehot.sum(2);                                                              // [1, B, m]
  const multiToken = einsum('abnm,bnd->abmd', onehot, tokens).div(tokenCounts.clampMin(1).unsqueeze(-1));
  const phraseMask = tokenCounts.gt(0).logicalAnd(colMask.to('bool')).to(dtype);
  const u = ln0(normalize(multiToken, -1).mul(phraseMask.unsqueeze(-1)).sum(-2));                 // [1, B, D]
  const v = groupedKeyVectors(einsum('abmd,bkd->abmk', multiToken, motifs), phraseMask, motifs, motifMask);
  return pairScore(u.transpose(0, 1), v, o.cosine);
}
