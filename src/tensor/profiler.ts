// Op-level profiles of the engine: libtorch's own profiler (native/src/profiler.cc) records every
// dispatched op and backward node with its time; `profile` runs a function under it and returns the
// Chrome trace's events aggregated per op name, with self time (an op's time minus its children's: an
// einsum's matmul counts once, as bmm). For benchmarks (bench/orma.ts --profile), not for training.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from './native.js';

export interface OpTime {
  name: string;
  calls: number;
  /** Milliseconds inside the op, children excluded. */
  selfMs: number;
  /** Milliseconds inside the op, children included. */
  totalMs: number;
}

export interface Profile<T> {
  result: T;
  /** Ops by self time, largest first. */
  ops: OpTime[];
  /** Milliseconds of the outermost ops (time the profiler saw in libtorch). */
  recordedMs: number;
}

interface TraceEvent { name: string; ph: string; ts: number; dur: number; tid: number | string }

/** Runs fn under the profiler (synchronous work only: the profiler sees this thread). */
export function profile<T>(fn: () => T, o: { trace?: string } = {}): Profile<T> {
  const dir = o.trace ? null : mkdtempSync(join(tmpdir(), 'orma-profile-'));
  const path = o.trace ?? join(dir!, 'trace.json');
  try {
    native.profilerStart(path);
    let result: T;
    try {
      result = fn();
    } finally {
      native.profilerStop();   // writes the trace
    }
    return { result, ...summarizeTrace(JSON.parse(readFileSync(path, 'utf8')) as TraceEvent[]) };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Self and total time per op name from complete ('X') events, nesting read per thread from the intervals. */
export function summarizeTrace(events: TraceEvent[]): { ops: OpTime[]; recordedMs: number } {
  const byName = new Map<string, OpTime>();
  let recorded = 0;
  const threads = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const list = threads.get(String(e.tid));
    if (list) list.push(e); else threads.set(String(e.tid), [e]);
  }
  for (const list of threads.values()) {
    // parents before children: by start, the longer first at equal starts
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const stack: { end: number; self: number; op: OpTime }[] = [];
    const close = (upTo: number) => {
      while (stack.length && stack[stack.length - 1]!.end <= upTo) {
        const done = stack.pop()!;
        done.op.selfMs += done.self / 1000;
      }
    };
    for (const e of list) {
      close(e.ts);
      const op = byName.get(e.name) ?? { name: e.name, calls: 0, selfMs: 0, totalMs: 0 };
      byName.set(e.name, op);
      op.calls += 1;
      op.totalMs += e.dur / 1000;
      const parent = stack[stack.length - 1];
      if (parent) parent.self -= e.dur; else recorded += e.dur;
      stack.push({ end: e.ts + e.dur, self: e.dur, op });
    }
    close(Infinity);
  }
  return { ops: [...byName.values()].sort((a, b) => b.selfMs - a.selfMs), recordedMs: recorded / 1000 };
}
