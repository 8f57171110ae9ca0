// Finds Debian's Python with the reference packages; tests that need it skip when it is absent.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, boolean>();

/** True when /usr/bin/python3 can import every module in `modules`. */
export function hasPython(...modules: string[]): boolean {
  const key = modules.join(',');
  if (!cache.has(key)) {
    const r = spawnSync('/usr/bin/python3', ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' });
    cache.set(key, r.status === 0);
  }
  return cache.get(key)!;
}

/** Runs a test/reference script (a fixture generator or reference computation) with /usr/bin/python3; throws with its stderr on failure. */
export function runReference(script: string, args: string[]): string {
  const path = fileURLToPath(new URL(`../../../test/reference/${script}`, import.meta.url));
  const r = spawnSync('/usr/bin/python3', [path, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}
