// Measurement helpers shared by the benchmarks: order statistics, timers, and the CPU other processes
// took meanwhile (the machine is shared, so every number says how busy it was). No tensors here:
// benchmarks that do not load libtorch (chem, text) import this without loading it.
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';

/** The median (for an even count, the upper of the two middle values), of a copy sorted ascending. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** The p-th percentile (0-100) by the nearest rank below: sorted[floor(p/100 · n)], clamped; p 50 is `median`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of no values');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor((p / 100) * s.length)))]!;
}

export interface Summary { median_ms: number; min_ms: number; max_ms: number; runs: number; total_ms: number }

/** Median, extremes and total of times in milliseconds. */
export function summarize(times: readonly number[]): Summary {
  const s = [...times].sort((a, b) => a - b);
  return { median_ms: median(s), min_ms: s[0]!, max_ms: s[s.length - 1]!, runs: s.length, total_ms: s.reduce((a, b) => a + b, 0) };
}

/** Milliseconds `fn` takes once. */
export function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Median of the timings of `fn` over `reps` runs after `warmup` runs, in milliseconds. */
export function timeMedian(fn: () => void, reps: number, warmup = 1): { median_ms: number; min_ms: number; runs: number } {
  for (let i = 0; i < warmup; i++) fn();
  const { median_ms, min_ms, runs } = summarize(Array.from({ length: reps }, () => timeMs(fn)));
  return { median_ms, min_ms, runs };
}

/** What a measurement window cost: wall and own CPU seconds, the CPU other processes took, page faults. */
export interface CpuShare {
  wall_s: number;
  /** This process's CPU time (user + system). */
  own_s: number;
  /** CPU time of the whole machine (/proc/stat), NaN where there is none. */
  machine_busy_s: number;
  /** CPU other processes took meanwhile, in cores (machine busy minus own, over wall time). */
  other_cores: number;
  minor_faults: number;
  major_faults: number;
}

function machineBusySeconds(): number {
  // first line of /proc/stat: user nice system idle iowait irq softirq steal ... in USER_HZ (100/s on Linux)
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / 100;
}

/** Starts a measurement window; call the result to close it. */
export function cpuWindow(): () => CpuShare {
  const hasStat = existsSync('/proc/stat');
  const w0 = performance.now(), u0 = process.cpuUsage(), m0 = hasStat ? machineBusySeconds() : NaN;
  const r0 = process.resourceUsage();
  return () => {
    const wall = (performance.now() - w0) / 1000, u = process.cpuUsage(u0), own = (u.user + u.system) / 1e6;
    const busy = hasStat ? machineBusySeconds() - m0 : NaN;
    const r = process.resourceUsage();
    return {
      wall_s: wall, own_s: own, machine_busy_s: busy, other_cores: Math.max(0, busy - own) / wall,
      minor_faults: r.minorPageFault - r0.minorPageFault, major_faults: r.majorPageFault - r0.majorPageFault,
    };
  };
}

/** The host, without the engine (machine.ts adds libtorch's threads and BLAS). */
export function hostInfo(): Record<string, unknown> {
  return {
    os: `${os.type()} ${os.release()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}
