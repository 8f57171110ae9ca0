// Deterministic lifetimes for native tensors.
//
// libtorch memory is invisible to V8's heap accounting, so waiting for the GC to free tensors lets
// memory balloon. Every Tensor is owned by the innermost open scope (`tidy`) and freed when that
// scope closes, unless it is returned from the scope (then the parent owns it) or `keep`-ed.
// Tensors created outside any scope (model parameters, long-lived state) are freed by `dispose()`,
// by `using`, or, as a last resort, by a FinalizationRegistry when their wrapper is collected.
import { native } from './native.js';

export interface Disposable {
  dispose(): void;
}

/** What a scope needs from a tensor; implemented by Tensor. */
export interface Owned {
  readonly handle: number;
  isDisposed(): boolean;
  dispose(): void;
}

const scopes: Owned[][] = [];
const orphanRegistry = new FinalizationRegistry<number>((handle) => native.free(handle));
const registered = new WeakSet<Owned>();

/** Called by every new Tensor: the innermost scope takes ownership, or the GC safety net does. */
export function adopt(t: Owned): void {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
  else registerOrphan(t);
}

function registerOrphan(t: Owned): void {
  if (registered.has(t)) return;
  registered.add(t);
  orphanRegistry.register(t, t.handle, t);
}

/** Called by Tensor.dispose before the handle is freed. */
export function forget(t: Owned): void {
  if (registered.has(t)) {
    orphanRegistry.unregister(t);
    registered.delete(t);
  }
}

const keptSet = new WeakSet<Owned>();

/** Exempts `t` from the scope that created it (and every enclosing one); dispose it yourself. */
export function keep<T extends Owned>(t: T): T {
  keptSet.add(t);
  registerOrphan(t);
  return t;
}

/** Collects the tensors reachable from a scope's result (arrays, plain objects, Maps). */
function collectOwned(value: unknown, out: Set<Owned>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (isOwned(value)) { out.add(value); return; }
  if (Array.isArray(value)) { for (const v of value) collectOwned(v, out, depth + 1); return; }
  if (value instanceof Map) { for (const v of value.values()) collectOwned(v, out, depth + 1); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectOwned(v, out, depth + 1);
}

let isOwned: (v: unknown) => v is Owned = (_v): _v is Owned => false;
/** Lets tensor.ts say which objects are tensors without a circular import. */
export function setOwnedCheck(check: (v: unknown) => v is Owned): void {
  isOwned = check;
}

/**
 * Runs `fn` in a new scope and frees every tensor created in it, except the tensors in its result
 * (those move to the enclosing scope) and kept ones. `fn` must be synchronous: a tensor created
 * after an `await` would escape the scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Owned[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    disposeAll(scope, new Set());
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    disposeAll(scope, new Set());
    throw new Error('tidy(fn): fn returned a Promise; scopes must be synchronous (await outside tidy)');
  }
  const escaping = new Set<Owned>();
  collectOwned(result, escaping);
  disposeAll(scope, escaping);
  native.flushExternalMemory();  // V8 learns the scope's net effect on tensor memory, not every transient
  for (const t of escaping) if (!t.isDisposed() && scope.includes(t)) adopt(t);
  return result;
}

function disposeAll(scope: Owned[], except: Set<Owned>): void {
  for (const t of scope) if (!except.has(t) && !keptSet.has(t)) t.dispose();
}

/** Frees every tensor in `values` (arrays and plain objects are searched). */
export function dispose(values: unknown): void {
  const found = new Set<Owned>();
  collectOwned(values, found);
  for (const t of found) t.dispose();
}

/** Number of live native tensors: the leak check of tests and benchmarks. */
export function liveTensorCount(): number {
  return native.liveTensors();
}
