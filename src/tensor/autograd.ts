// Grad mode: scopes in which operations record (or do not record) autograd history.
import { native } from './native.js';

/** Runs `fn` without recording autograd history (inference, parameter updates, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs `fn` with autograd on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
