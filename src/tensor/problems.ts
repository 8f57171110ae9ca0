// The calling convention of our batched native kernels: a kernel takes [P, ...] tensors of P independent
// problems, while callers hold [...lead, ...] tensors whose inputs broadcast over the leading dims.
import type { Tensor } from './tensor.js';

export interface Problems {
  /** The leading dims of the tensor the problems were read from. */
  lead: number[];
  /** Their product: the number of problems. */
  count: number;
  /** t broadcast to [...lead, ...tail] and flattened to [count, ...tail] (a copy only where broadcasting needs one). */
  flat(t: Tensor, ...tail: number[]): Tensor;
}

/** The problems of x: every dim but its last `tail` ones is a leading (problem) dim. */
export function problems(x: Tensor, tail: number): Problems {
  const lead = x.shape.slice(0, x.shape.length - tail);
  const count = lead.reduce((a, b) => a * b, 1);
  return { lead, count, flat: (t, ...dims) => t.expand(...lead, ...dims).reshape(count, ...dims) };
}
