// Free functions over tensors: joining, fused linear algebra, and the nn functions with options.
import { native } from './native.js';
import { wrap, REDUCTION, type Reduction, type Tensor } from './tensor.js';

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.cat(tensors.map((t) => t.handle), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(native.stack(tensors.map((t) => t.handle), dim));
}
/** Element-wise cond ? a : b (broadcasting). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return wrap(native.where(cond.handle, a.handle, b.handle));
}
export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}
/** x · wᵀ + b in one fused call (as torch.nn.functional.linear). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.linear(x.handle, weight.handle, bias ? bias.handle : -1));
}
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return wrap(native.einsum(equation, operands.map((t) => t.handle)));
}
export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(native.layerNorm(x.handle, normalizedShape, weight ? weight.handle : -1, bias ? bias.handle : -1, eps));
}
/**
 * Inverted dropout: zeroes with probability p and scales by 1/(1-p) when `training`. The mask comes from
 * native/src/dropout.cc (a hashed counter seeded from libtorch's generator: libtorch's own CPU dropout is a
 * serial locked loop, 10x slower), and autograd sees x · mask.
 */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);  // NaN fails too
  if (!training || p === 0) return x;
  return x.mul(wrap(native.dropoutMask(x.handle, p)));
}
/** Rows of `weight` picked by the int64 `indices`; rows at paddingIdx get no gradient. */
export function embedding(weight: Tensor, indices: Tensor, paddingIdx = -1): Tensor {
  return wrap(native.embedding(weight.handle, indices.handle, paddingIdx));
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  reduction?: Reduction;
  weight?: Tensor;
}
/** Softmax cross-entropy of logits [N, C] (or [N, C, ...]) against int64 class targets. */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return wrap(native.crossEntropy(logits.handle, target.handle, o.ignoreIndex ?? -100, o.labelSmoothing ?? 0,
    REDUCTION[o.reduction ?? 'mean'], o.weight ? o.weight.handle : -1));
}
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(native.mseLoss(a.handle, b.handle, REDUCTION[reduction]));
}
/** x / max(‖x‖_p, eps) along `dim` (as torch.nn.functional.normalize). */
export function normalize(x: Tensor, dim = -1, p = 2, eps = 1e-12): Tensor {
  return wrap(native.normalize(x.handle, p, dim, eps));
}
export function softmax(x: Tensor, dim: number): Tensor {
  return x.softmax(dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return x.logSoftmax(dim);
}
export function relu(x: Tensor): Tensor {
  return x.relu();
}
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return x.gelu(approximate);
}
