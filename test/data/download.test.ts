// `orma data download` against a loopback HTTP server serving small fixture files: a good download, a
// transfer the server breaks halfway (resumed with a Range request), a server ignoring Range, a wrong
// digest, a 404, a server that never answers, a closed port, and the conversion of both formats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import {
  DATASETS, DownloadError, PCDES_SPLITS, convertChebi20, convertPcdes, downloadDataset, downloadFile, fileUrl,
  gitBlobId, gitBlobIdOfFile, loadPcdesCids, type DatasetSpec,
} from '../../src/data/download.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'data');
const BIN = join(PACKAGE_ROOT, 'bin', 'orma.js');
const fixture = (rel: string) => readFileSync(join(FIXTURES, rel));
const FAST = { connectTimeoutMs: 2000, idleTimeoutMs: 2000, retryDelayMs: 10, progress: null } as const;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
interface Server { url: string; requests: { url: string; range?: string }[]; close(): Promise<void> }

/** A loopback server; `handler` decides each answer, and every request is recorded. */
async function serve(handler: Handler): Promise<Server> {
  const requests: Server['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Serves `files` (URL path -> bytes) with Range support, like a static file server. */
function staticFiles(files: Map<string, Buffer>): Handler {
  return (req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) { res.writeHead(404); res.end('not found'); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }); res.end(); return; }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  };
}

/** The ChEBI-20 spec with each file's pin replaced by the blob id of its fixture. */
function chebiFixtureSpec(): { spec: DatasetSpec; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  const spec: DatasetSpec = {
    ...DATASETS.chebi20!,
    files: DATASETS.chebi20!.files.map((f) => {
      const body = fixture(`chebi20/${f.name}`);
      files.set(`/${f.path}`, body);
      return { ...f, blob: gitBlobId(body) };
    }),
  };
  return { spec, files };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'orma-dl-'));
}

