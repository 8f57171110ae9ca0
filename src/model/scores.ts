// ORMA's three alignment scores, each a true function of (text, molecule), computed for every pair of a
// text batch and a molecule batch (the official code aligns only same-slot pairs, reference §12 item 4).
//   global: sentence · molecule                               (reference §5)
//   local:  tokens grouped over atoms, SPARC-style             (reference §6)
//   mid:    OT multi-token vectors grouped over motifs         (reference §7)
// Padding is excluded from every pooling; with `slots`, the official code's padding-inclusive pooling
// (§12 item 5) is reproduced in closed form (see SlotPadding).
//
// Cost: without slots, each fine grain cuts the real tokens, atoms and motifs out of their padding and runs
// one native op with its own backward over every pair at its real size (native/src/local.cc, mid.cc): the
// local grain after one similarity GEMM, the mid grain after the pool scorer's IPOT assignments. With slots
// (and as the reference the native path is tested against), the grains are tensor ops over blocks of
// molecules of similar size (and, for very long inputs, of texts), each padded only to its own largest member
// and bounded in elements (`ChunkOptions.budget`), the columns put back in the caller's order. Both are exact
// per-pair functions. Measurements: docs/model.md.
import { cat, einsum, groupedPoolWeights, layerNorm, localPairScores, midAssignments, midPairScores, noGrad, normalize, ones, tensor, where, zeros, type Tensor } from '../tensor/index.js';
import { assignTokens, ipotPlan, ipotPlanFrom, OT_TIE_TOLERANCE } from './ot.js';

/** [Bt, Bm] = sent [Bt, D] · mol [Bm, D]ᵀ (with `cosine`, of the L2-normalised vectors). */
export function globalScores(sent: Tensor, mol: Tensor, o: { cosine?: boolean } = {}): Tensor {
  if (o.cosine) return normalize(sent, -1).matmul(normalize(mol, -1).transpose(0, 1));
  return sent.matmul(mol.transpose(0, 1));
}

export interface ChunkOptions {
  /** Largest block, in elements of a [texts, molecules, tokens, keys] tensor. Default 2^21 (8 MB of float32). */
  budget?: number;
  /** A molecule (text) joins a block only if it fills at least this share of the block's padded slots. Default 0.7. */
  minFill?: number;
}

export interface GroupedOptions extends ChunkOptions {
  /** Cosine of the pooled vectors (a correlation in [-1, 1]) instead of their dot product (≈ D · correlation, the official logits). */
  cosine?: boolean;
  /** The official padding-inclusive pooling (see SlotPadding); absent: padding is masked. */
  slots?: SlotPadding;
}

/**
 * The official code's fixed slots (reference §6-7, §12 item 5): every text padded to 256 token slots, every
 * molecule to 580 atom and 140 motif slots, and the sums, min-max ranges and OT marginals running over
 * all of them. With `slots`, every position of the query (token) tensor is a slot: the caller pads the
 * texts to the slot count and passes BERT's outputs at the pad positions, which the official sums include;
 * molecules are padded to `keys` slots that all hold `padKey` (the head applied to the official 1e-8 padding).
 * Identical padded slots are merged, so the cost stays that of the real sizes: a padded key enters a
 * query's min (its weight is the official 1e-8, dropped: ~1e-6 relative), a padded query's weights are
 * uniform over all key slots (its grouped vector is norm(Σ real keys + pads · padKey), once per pad), and the
 * OT gets one merged padded row and column with their slot counts as masses.
 */
