// Load and fault run for `orma serve` (autocannon against loopback, bounded in time): requests/s,
// p50/p99 latency and errors at 16 connections for search (global only, reranked) and explain; then an
// overload of a server with a small queue (how many 503s, their Retry-After, whether anything else
// failed, and that it answers afterwards); the server's RSS before and after each phase.
//   node dist/bench/serve.js [--seconds 10] [--connections 16] [--model DIR] [--library FILE|DIR]
// The server runs in a child process (`orma serve`), so the load generator does not share its CPU time
// accounting or event loop; on a 2-core machine they still share the cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hostInfo } from './stats.js';

const { values: v } = parseArgs({ options: {
  seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' },
  model: { type: 'string', default: 'test/fixtures/models/tiny' }, library: { type: 'string', default: 'test/fixtures/search' },
} });
const SECONDS = Math.min(20, Number(v.seconds)); // each run is bounded: at most 20 s
const CONNECTIONS = Number(v.connections);
const TEXT = 'The molecule is a member of the class of pyrrolidines that is pyrrolidine substituted by a methyl group at position 2.';
const SMILES = 'CC1CCCN1';

interface Server { child: ChildProcess; url: string; stderr: () => string }

async function startServer(index: string, extra: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, ['bin/orma.js', 'serve', '--model', v.model!, '--library', v.library!, '--index', index, '--port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const url = await new Promise<string>((resolve, reject) => {
    const t = setInterval(() => { const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(err); if (m) { clearInterval(t); resolve(m[1]!); } }, 50);
    child.on('exit', (code) => { clearInterval(t); reject(new Error(`orma serve exited ${code}: ${err}`)); });
  });
  return { child, url, stderr: () => err };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024 * 10) / 10 : NaN;
}

async function stop(s: Server): Promise<number | null> {
  const exited = new Promise<number | null>((r) => s.child.on('exit', (code) => r(code)));
  s.child.kill('SIGTERM');
  return exited;
}

async function load(url: string, path: string, body: unknown, connections = CONNECTIONS) {
  const r = await autocannon({
    url: url + path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    connections, duration: SECONDS, timeout: 30,
  });
  return {
    path, body, connections, seconds: SECONDS,
    requests_per_s: Math.round(r.requests.average * 10) / 10, requests: r.requests.total,
    latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx,
    status: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, x]) => [k, (x as { count: number }).count])),
  };
}

async function warm(url: string): Promise<void> {
  for (const [path, body] of [['/api/search', { text: TEXT, rerank: 0 }], ['/api/search', { text: TEXT }], ['/api/explain', { text: TEXT, smiles: SMILES }]] as const) {
    for (let i = 0; i < 3; i++) await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }
}

async function main(): Promise<void> {
  const index = mkdtempSync(join(tmpdir(), 'orma-bench-serve-'));
  const out: Record<string, unknown> = { host: hostInfo(), loadavg_before: loadavg(), model: v.model, library: v.library };
  try {
    // ---- throughput and latency at 16 connections ----
    const s = await startServer(index);
    const pid = s.child.pid!;
    out.rss_mib_started = rssMiB(pid);
    await warm(s.url);
    out.rss_mib_warm = rssMiB(pid);
    const runs = [];
    runs.push({ name: 'search, global only', ...await load(s.url, '/api/search', { text: TEXT, k: 10, rerank: 0 }), rss_mib_after: rssMiB(pid) });
    runs.push({ name: 'search, reranked (top 50)', ...await load(s.url, '/api/search', { text: TEXT, k: 10, rerank: 50 }), rss_mib_after: rssMiB(pid) });
    runs.push({ name: 'explain', ...await load(s.url, '/api/explain', { text: TEXT, smiles: SMILES, depict: true }), rss_mib_after: rssMiB(pid) });
    out.runs = runs;
    out.exit_code = await stop(s);

    // ---- overload: queue of 4, 64 connections of the costliest search ----
    const o = await startServer(index, ['--queue', '4']);
    const opid = o.child.pid!;
    await warm(o.url);
    const before = rssMiB(opid);
    const burst = await load(o.url, '/api/search', { text: TEXT, k: 100, rerank: 120 }, 64);
    const health = await fetch(o.url + '/healthz');
    const retryAfter = await fetch(o.url + '/api/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: TEXT }) });
    out.overload = {
      queue: 4, ...burst, rss_mib_before: before, rss_mib_after: rssMiB(opid),
      healthz_after: health.status, queue_after: ((await health.json()) as { queue: unknown }).queue, search_after: retryAfter.status,
    };
    out.overload_exit_code = await stop(o);
  } finally {
    rmSync(index, { recursive: true, force: true });
  }
  out.loadavg_after = loadavg();
  console.log(JSON.stringify(out, null, 2));
}

await main();
