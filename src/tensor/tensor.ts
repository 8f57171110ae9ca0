// The Tensor class: a typed handle to a libtorch tensor. Ops return new tensors owned by the
// current scope (see scope.ts). Shapes are number[]; dims may be negative (counted from the end).
import { COMPARE, native, UNARY } from './native.js';
import { adopt, forget, setOwnedCheck, type Owned } from './scope.js';
import { dtypeFromCode, typedArrayFor, type AnyTypedArray, type DType, DTYPE_CODES } from './dtype.js';
import { parseDevice, type Device } from './device.js';

export type { Device } from './device.js';

export type Scalar = number;
export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

/** Wraps a handle returned by the addon. */
export function wrap(h: number): Tensor {
  return new Tensor(h);
}

export class Tensor implements Owned {
  private h: number;
  private cachedShape: number[] | undefined;

  constructor(handle: number) {
    this.h = handle;
    adopt(this);
  }

  /** The addon's handle; throws if the tensor was disposed. */
  get handle(): number {
    if (this.h < 0) throw new Error('tensor used after dispose()');
    return this.h;
  }

  isDisposed(): boolean {
    return this.h < 0;
  }

  /** Frees the native memory now (idempotent). */
  dispose(): void {
    if (this.h < 0) return;
    forget(this);
    native.free(this.h);
    this.h = -1;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- metadata ----
  get shape(): number[] {
    return (this.cachedShape ??= native.shape(this.handle));
  }
  get ndim(): number {
    return this.shape.length;
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.handle));
  }
  get device(): Device {
    return parseDevice(native.device(this.handle));
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new Error(`size(${dim}): dim out of range for shape [${s.join(', ')}]`);
    return s[d]!;
  }
  toString(): string {
    return this.h < 0 ? 'Tensor(disposed)' : `Tensor(${this.dtype}[${this.shape.join(', ')}], ${this.device})`;
  }

  // ---- data out ----
  /** A copy of the elements, flattened in row-major order. */
  toArray(): AnyTypedArray {
    return typedArrayFor(this.dtype, native.toArray(this.handle));
  }
  /** The elements as plain numbers (int64 converted, exact below 2^53; bfloat16/float16 as their values, not their bits). */
  toNumbers(): number[] {
    const dt = this.dtype;
    if (dt === 'bfloat16' || dt === 'float16') {
      const f = wrap(native.to(this.handle, DTYPE_CODES.float32, this.device));
      try { return f.toNumbers(); } finally { f.dispose(); }
    }
    const a = this.toArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return native.item(this.handle);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }

  // ---- conversion ----
  to(dtypeOrDevice: DType | Device, device?: Device): Tensor {
    const isDtype = dtypeOrDevice in DTYPE_CODES;
    const dtype = isDtype ? (dtypeOrDevice as DType) : this.dtype;
    const dev = isDtype ? (device ?? this.device) : dtypeOrDevice;
    return wrap(native.to(this.handle, DTYPE_CODES[dtype], parseDevice(dev)));
  }
  /**
   * Moves this tensor's data to `device` in place, keeping the tensor object, its handle and
   * requires_grad (as PyTorch's `t.data = t.data.to(device)`); a gradient moves with it. Returns this.
   */
  moveTo_(device: Device): this {
    native.moveTo(this.handle, parseDevice(device));
    return this;
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }
  clone(): Tensor { return wrap(native.clone(this.handle)); }
  contiguous(): Tensor { return wrap(native.contiguous(this.handle)); }
  /** Copies `src` into this tensor in place (no autograd record). */
  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); return this; }
  fill_(value: number): this { native.fill_(this.handle, value); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this.handle, mean, std); return this; }
  uniform_(low = 0, high = 1): this { native.uniform_(this.handle, low, high); return this; }

  // ---- views and shape ----
  reshape(...shape: number[]): Tensor { return wrap(native.reshape(this.handle, shape)); }
  view(...shape: number[]): Tensor { return wrap(native.view(this.handle, shape)); }
  transpose(d0: number, d1: number): Tensor { return wrap(native.transpose(this.handle, d0, d1)); }
  /** Transpose of the last two dims. */
  get mT(): Tensor { return this.transpose(-2, -1); }
  permute(...dims: number[]): Tensor { return wrap(native.permute(this.handle, dims)); }
  narrow(dim: number, start: number, length: number): Tensor { return wrap(native.narrow(this.handle, dim, start, length)); }
  /** Elements start..end (exclusive, negative counts from the end) along `dim`. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return wrap(native.slice(this.handle, dim, start, end ?? Number.MAX_SAFE_INTEGER, step));
  }
  select(dim: number, index: number): Tensor { return wrap(native.select(this.handle, dim, index)); }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(this.handle, dim)); }
  squeeze(dim: number): Tensor { return wrap(native.squeeze(this.handle, dim)); }
  flatten(start = 0, end = -1): Tensor { return wrap(native.flatten(this.handle, start, end)); }
  expand(...shape: number[]): Tensor { return wrap(native.expand(this.handle, shape)); }
  expandAs(other: Tensor): Tensor { return this.expand(...other.shape); }
  split(sizes: number[], dim = 0): Tensor[] { return native.split(this.handle, sizes, dim).map(wrap); }
  tril(diagonal = 0): Tensor { return wrap(native.tril(this.handle, diagonal)); }

  // ---- indexing ----
  indexSelect(dim: number, index: Tensor): Tensor { return wrap(native.indexSelect(this.handle, dim, index.handle)); }
  gather(dim: number, index: Tensor): Tensor { return wrap(native.gather(this.handle, dim, index.handle)); }
  maskedFill(mask: Tensor, value: number): Tensor { return wrap(native.maskedFill(this.handle, mask.handle, value)); }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(this.handle, mask.handle)); }
  /** out = this; out[index[i]] += src[i] along dim (as torch.index_add). */
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(native.indexAdd(this.handle, dim, index.handle, src.handle)); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap(native.scatterAdd(this.handle, dim, index.handle, src.handle)); }
  scatterReduce(dim: number, index: Tensor, src: Tensor, reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin', includeSelf = true): Tensor {
    return wrap(native.scatterReduce(this.handle, dim, index.handle, src.handle, reduce, includeSelf));
  }
  nonzero(): Tensor { return wrap(native.nonzero(this.handle)); }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: wrap(v), indices: wrap(i) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: wrap(v), indices: wrap(i) };
  }
  argsort(dim = -1, descending = false): Tensor { return wrap(native.argsort(this.handle, dim, descending)); }
  oneHot(numClasses: number): Tensor { return wrap(native.oneHot(this.handle, numClasses)); }

  // ---- arithmetic (tensor or scalar operand, broadcasting) ----
  add(other: Tensor | Scalar, alpha = 1): Tensor {
    return typeof other === 'number' ? wrap(native.addScalar(this.handle, other * alpha)) : wrap(native.add(this.handle, other.handle, alpha));
  }
  sub(other: Tensor | Scalar, alpha = 1): Tensor {
    return typeof other === 'number' ? wrap(native.addScalar(this.handle, -other * alpha)) : wrap(native.sub(this.handle, other.handle, alpha));
  }
  /** other - this */
  rsub(other: Scalar): Tensor { return wrap(native.rsubScalar(this.handle, other)); }
  mul(other: Tensor | Scalar): Tensor {
    return typeof other === 'number' ? wrap(native.mulScalar(this.handle, other)) : wrap(native.mul(this.handle, other.handle));
  }
  div(other: Tensor | Scalar): Tensor {
    return typeof other === 'number' ? wrap(native.divScalar(this.handle, other)) : wrap(native.div(this.handle, other.handle));
  }
  pow(other: Tensor | Scalar): Tensor {
    return typeof other === 'number' ? wrap(native.powScalar(this.handle, other)) : wrap(native.pow(this.handle, other.handle));
  }
  maximum(other: Tensor): Tensor { return wrap(native.maximum(this.handle, other.handle)); }
  minimum(other: Tensor): Tensor { return wrap(native.minimum(this.handle, other.handle)); }
  clamp(min: number | null, max: number | null = null): Tensor { return wrap(native.clamp(this.handle, min, max)); }
  clampMin(min: number): Tensor { return this.clamp(min, null); }
  matmul(other: Tensor): Tensor { return wrap(native.matmul(this.handle, other.handle)); }
  bmm(other: Tensor): Tensor { return wrap(native.bmm(this.handle, other.handle)); }

  // ---- comparisons and logic (bool results) ----
  eq(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.eq); }
  ne(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.ne); }
  lt(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.lt); }
  le(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.le); }
  gt(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.gt); }
  ge(o: Tensor | Scalar): Tensor { return this.compare(o, COMPARE.ge); }
  private compare(o: Tensor | Scalar, code: number): Tensor {
    return typeof o === 'number' ? wrap(native.compare(this.handle, o, code, true)) : wrap(native.compare(this.handle, o.handle, code, false));
  }
  logicalAnd(o: Tensor): Tensor { return wrap(native.logicalAnd(this.handle, o.handle)); }
  logicalOr(o: Tensor): Tensor { return wrap(native.logicalOr(this.handle, o.handle)); }
  logicalNot(): Tensor { return wrap(native.logicalNot(this.handle)); }

  // ---- element-wise functions ----
  exp(): Tensor { return this.unary(UNARY.exp); }
  log(): Tensor { return this.unary(UNARY.log); }
  log1p(): Tensor { return this.unary(UNARY.log1p); }
  sqrt(): Tensor { return this.unary(UNARY.sqrt); }
  rsqrt(): Tensor { return this.unary(UNARY.rsqrt); }
  abs(): Tensor { return this.unary(UNARY.abs); }
  neg(): Tensor { return this.unary(UNARY.neg); }
  sign(): Tensor { return this.unary(UNARY.sign); }
  floor(): Tensor { return this.unary(UNARY.floor); }
  ceil(): Tensor { return this.unary(UNARY.ceil); }
  round(): Tensor { return this.unary(UNARY.round); }
  reciprocal(): Tensor { return this.unary(UNARY.reciprocal); }
  square(): Tensor { return this.unary(UNARY.square); }
  sin(): Tensor { return this.unary(UNARY.sin); }
  cos(): Tensor { return this.unary(UNARY.cos); }
  relu(): Tensor { return this.unary(UNARY.relu); }
  /** Exact (erf) GELU as BERT uses; `tanh` selects the approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return this.unary(approximate === 'tanh' ? UNARY.geluTanh : UNARY.gelu); }
  tanh(): Tensor { return this.unary(UNARY.tanh); }
  sigmoid(): Tensor { return this.unary(UNARY.sigmoid); }
  isnan(): Tensor { return this.unary(UNARY.isnan); }
  isfinite(): Tensor { return this.unary(UNARY.isfinite); }
  private unary(code: number): Tensor { return wrap(native.unary(this.handle, code)); }

  // ---- reductions: no dim reduces everything ----
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? wrap(native.sumAll(this.handle)) : wrap(native.sum(this.handle, dimsOf(dim), keepdim));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? wrap(native.meanAll(this.handle)) : wrap(native.mean(this.handle, dimsOf(dim), keepdim));
  }
  /** Max over everything, or along `dim` returning values and indices. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.maxAll(this.handle));
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.minAll(this.handle));
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  argmax(dim: number, keepdim = false): Tensor { return wrap(native.argmax(this.handle, dim, keepdim)); }
  argmin(dim: number, keepdim = false): Tensor { return wrap(native.argmin(this.handle, dim, keepdim)); }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return wrap(native.logsumexp(this.handle, dimsOf(dim), keepdim)); }
  /** p-norm over `dim` (all dims when omitted). */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return wrap(native.norm(this.handle, p, dim === undefined ? [] : dimsOf(dim), keepdim));
  }
  /** Variance with Bessel's correction by default (correction=1), as torch.var. */
  var(dim: number | number[], keepdim = false, correction = 1): Tensor {
    return wrap(native.var(this.handle, dimsOf(dim), correction, keepdim));
  }
  cumsum(dim: number): Tensor { return wrap(native.cumsum(this.handle, dim)); }
  any(): boolean { return this.reduceBool(native.any(this.handle)); }
  all(): boolean { return this.reduceBool(native.all(this.handle)); }
  private reduceBool(h: number): boolean {
    const t = wrap(h);
    const v = t.item() !== 0;
    t.dispose();
    return v;
  }

  // ---- nn functions ----
  softmax(dim: number): Tensor { return wrap(native.softmax(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return wrap(native.logSoftmax(this.handle, dim)); }

  // ---- autograd ----
  get requiresGrad(): boolean { return native.requiresGrad(this.handle); }
  /** Marks a leaf tensor as a parameter to differentiate (in place). */
  requiresGrad_(on = true): this { native.setRequiresGrad(this.handle, on); return this; }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** The accumulated gradient (a new tensor sharing its memory), or null before any backward. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g < 0 ? null : wrap(g);
  }
  /** Clears the accumulated gradient (as zero_grad(set_to_none=True)). */
  zeroGrad(): void { native.zeroGrad([this.handle]); }
  backward(gradient?: Tensor, retainGraph = false): void {
    native.backward(this.handle, gradient ? gradient.handle : -1, retainGraph);
  }
  /** A tensor sharing this one's data but cut from the autograd graph. */
  detach(): Tensor { return wrap(native.detach(this.handle)); }
}

setOwnedCheck((v: unknown): v is Tensor => v instanceof Tensor);

function dimsOf(dim: number | number[]): number[] {
  return typeof dim === 'number' ? [dim] : dim;
}

export { REDUCTION };