test('git blob ids equal git hash-object; the pinned upstream ids are well-formed', async () => {
  assert.equal(gitBlobId(''), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  assert.equal(gitBlobId('hello\n'), 'ce013625030ba8dba906f756967f9e9ca394464a');
  const file = join(FIXTURES, 'chebi20', 'test.txt');
  assert.equal(await gitBlobIdOfFile(file), gitBlobId(readFileSync(file)));
  for (const spec of Object.values(DATASETS)) for (const f of spec.files) {
    assert.match(f.blob, /^[0-9a-f]{40}$/);
    assert.match(fileUrl(f), /^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/[0-9a-f]{40}\//);
    assert.equal(fileUrl(f, 'http://mirror.local/base/'), `http://mirror.local/base/${f.path}`);
  }
});

test('a good download is verified, kept under raw/, converted, and not fetched again', async () => {
  const { spec, files } = chebiFixtureSpec();
  const server = await serve(staticFiles(files));
  const dir = tmp();
  try {
    const r = await downloadDataset(spec, dir, { ...FAST, mirror: server.url, log: null });
    assert.deepEqual(r.downloads.map((d) => [d.requests, d.resumed, d.cached]), [[1, false, false], [1, false, false], [1, false, false]]);
    for (const f of spec.files) assert.deepEqual(readFileSync(join(dir, 'raw', 'chebi20', f.name)), files.get(`/${f.path}`));
    assert.deepEqual(readdirSync(join(dir, 'raw', 'chebi20')).sort(), ['test.txt', 'train.txt', 'validation.txt']);
    assert.deepEqual(readdirSync(join(dir, 'chebi20')).sort(), ['test.tsv', 'train.tsv.gz', 'validation.tsv']);
    assert.deepEqual(readFileSync(join(dir, 'chebi20', 'test.tsv')), fixture('chebi20/test.txt'));
    assert.deepEqual(gunzipSync(readFileSync(join(dir, 'chebi20', 'train.tsv.gz'))), fixture('chebi20/train.txt'));
    assert.deepEqual(r.converted.files.map((c) => c.rows), [4, 2, 2]);
    const again = await downloadDataset(spec, dir, { ...FAST, mirror: server.url, log: null });
    assert.ok(again.downloads.every((d) => d.cached && d.requests === 0));
    assert.equal(server.requests.length, 3);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a transfer the server breaks halfway resumes with a Range request', async () => {
  const body = fixture('chebi20/train.txt');
  const half = Math.floor(body.length / 2);
  let first = true;
  const ranged = staticFiles(new Map([['/f', body]]));
  const server = await serve((req, res) => {
    if (first) {
      first = false;
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    ranged(req, res);
  });
  const dir = tmp();
  try {
    const dest = join(dir, 'train.txt');
    const r = await downloadFile(`${server.url}/f`, dest, gitBlobId(body), FAST);
    assert.equal(r.requests, 2);
    assert.equal(r.resumed, true);
    assert.deepEqual(server.requests.map((q) => q.range), [undefined, `bytes=${half}-`]);
    assert.deepEqual(readFileSync(dest), body);
    assert.ok(!existsSync(`${dest}.part`));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a partial file from an earlier run is resumed; a server ignoring Range restarts it cleanly', async () => {
  const body = fixture('chebi20/validation.txt');
  const dir = tmp();
  const ranged = await serve(staticFiles(new Map([['/f', body]])));
  const plain = await serve((_req, res) => { res.writeHead(200, { 'content-length': body.length }); res.end(body); });
  try {
    const dest = join(dir, 'v.txt');
    writeFileSync(`${dest}.part`, body.subarray(0, 10));
    const a = await downloadFile(`${ranged.url}/f`, dest, gitBlobId(body), FAST);
    assert.equal(a.resumed, true);
    assert.deepEqual(ranged.requests.map((q) => q.range), ['bytes=10-']);
    assert.deepEqual(readFileSync(dest), body);
    rmSync(dest);
    writeFileSync(`${dest}.part`, 'garbage that is not the start of the file');
    const b = await downloadFile(`${plain.url}/f`, dest, gitBlobId(body), FAST);
    assert.equal(b.resumed, false);
    assert.match(plain.requests[0]!.range ?? '', /^bytes=\d+-$/);
    assert.deepEqual(readFileSync(dest), body);
  } finally {
    await ranged.close();
    await plain.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong digest: the file is refused and removed, and the message gives both ids', async () => {
  const { spec, files } = chebiFixtureSpec();
  const wrong: DatasetSpec = { ...spec, files: spec.files.map((f, i) => (i === 0 ? { ...f, blob: '0123456789abcdef0123456789abcdef01234567' } : f)) };
  const server = await serve(staticFiles(files));
  const dir = tmp();
  try {
    const got = gitBlobId(fixture('chebi20/train.txt'));
    await assert.rejects(downloadDataset(wrong, dir, { ...FAST, mirror: server.url, log: null }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.kind, 'digest');
      assert.match(e.message, new RegExp(`git blob id ${got} .*expected 0123456789abcdef0123456789abcdef01234567`));
      assert.match(e.message, /The file was removed/);
      return true;
    });
    assert.deepEqual(readdirSync(join(dir, 'raw', 'chebi20')), []);
    assert.ok(!existsSync(join(dir, 'chebi20')));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 404 fails at once with the status, the URL and the mirror layout', async () => {
  const server = await serve(staticFiles(new Map()));
  const dir = tmp();
  try {
    await assert.rejects(downloadDataset(DATASETS.pcdes!, dir, { ...FAST, mirror: server.url, log: null }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.kind, 'http');
      assert.match(e.message, /could not download align_smiles\.txt from http:\/\/127\.0\.0\.1:\d+\/thunlp\/KV-PLM\/[0-9a-f]{40}\/Ret\/align_smiles\.txt: HTTP 404/);
      assert.match(e.message, /Check that the mirror serves the upstream layout/);
      return true;
    });
    assert.equal(server.requests.length, 1);
    assert.deepEqual(readdirSync(join(dir, 'raw', 'pcdes')), []);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a server that never answers fails within the timeout, with the offline advice', async () => {
  const server = await serve(() => { /* accept the request, never answer */ });
  const dir = tmp();
  try {
    const t0 = performance.now();
    await assert.rejects(downloadDataset(DATASETS.chebi20!, dir, { ...FAST, connectTimeoutMs: 300, mirror: server.url, log: null }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.kind, 'timeout');
      assert.match(e.message, /no answer from 127\.0\.0\.1:\d+ within 0\.3 s/);
      assert.match(e.message, /seems to be offline, or 127\.0\.0\.1:\d+ is blocked/);
      assert.match(e.message, /--mirror BASE_URL/);
      return true;
    });
    assert.ok(performance.now() - t0 < 5000);
    assert.deepEqual(readdirSync(join(dir, 'raw', 'chebi20')), []);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a body that stalls is retried, and gives up after --retries with the .part kept for the next run', async () => {
  const body = fixture('chebi20/train.txt');
  const server = await serve((_req, res) => { res.writeHead(200, { 'content-length': body.length }); res.write(body.subarray(0, 100)); });
  const dir = tmp();
  try {
    const dest = join(dir, 'train.txt');
    await assert.rejects(downloadFile(`${server.url}/f`, dest, gitBlobId(body), { ...FAST, idleTimeoutMs: 200, retries: 2 }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.equal(e.kind, 'broken');
      assert.match(e.message, /stalled for 0\.2 s/);
      return true;
    });
    assert.equal(server.requests.length, 3);
    assert.ok(!existsSync(dest));
    assert.equal(readFileSync(`${dest}.part`).length, 100);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ChEBI-20 conversion refuses a file that is not in MolT5 format, writing nothing', () => {
  const dir = tmp();
  try {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'CID\tSMILES\tdescription\n1\tCCO\n');
    const raw = { train: bad, validation: join(FIXTURES, 'chebi20', 'validation.txt'), test: join(FIXTURES, 'chebi20', 'test.txt') };
    assert.throws(() => convertChebi20(raw, join(dir, 'out')), /chebi20: train is not in MolT5's format:\n {2}.*bad\.txt:2: 2 fields, expected 3/);
    assert.ok(!existsSync(join(dir, 'out')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PCdes conversion: split by line index, CIDs from the map, trailing spaces trimmed, empty rows reported', () => {
  const dir = tmp();
  try {
    const smiles = fixture('pcdes/align_smiles.txt').toString('utf8');
    const des = fixture('pcdes/align_des_filt3.txt').toString('utf8');
    const cids = Array.from({ length: 10 }, (_, i) => String(1000 + i));
    const r = convertPcdes(smiles, des, dir, { validation: 6, test: 8, total: 10 }, cids);
    assert.deepEqual(r.files.map((f) => [f.file.slice(dir.length + 1), f.rows]), [['train.tsv.gz', 5], ['validation.tsv', 2], ['test.tsv', 2]]);
    const train = gunzipSync(readFileSync(join(dir, 'train.tsv.gz'))).toString('utf8').split('\n');
    assert.equal(train[0], 'index\tCID\tSMILES\tdescription');
    assert.equal(train[1], '0\t1000\tCCO\tit is a primary alcohol.');
    assert.equal(train[3], '2\t1002\tC1=CC=CC=C1\tit is an aromatic hydrocarbon.');
    assert.equal(train[5], '4\t1004\tO=Cl=O\tit is a chlorine oxide.');
    assert.equal(readFileSync(join(dir, 'validation.tsv'), 'utf8'), 'index\tCID\tSMILES\tdescription\n6\t1006\tCCCC\tit is butane, 126\u00c2\u00b0F.\n7\t1007\tC(=O)O\tit is formic acid.\n');
    assert.equal(readFileSync(join(dir, 'test.tsv'), 'utf8').split('\n')[1], '8\t1008\tCC(C)O\tit is propan-2-ol.');
    assert.deepEqual(r.notes, ['pcdes: 1 rows with an empty SMILES or description left out (indices 5)', 'pcdes: 1 descriptions had a tab, replaced by a space']);
    assert.throws(() => convertPcdes(smiles, des, dir, PCDES_SPLITS, cids), /expected 15000 lines in each file, got 10 SMILES and 10 descriptions/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped PCdes CID map covers all 15,000 lines', () => {
  const cids = loadPcdesCids();
  assert.equal(cids.length, 15000);
  assert.ok(cids.every((c) => /^\d+$/.test(c)));
  assert.equal(cids[10500], '146156250'); // the first validation row
});

test('PCdes download end to end through a mirror', async () => {
  const files = new Map<string, Buffer>();
  const spec: DatasetSpec = {
    ...DATASETS.pcdes!,
    files: DATASETS.pcdes!.files.map((f) => { const b = fixture(`pcdes/${f.name}`); files.set(`/${f.path}`, b); return { ...f, blob: gitBlobId(b) }; }),
    convert: (raw, out) => convertPcdes(readFileSync(raw.smiles!, 'utf8'), readFileSync(raw.descriptions!, 'utf8'), join(out, 'pcdes'), { validation: 6, test: 8, total: 10 }, loadPcdesCids()),
  };
  const server = await serve(staticFiles(files));
  const dir = tmp();
  try {
    const r = await downloadDataset(spec, dir, { ...FAST, mirror: `${server.url}/`, log: null });
    assert.deepEqual(r.converted.files.map((f) => f.rows), [5, 2, 2]);
    assert.match(readFileSync(join(dir, 'pcdes', 'test.tsv'), 'utf8'), /^index\tCID\tSMILES\tdescription\n8\t\d+\tCC\(C\)O\t/);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the CLI without blocking this process's event loop (the test server lives here). */
function ormaAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('CLI: a mirror serving other bytes is refused (exit 1, both ids, nothing left); a closed port says offline', async () => {
  const { files } = chebiFixtureSpec(); // fixture bytes at the real paths: they cannot match the real pins
  const server = await serve(staticFiles(files));
  const dir = tmp();
  try {
    const r = await ormaAsync(['data', 'download', 'chebi20', '--out', dir, '--mirror', server.url, '--timeout', '2', '--retries', '0']);
    assert.equal(r.code, 1, r.stderr);
    const got = gitBlobId(fixture('chebi20/train.txt'));
    assert.match(r.stderr, new RegExp(`orma data: chebi20: could not download train\\.txt .*git blob id ${got} \\(\\d+ bytes\\), expected ${DATASETS.chebi20!.files[0]!.blob}`));
    assert.deepEqual(readdirSync(join(dir, 'raw', 'chebi20')), []);
    assert.ok(!existsSync(join(dir, 'chebi20')));

    await server.close();
    const closed = await ormaAsync(['data', 'download', 'pcdes', '--out', dir, '--mirror', server.url, '--timeout', '2']);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /cannot connect to 127\.0\.0\.1:\d+: ECONNREFUSED/);
    assert.match(closed.stderr, /seems to be offline/);
    assert.equal(closed.stderr.trim().split('\n').length, 2, closed.stderr); // one message, no stack trace

    const usage = await ormaAsync(['data', 'download', 'zinc', '--out', dir]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown data set 'zinc' \(known: chebi20, pcdes\)/);
  } finally {
    await server.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