export interface SlotPadding {
  /** Key slots per molecule (580 atoms, 140 motifs in the official code). */
  keys: number;
  /** [D] the vector of a padded key slot. */
  padKey: Tensor;
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

/** An item joins a chunk only if at least this share of its padded slots is real (ChunkOptions.minFill). */
const MIN_FILL = 0.7;

/**
 * Cuts items into chunks of similar extent: sorted by extent, each chunk grows while (items · largest
 * extent) stays within `capacity` and the new item fills ≥ MIN_FILL of the chunk's extent. Every chunk
 * has at least one item and extent ≥ 1.
 */
function chunksBySize(sizes: readonly number[], capacity: number, minFill = MIN_FILL): Chunk[] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const chunks: Chunk[] = [];
  for (const i of order) {
    const last = chunks[chunks.length - 1];
    const size = Math.max(1, sizes[i]!);
    if (last && (last.index.length + 1) * last.extent <= capacity && size >= minFill * last.extent) last.index.push(i);
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
function blockwise(textExtents: number[], keyExtents: number[], o: ChunkOptions, block: (t: Chunk, m: Chunk) => Tensor): Tensor {
  const budget = o.budget ?? DEFAULT_BUDGET, minFill = o.minFill ?? MIN_FILL;
  const widest = Math.max(1, ...keyExtents), longest = Math.max(1, ...textExtents);
  // small problems (a query against its rerank candidates): one padded block costs less than the ops of many
  if (textExtents.length * longest * keyExtents.length * widest <= budget / 4) {
    const all = (n: number) => Array.from({ length: n }, (_, i) => i);
    return block({ index: all(textExtents.length), extent: longest }, { index: all(keyExtents.length), extent: widest });
  }
  const textChunks = chunksBySize(textExtents, Math.max(1, Math.floor(budget / widest)), minFill);
  const rows: Tensor[] = [];
  for (const t of textChunks) {
    const molChunks = chunksBySize(keyExtents, Math.max(1, Math.floor(budget / (t.index.length * t.extent))), minFill);
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
 * Without `slots`: one GEMM of the real queries against the real keys and a native op per pair (`groupedRagged`);
 * with them, tensor ops over blocks (`groupedScoresBlockwise`, also the reference the native path is tested against).
 */
export function groupedScores(queries: Tensor, qMask: Tensor, keys: Tensor, kMask: Tensor, o: GroupedOptions = {}): Tensor {
  return o.slots ? groupedScoresBlockwise(queries, qMask, keys, kMask, o) : groupedRagged(queries, qMask, keys, kMask, o);
}

/** groupedScores without slots: sim [real queries, real keys] as one product, then localPairScores (local.cc). */
function groupedRagged(queries: Tensor, qMask: Tensor, keys: Tensor, kMask: Tensor, o: GroupedOptions): Tensor {
  const qm = qMask.to(queries.dtype as 'float32');
  const u = ln0(normalize(queries, -1).mul(qm.unsqueeze(-1)).sum(-2));   // [Bt, D]
  const q = raggedRows(queries, qMask), k = raggedRows(keys, kMask);
  return localPairScores(q.rows.matmul(k.rows.transpose(0, 1)), k.rows, u, q.offsets, k.offsets, o.cosine ?? false);
}

/** groupedScores as tensor ops over blocks of similar sizes (with or without slots). */
export function groupedScoresBlockwise(queries: Tensor, qMask: Tensor, keys: Tensor, kMask: Tensor, o: GroupedOptions = {}): Tensor {
  const qm = qMask.to(queries.dtype as 'float32'), slots = o.slots;
  // u depends on the text only: LN₀ of the sum of its normalised real queries (with slots: of every slot)
  const u = ln0((slots ? normalize(queries, -1) : normalize(queries, -1).mul(qm.unsqueeze(-1))).sum(-2));   // [Bt, D]
  const pads = slots ? keySlotPads(kMask, slots, 'groupedScores') : null;
  const padQueries = slots ? qm.rsub(1).sum(-1) : null;                                        // [Bt] padded query slots
  return blockwise(extents(qMask), extents(kMask), o, (t, m) => {
    const q = take(queries, t.index, t.extent), mask = take(qm, t.index, t.extent);
    const k = take(keys, m.index, m.extent), km = take(kMask, m.index, m.extent);
    const sim = einsum('and,bkd->abnk', q, k);
    const v = slots && pads && padQueries
      ? slotKeyVectors(sim, mask.unsqueeze(1), k, km, slots.padKey, {
        padSim: einsum('and,d->an', q, slots.padKey).unsqueeze(1), keyPads: pads.indexSelect(0, indexTensor(m.index)),
        uniformRows: padQueries.indexSelect(0, indexTensor(t.index)).unsqueeze(1), padRows: null })
      : groupedKeyVectors(sim, mask.unsqueeze(1), k, km);                                          // [bt, bm, D]
    return pairScore(u.indexSelect(0, indexTensor(t.index)).unsqueeze(1), v, o.cosine);
  });
}

/** Per molecule, its padded key slots (slots.keys − real keys), float [Bm]; more real keys than slots is an error. */
function keySlotPads(kMask: Tensor, slots: SlotPadding, op: string): Tensor {
  const counts = kMask.to('float32').sum(-1);
  const most = counts.max().item();
  if (most > slots.keys) throw new Error(`${op}: a molecule has ${most} keys, more than the ${slots.keys} key slots`);
  return counts.rsub(slots.keys);
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

interface SlotTerms {
  /** [bt, 1|bm, n] each query's similarity to the padded key. */
  padSim: Tensor;
  /** [bm] the molecule's padded key slots. */
  keyPads: Tensor;
  /** [bt|1, bm|1] rows whose weights are uniform over all key slots (padded rows: official mask value everywhere). */
  uniformRows: Tensor;
  /** [bt, bm] real rows left out of `qm` with all-zero similarities, whose weights fall on the padded keys (null: none). */
  padRows: Tensor | null;
}

/**
 * groupedKeyVectors over the official slots (SlotPadding): the padded key joins each real row's min (as an
 * extra key at that min, with a zero vector: weight δ on nothing), and the merged padded rows add their
 * grouped vectors before LN₀. The same function as expanding every pair to its slots (tested so).
 */
function slotKeyVectors(sim: Tensor, qm: Tensor, keys: Tensor, kMask: Tensor, padKey: Tensor, s: SlotTerms): Tensor {
  const [bm, , d] = keys.shape as [number, number, number];
  const dtype = sim.dtype as 'float32';
  const real = kMask.to('bool').unsqueeze(0).unsqueeze(2);                                   // [1, bm, 1, k]
  const hasPad = s.keyPads.gt(0).reshape(1, bm, 1, 1);
  const realMin = sim.maskedFill(real.logicalNot(), Infinity).min(-1, true).values.clamp(-1e30, 1e30);
  const padSim = s.padSim.unsqueeze(-1);
  const lo = where(hasPad, realMin.minimum(padSim), realMin);                                // [bt, bm, n, 1]
  // a row of a one-key molecule whose key is at the floor has min-max weight 0 on it: its weights are the
  // 1e-8 of the padded slots (its vector is norm(padKey)), or, without padded slots, all 0 (no vector)
  const single = kMask.to(dtype).sum(-1).eq(1).reshape(1, bm, 1, 1);
  const degenerate = single.logicalAnd(hasPad.logicalNot().logicalOr(realMin.le(padSim))).squeeze(-1).to(dtype).mul(qm);   // [bt, bm, n]
  const shape = sim.shape as number[];
  const floor = lo.expand(...shape.slice(0, -1), 1);
  const keysX = cat([keys, zeros([bm, 1, d], { dtype })], 1), maskX = cat([kMask.to(dtype), ones([bm, 1], { dtype })], 1);
  const gram = keysX.matmul(keysX.transpose(1, 2));
  const rows = qm.sub(degenerate);
  const pooled = einsum('abk,bkd->abd', groupedPoolWeights(cat([sim, floor], -1), gram.unsqueeze(0), rows, maskX.unsqueeze(0)), keysX);
  // a padded row's weights are uniform over every slot: norm(Σ real keys + pads · padKey)
  const uniform = normalize(keys.mul(kMask.to(dtype).unsqueeze(-1)).sum(1).add(s.keyPads.unsqueeze(-1).mul(padKey)), -1);   // [bm, D]
  const onPad = degenerate.sum(-1).add(s.padRows ?? 0).mul(hasPad.reshape(1, bm).to(dtype));    // rows whose weights sit on the padded slots
  return ln0(pooled.add(s.uniformRows.unsqueeze(-1).mul(uniform.unsqueeze(0))).add(onPad.unsqueeze(-1).mul(normalize(padKey, -1))));
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
 * Without `slots`, every pair at its real size in native ops (`midRagged`); with them, as tensor ops over
 * blocks (`midScoresBlockwise`, also the reference the native path is tested against).
 */
export function midScores(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  realMotifsFirst(motifMask);
  return o.slots ? midScoresBlockwise(tokens, tokenMask, motifs, motifMask, o) : midRagged(tokens, tokenMask, motifs, motifMask, o);
}

/** Each molecule's motif extent, checked to be its real motif count (the official slots put padding last). */
function realMotifsFirst(motifMask: Tensor): number[] {
  const motifExtents = extents(motifMask);
  const counts = motifMask.to('float32').sum(-1).toNumbers();
  motifExtents.forEach((e, j) => {
    if (e !== counts[j]) throw new Error(`midScores: molecule ${j}'s motif mask is not real-motifs-first: [${motifMask.select(0, j).to('float32').toNumbers().join(', ')}]`);
  });
  return motifExtents;
}

/** Rows of x [B, k, D] where mask [B, k] is set, as [Σ real, D], with offsets [B + 1] (int64) of each item's rows. */
function raggedRows(x: Tensor, mask: Tensor): { rows: Tensor; offsets: Tensor } {
  const [b, k] = mask.shape as [number, number];
  const flags = mask.to('uint8').toNumbers();
  const index: number[] = [], offsets = [0];
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < k; j++) if (flags[i * k + j] !== 0) index.push(i * k + j);
    offsets.push(index.length);
  }
  return { rows: x.reshape(b * k, x.size(-1)).indexSelect(0, indexTensor(index)), offsets: indexTensor(offsets) };
}

/**
 * midScores without slots: the real tokens and motifs cut out of their padding, the OT costs as one product
 * of unit vectors, the plans and assignments in one native op (the pool scorer's, pool.cc) and the scores in
 * another with its own backward (mid.cc). No [Bt, Bm, ...] float tensor is made.
 */
function midRagged(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions): Tensor {
  const x = raggedRows(tokens, tokenMask), k = raggedRows(motifs, motifMask);
  const assign = noGrad(() => {
    // [motif rows, token rows]; the plans in float32 whatever the dtype (they only decide the assignments)
    const cosT = normalize(k.rows.detach(), -1).matmul(normalize(x.rows.detach(), -1).transpose(0, 1)).to('float32');
    return midAssignments(cosT, x.offsets, k.offsets, { beta: o.beta ?? 0.5, iterations: o.iterations ?? 50, pick: o.pick ?? 'argmax', tieTolerance: OT_TIE_TOLERANCE });
  });
  return midPairScores(x.rows, k.rows, x.offsets, k.offsets, assign, o.cosine ?? false);
}

/** midScores as tensor ops over blocks of similar sizes (with or without slots). */
export function midScoresBlockwise(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  const motifExtents = realMotifsFirst(motifMask);
  const dtype = tokens.dtype as 'float32', slots = o.slots;
  const [unitTokens, unitMotifs] = noGrad(() => [normalize(tokens.detach(), -1), normalize(motifs.detach(), -1)]);
  // with slots: each text's padded token slots (count and Σ of their vectors, which the official code
  // assigns to motif slot 0) and each molecule's padded motif slots
  const padTokens = slots ? tokenMask.to(dtype).rsub(1) : null;
  const padCount = padTokens ? padTokens.sum(-1) : null, padSum = padTokens ? tokens.mul(padTokens.unsqueeze(-1)).sum(1) : null;
  const motifPads = slots ? keySlotPads(motifMask, slots, 'midScores') : null;
  return blockwise(extents(tokenMask), motifExtents, o, (t, m) => {
    const tm = take(tokenMask, t.index, t.extent), mm = take(motifMask, m.index, m.extent);
    const [bt, n] = tm.shape as [number, number];
    const [bm, mc] = mm.shape as [number, number];
    const rowMask = tm.unsqueeze(1).expand(bt, bm, n), colMask = mm.unsqueeze(0).expand(bt, bm, mc);
    const ti = indexTensor(t.index), mi = indexTensor(m.index);
    // the plan only decides the assignment: cost, plan and one-hot carry no gradient
    const onehot = noGrad(() => {
      const cost = einsum('and,bmd->abnm', take(unitTokens, t.index, t.extent), take(unitMotifs, m.index, m.extent)).rsub(1);
      const masks = { rowMask, colMask };
      const plan = slots && padCount && motifPads
        ? slotPlan(cost, rowMask, colMask, padCount.indexSelect(0, ti).reshape(bt, 1), motifPads.indexSelect(0, mi).reshape(1, bm), tokens.size(1), slots.keys, o)
        : ipotPlan(cost, { ...masks, beta: o.beta, iterations: o.iterations });
      const assign = assignTokens(plan, o.pick ?? 'argmax', masks);
      return assign.oneHot(mc).to(dtype).mul(rowMask.to(dtype).unsqueeze(-1));   // [bt, bm, n, mc]
    });
    const pads = slots && padCount && padSum && motifPads
      ? { count: padCount.indexSelect(0, ti).reshape(bt, 1), sum: padSum.indexSelect(0, ti).unsqueeze(1), motifSlots: motifPads.indexSelect(0, mi), padKey: slots.padKey }
      : null;
    const { u, v } = phraseVectors(onehot.sum(2), einsum('abnm,and->abmd', onehot, take(tokens, t.index, t.extent)), colMask, take(motifs, m.index, m.extent), mm, pads);
    return pairScore(u, v, o.cosine);
  });
}

/** The padded slots of the mid grain's pairs (SlotPadding), for phraseVectors. */
interface PhrasePads {
  /** [a|1, b|1] padded token slots, and [a|1, b|1, D] the sum of their vectors: the official code assigns them to motif slot 0. */
  count: Tensor;
  sum: Tensor;
  /** [b] padded motif slots. */
  motifSlots: Tensor;
  padKey: Tensor;
}

/**
 * The mid grain after the assignment (reference §7): from each pair's token counts [a, b, m] and token sums
 * [a, b, m, D] per motif, the multi-token vectors (means; with `pads`, the padded tokens join motif slot 0),
 * u = LN₀(Σ norm(phrases)) and v, the phrases grouped over the motifs k [b, m, D] (mask mm [b, m]).
 */
function phraseVectors(tokenCounts: Tensor, tokenSums: Tensor, colMask: Tensor, k: Tensor, mm: Tensor, pads: PhrasePads | null): { u: Tensor; v: Tensor } {
  const dtype = tokenSums.dtype as 'float32', mc = tokenCounts.size(-1);
  if (pads) {
    const first = tensor(Float32Array.from({ length: mc }, (_, i) => (i === 0 ? 1 : 0)), { shape: [1, 1, mc] }).to(dtype);
    tokenCounts = tokenCounts.add(pads.count.unsqueeze(-1).mul(first));
    tokenSums = tokenSums.add(first.unsqueeze(-1).mul(pads.sum.unsqueeze(-2)));
  }
  const multiToken = tokenSums.div(tokenCounts.clampMin(1).unsqueeze(-1));
  const reached = tokenCounts.gt(0), real = colMask.to('bool');
  const phraseMask = reached.logicalAnd(real).to(dtype);                                        // [a, b, m]
  // u: every phrase with tokens (with slots, a padded slot 0 too: the official sum runs over all slots)
  const u = ln0(normalize(multiToken, -1).mul((pads ? reached.to(dtype) : phraseMask).unsqueeze(-1)).sum(-2));   // [a, b, D]
  const sim = einsum('abmd,bkd->abmk', multiToken, k);
  const v = pads
    ? slotKeyVectors(sim, phraseMask, k, mm, pads.padKey, { padSim: einsum('abmd,d->abm', multiToken, pads.padKey), keyPads: pads.motifSlots,
      uniformRows: pads.motifSlots.unsqueeze(0), padRows: reached.logicalNot().logicalAnd(real).to(dtype).sum(-1) })
    : groupedKeyVectors(sim, phraseMask, k, mm);
  return { u, v };
}

/**
 * The official OT over padded slots (SlotPadding) with the padded rows and columns merged: costs
 * [bt, bm, n, mc] of the real tokens and motifs, one more row for the text's padded token slots and one more
 * column for the molecule's padded motif slots (cost 1: the official K = 1e-8 there), masses slots / total
 * (1/256 per token slot, 1/140 per motif slot), the initial plan their slot counts. padTokens and padMotifs
 * [bt|1, bm|1]: each pair's padded token and motif slots. Returns the real part.
 */
function slotPlan(cost: Tensor, rowMask: Tensor, colMask: Tensor, padTokens: Tensor, padMotifs: Tensor, tokenSlots: number, motifSlots: number,
  o: { beta?: number; iterations?: number }): Tensor {
  const [bt, bm, n, mc] = cost.shape as [number, number, number, number];
  const f = { dtype: 'float32' as const };
  const rows = cat([rowMask.to('float32'), padTokens.to('float32').expand(bt, bm).unsqueeze(-1)], -1);     // slots per row
  const cols = cat([colMask.to('float32'), padMotifs.to('float32').expand(bt, bm).unsqueeze(-1)], -1);     // slots per column
  const costX = cat([cat([cost.to('float32'), ones([bt, bm, n, 1], f)], -1), ones([bt, bm, 1, mc + 1], f)], -2);
  const plan = ipotPlanFrom(costX, rows.div(tokenSlots), cols.div(motifSlots), rows.unsqueeze(-1).mul(cols.unsqueeze(-2)), o);
  return plan.narrow(-2, 0, n).narrow(-1, 0, mc);
}

/**
 * The official code's pairing (reference §12 item 4), for paired batches (text b describes molecule b):
 * the grouping and the OT are computed only for the same-slot pairs (b, b), and logit[i, j] = u_i · v_j
 * mixes text i's pooled vector with the vector of the pair (j, j). Not a function of (text i, molecule j)
 * alone — a faithful switch, not something to retrieve with. The diagonal equals the pairwise scores.
 */
export function localScoresSameSlot(tokens: Tensor, tokenMask: Tensor, atoms: Tensor, atomMask: Tensor, o: GroupedOptions = {}): Tensor {
  const qm = tokenMask.to(tokens.dtype as 'float32'), slots = o.slots;
  const u = ln0((slots ? normalize(tokens, -1) : normalize(tokens, -1).mul(qm.unsqueeze(-1))).sum(-2));   // [B, D]
  const sim = einsum('bnd,bkd->bnk', tokens, atoms).unsqueeze(0);
  const v = slots                                                                                // [1, B, D]
    ? slotKeyVectors(sim, qm.unsqueeze(0), atoms, atomMask, slots.padKey, { padSim: einsum('bnd,d->bn', tokens, slots.padKey).unsqueeze(0),
      keyPads: keySlotPads(atomMask, slots, 'localScoresSameSlot'), uniformRows: qm.rsub(1).sum(-1).unsqueeze(0), padRows: null })
    : groupedKeyVectors(sim, qm.unsqueeze(0), atoms, atomMask);
  return pairScore(u.unsqueeze(1), v, o.cosine);
}

/** The mid grain with the official same-slot pairing (see localScoresSameSlot). */
export function midScoresSameSlot(tokens: Tensor, tokenMask: Tensor, motifs: Tensor, motifMask: Tensor, o: MidOptions = {}): Tensor {
  const dtype = tokens.dtype as 'float32', slots = o.slots;
  const [b, n] = tokens.shape as [number, number, number];
  const m = motifs.size(1);
  const rowMask = tokenMask.unsqueeze(0), colMask = motifMask.unsqueeze(0);                     // [1, B, n], [1, B, m]
  // with slots (see midScores): pair b's padded token slots go to motif slot 0
  const padTokens = slots ? tokenMask.to(dtype).rsub(1) : null;
  const pads = slots && padTokens ? { count: padTokens.sum(-1).unsqueeze(0), sum: tokens.mul(padTokens.unsqueeze(-1)).sum(1).unsqueeze(0),
    motifSlots: keySlotPads(motifMask, slots, 'midScoresSameSlot'), padKey: slots.padKey } : null;
  const onehot = noGrad(() => {
    const cost = einsum('bnd,bmd->bnm', normalize(tokens.detach(), -1), normalize(motifs.detach(), -1)).rsub(1).unsqueeze(0);
    const masks = { rowMask: rowMask.expand(1, b, n), colMask: colMask.expand(1, b, m) };
    const plan = slots && pads
      ? slotPlan(cost, masks.rowMask, masks.colMask, pads.count, pads.motifSlots.unsqueeze(0), n, slots.keys, o)
      : ipotPlan(cost, { ...masks, beta: o.beta, iterations: o.iterations });
    const assign = assignTokens(plan, o.pick ?? 'argmax', masks);
    return assign.oneHot(m).to(dtype).mul(rowMask.to(dtype).unsqueeze(-1));                      // [1, B, n, m]
  });
  const { u, v } = phraseVectors(onehot.sum(2), einsum('abnm,bnd->abmd', onehot, tokens), colMask, motifs, motifMask, pads);   // [1, B, D] each
  return pairScore(u.transpose(0, 1), v, o.cosine);
}
