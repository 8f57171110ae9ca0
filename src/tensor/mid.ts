// The mid grain after its token → motif assignments, as one native op with its own backward
// (native/src/mid.cc): ragged inputs, each (text, molecule) pair computed in cache from start to end, where
// the tensor ops (scores.ts midScoresBlockwise) made one-hot GEMMs and ~40 passes over padded
// [texts, molecules, motifs, D] blocks with an autograd node each.
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
