// The fine grains' training ops, each one native op with its own backward on ragged inputs, every
// (text, molecule) pair computed in cache from start to end: the mid grain after its token → motif
// assignments (native/src/mid.cc), where the tensor ops (scores.ts midScoresBlockwise) made one-hot GEMMs and
// ~40 passes over padded [texts, molecules, motifs, D] blocks with an autograd node each; the local grain
// after its similarity GEMM (native/src/local.cc).
import { native } from './native.js';
import { wrap, type Tensor } from './tensor.js';

/**
 * Scores [A, B] from multi-token vectors tokens [R, D] (text a: rows rowOffsets[a]..[a+1]), motif vectors
 * motifs [C, D] (molecule b: rows colOffsets[b]..[b+1]) and assign int32 [A · B, ≥ longest text], the motif
 * (0 .. m_b − 1) of each of text a's tokens in pair a · B + b (midAssignments). Per pair: the phrases P_j (mean
 * of the tokens sent to motif j), u = LN₀(Σ norm(P_j)), v = the phrases grouped over the motifs, and u · v, or
 * cos(u, v) with `cosine`; 0 for a pair without tokens or motifs. Differentiable in tokens and motifs;
 * float32 or float64.
 */
export function midPairScores(tokens: Tensor, motifs: Tensor, rowOffsets: Tensor, colOffsets: Tensor, assign: Tensor, cosine: boolean): Tensor {
  return wrap(native.midPairScores(tokens.handle, motifs.handle, rowOffsets.handle, colOffsets.handle, assign.handle, cosine));
}

/**
 * Local-grain (grouped) scores [A, B] from sim [R, C], the similarities of every real token (text a: rows
 * rowOffsets[a]..[a+1]) with every real atom (molecule b: columns colOffsets[b]..[b+1]), keys [C, D] the atom
 * vectors and u [A, D] each text's LN₀(Σ norm(token)): per pair, v = LN₀(Σ_t norm(G_t)) (the grouped vector,
 * scores.ts groupedScores) and u · v, or cos(u, v) with `cosine`; 0 for a pair without tokens or atoms.
 * Differentiable in sim, keys and u; float32 or float64.
 */
export function localPairScores(sim: Tensor, keys: Tensor, u: Tensor, rowOffsets: Tensor, colOffsets: Tensor, cosine: boolean): Tensor {
  return wrap(native.localPairScores(sim.handle, keys.handle, u.handle, rowOffsets.handle, colOffsets.handle, cosine));
}
