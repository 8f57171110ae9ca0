// Assertions shared by tests.
import assert from 'node:assert/strict';

/** Asserts fn throws an Error (not a crash) whose message matches every pattern; returns the message. */
export function throwsWith(fn: () => unknown, ...patterns: RegExp[]): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
  for (const p of patterns) assert.match(err.message, p);
  return err.message;
}
