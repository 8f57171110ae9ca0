// Parameter initialisers. Each creates a fresh tensor outside autograd.
import { zeros, ones, type Tensor } from '../tensor/index.js';

/** Glorot/Xavier uniform: U(-a, a), a = gain·sqrt(6 / (fanIn + fanOut)), for a [fanOut, fanIn] weight. */
export function glorotUniform(shape: [number, number], gain = 1): Tensor {
  const [fanOut, fanIn] = shape;
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return zeros(shape).uniform_(-a, a);
}

/** torch.nn.Linear's default (Kaiming uniform with a=√5): U(-1/√fanIn, 1/√fanIn). */
export function linearDefault(shape: number[], fanIn: number): Tensor {
  const b = 1 / Math.sqrt(fanIn);
  return zeros(shape).uniform_(-b, b);
}

/** N(0, std²), BERT's initialiser (std 0.02). */
export function normal(shape: number[], std: number): Tensor {
  return zeros(shape).normal_(0, std);
}

export { zeros, ones };
