// The HTTP API against a stub search backend: every route, every bad input the issue lists, the
// bounded queue, the timeout, headers, and the server still answering /healthz after each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { LIMITS } from '../../src/server/schemas.js';
import { PALETTE_HEX } from '../../src/server/depict.js';
import { StubSearch } from './stub.js';

let app: FastifyInstance;
const stub = new StubSearch();

before(async () => { app = await buildServer({ backend: stub }); });
after(async () => { await app.close(); });

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });

async function alive(): Promise<void> {
  const r = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(r.statusCode, 200);
}

/** A 4xx JSON error naming `field` (when given); then the server must still be alive. */
async function bad(r: LightMyRequestResponse, status: number, field?: string): Promise<void> {
  assert.equal(r.statusCode, status, r.body);
  assert.match(String(r.headers['content-type']), /application\/json/);
  const body = r.json();
  assert.equal(body.statusCode, status);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
  if (field !== undefined) {
    assert.equal(body.field, field, body.message);
    assert.ok(body.message.includes(field), `message names the field: ${body.message}`);
  }
  await alive();
}

test('GET /healthz reports the loaded library and the queue', async () => {
  const r = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(r.statusCode, 200);
  const b = r.json();
  assert.equal(b.status, 'ok');
  assert.equal(b.molecules, 5);
  assert.deepEqual(Object.keys(b.queue).sort(), ['maxQueued', 'queued', 'rejected', 'running']);
});

test('POST /api/search returns ranked molecules; k, rerank and substructure pass through', async () => {
  const r = await post('/api/search', { text: 'a painkiller', k: 3, rerank: 20 });
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json();
  assert.equal(b.results.length, 3);
  assert.deepEqual(b.results.map((h: { rank: number }) => h.rank), [1, 2, 3]);
  assert.equal(typeof b.results[0].grains.fused, 'number');
  const s = (await post('/api/search', { text: 'aromatic', substructure: 'c1ccccc1' })).json();
  assert.ok(s.results.every((h: { smiles: string }) => h.smiles.includes('c1')));
  const atLimit = await post('/api/search', { text: 'x'.repeat(LIMITS.textChars), k: LIMITS.maxK });
  assert.equal(atLimit.statusCode, 200);
});

test('search: bad inputs are 4xx JSON naming the field', async () => {
  await bad(await post('/api/search', { text: 'x'.repeat(LIMITS.textChars + 1) }), 400, 'text');
  await bad(await post('/api/search', { text: '' }), 400, 'text');
  await bad(await post('/api/search', {}), 400, 'text');
  await bad(await post('/api/search', { text: 42 }), 400, 'text');
  for (const k of [0, -1, LIMITS.maxK + 1, 1.5, '5', null]) await bad(await post('/api/search', { text: 'acid', k }), 400, 'k');
  await bad(await post('/api/search', { text: 'acid', rerank: -1 }), 400, 'rerank');
  await bad(await post('/api/search', { text: 'acid', unknown: 1 }), 400, 'unknown');
  await bad(await post('/api/search', { text: 'acid', substructure: 'C1CC(' }), 400, 'substructure');
  await bad(await post('/api/search', { text: 'acid', substructure: 'C'.repeat(LIMITS.smilesChars + 1) }), 400, 'substructure');
  await bad(await post('/api/search', [1, 2]), 400);
  await bad(await post('/api/search', '"just a string"'), 400);
});

test('malformed, empty, oversized, non-JSON and poisoned bodies', async () => {
  await bad(await post('/api/search', '{"text": "acid",'), 400);
  await bad(await post('/api/search', '{text: acid}'), 400);
  await bad(await post('/api/search', ''), 400);
  await bad(await post('/api/search', JSON.stringify({ text: 'a', pad: 'x'.repeat(LIMITS.bodyBytes) })), 413);
  await bad(await app.inject({ method: 'POST', url: '/api/search', payload: 'text=acid', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
  await bad(await app.inject({ method: 'POST', url: '/api/search', payload: '{"text":"acid"}', headers: { 'content-type': 'text/plain' } }), 415);
  await bad(await post('/api/search', '{"text":"acid","__proto__":{"polluted":true}}'), 400);
  await bad(await post('/api/search', '{"text":"acid","constructor":{"prototype":{"polluted":true}}}'), 400);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('POST /api/describe: SMILES -> texts; bad SMILES and limits', async () => {
  const r = await post('/api/describe', { smiles: 'CCO', k: 1 });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().results.length, 1);
  assert.equal(typeof r.json().results[0].text, 'string');
  await bad(await post('/api/describe', { smiles: 'C1CC(' }), 400, 'smiles');
  await bad(await post('/api/describe', { smiles: 'not a molecule' }), 400, 'smiles');
  await bad(await post('/api/describe', { smiles: 'C'.repeat(LIMITS.smilesChars + 1) }), 400, 'smiles');
  await bad(await post('/api/describe', { smiles: 'CCO', k: 1000 }), 400, 'k');
  await bad(await post('/api/describe', { smiles: 'CCO', text: 'extra' }), 400, 'text');
  await bad(await post('/api/describe', { text: 'no smiles' }), 400);
});

test('POST /api/explain: tokens, motifs, plan, token motifs, grains, palette and a tagged drawing', async () => {
  const r = await post('/api/explain', { text: 'an aromatic ester and a carboxylic acid', smiles: 'CC(=O)Oc1ccccc1C(=O)O' });
  assert.equal(r.statusCode, 200, r.body);
  const e = r.json();
  assert.equal(e.tokens.length, e.plan.length);
  assert.equal(e.tokens.length, e.tokenMotif.length);
  assert.ok(e.motifs.length >= 2);
  assert.ok(e.plan.every((row: number[]) => row.length === e.motifs.length));
  for (const g of ['global', 'local', 'mid']) assert.equal(typeof e.grains[g], 'number');
  assert.deepEqual(e.palette, PALETTE_HEX);
  assert.ok(e.svg.startsWith('<svg'), 'inline SVG without XML prolog');
  for (let k = 0; k < e.motifs.length; k++) {
    const tagged = [...e.svg.matchAll(new RegExp(`data-motif='${k}'[^>]*fill:(#[0-9A-F]{6})`, 'g'))];
    assert.ok(tagged.length > 0, `motif ${k} is tagged in the drawing`);
    assert.ok(tagged.every((m) => m[1] === PALETTE_HEX[k % PALETTE_HEX.length]), `motif ${k} drawn in its palette colour`);
  }
  const plain = (await post('/api/explain', { text: 'acid', smiles: 'CCO', depict: false })).json();
  assert.equal(plain.svg, undefined);
  await bad(await post('/api/explain', { text: 'acid', smiles: 'C1CC(' }), 400, 'smiles');
  await bad(await post('/api/explain', { text: 'acid' }), 400, 'smiles');
  await bad(await post('/api/explain', { smiles: 'CCO' }), 400, 'text');
  await bad(await post('/api/explain', { text: 'x'.repeat(LIMITS.textChars + 1), smiles: 'CCO' }), 400, 'text');
  await bad(await post('/api/explain', { text: 'acid', smiles: 'CCO', k: 3 }), 400, 'k');
});

test('GET /api/molecules/:id.svg: a library depiction, motif or atom highlights, 404 for unknown ids', async () => {
  const r = await app.inject({ method: 'GET', url: '/api/molecules/2244.svg' });
  assert.equal(r.statusCode, 200, r.body);
  assert.match(String(r.headers['content-type']), /^image\/svg\+xml/);
  assert.match(r.body, /^<svg/);
  const m = await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?highlight=motifs&width=400&height=300' });
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /data-motif='0'/);
  assert.match(m.body, /width='400px'/);
  const a = await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?highlight=0,1,2' });
  assert.equal(a.statusCode, 200);
  assert.ok(a.body.includes(PALETTE_HEX[0]!));
  await bad(await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?highlight=999' }), 400, 'highlight');
  await bad(await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?highlight=rm%20-rf' }), 400, 'highlight');
  await bad(await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?width=5000' }), 400, 'width');
  await bad(await app.inject({ method: 'GET', url: '/api/molecules/2244.svg?color=red' }), 400, 'color');
  await bad(await app.inject({ method: 'GET', url: '/api/molecules/999999.svg' }), 404, 'id');
});

test('GET /api/molecules/:id.svg: path traversal never reaches a file', async () => {
  const attempts = [
    '/api/molecules/..%2F..%2F..%2Fetc%2Fpasswd.svg', '/api/molecules/%2e%2e%2f%2e%2e%2fpackage.json.svg', '/api/molecules/../../../etc/passwd',
    '/api/molecules/..%5C..%5Cpackage.json.svg', '/api/molecules/%00.svg', '/api/molecules/.svg', '/api/molecules/2244.svg%00.png',
    '/api/molecules/....%2F%2Fpackage.json.svg', '/api/molecules/%252e%252e%252fpackage.json.svg', '/assets/../package.json', '/assets/%2e%2e/package.json',
    '/assets/..%2Fpackage.json', '/assets/.%2e/.%2e/package.json',
  ];
  for (const url of attempts) {
    const r = await app.inject({ method: 'GET', url });
    assert.ok([400, 403, 404].includes(r.statusCode), `${url}: ${r.statusCode}`);
    assert.doesNotMatch(r.body, /root:|"dependencies"/, url);
    assert.equal(r.json().statusCode, r.statusCode, url);
    await alive();
  }
});

test('GET /api/docs is an OpenAPI document generated from the route schemas', async () => {
  const r = await app.inject({ method: 'GET', url: '/api/docs' });
  assert.equal(r.statusCode, 200);
  const doc = r.json();
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/api/search', '/api/describe', '/api/explain', '/healthz']) assert.ok(doc.paths[p], p);
  assert.ok(Object.keys(doc.paths).some((p) => p.startsWith('/api/molecules/')));
  const body = doc.paths['/api/search'].post.requestBody.content['application/json'].schema;
  assert.equal(body.properties.text.maxLength, LIMITS.textChars);
  assert.equal(body.properties.k.maximum, LIMITS.maxK);
  assert.equal(body.additionalProperties, false);
});

test('security headers on API and page responses; unknown routes are JSON 404', async () => {
  for (const url of ['/', '/healthz', '/api/molecules/702.svg']) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, url);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /https?:/, 'no outside origin is allowed');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
    assert.ok(r.headers['referrer-policy']);
    assert.equal(r.headers['x-powered-by'], undefined);
  }
  await bad(await app.inject({ method: 'GET', url: '/api/nothing' }), 404);
  await bad(await app.inject({ method: 'DELETE', url: '/api/search' }), 404);
});

test('the page and its bundle are served, with nothing from outside', async () => {
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, /src="\/assets\/main\.js"/);
  assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//);
  const js = await app.inject({ method: 'GET', url: '/assets/main.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  const css = await app.inject({ method: 'GET', url: '/assets/main.css' });
  assert.equal(css.statusCode, 200);
  assert.doesNotMatch(css.body, /url\(|@import|@font-face/);
});

test('the bounded queue: a burst beyond it is 503 with Retry-After, and the server recovers', async () => {
  const slow = new StubSearch(150);
  const s = await buildServer({ backend: slow, concurrency: 1, maxQueued: 2 });
  try {
    const burst = await Promise.all(Array.from({ length: 8 }, () => s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid', rerank: 50 } })));
    const codes = burst.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 200, 200, 503, 503, 503, 503, 503]);
    for (const r of burst.filter((x) => x.statusCode === 503)) {
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.equal(r.json().error, 'busy');
    }
    assert.equal(slow.calls, 3, 'refused requests never reached the model');
    const h = (await s.inject({ method: 'GET', url: '/healthz' })).json();
    assert.equal(h.queue.rejected, 5);
    assert.equal((await s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid' } })).statusCode, 200);
  } finally { await s.close(); }
});

test('synchronous (event-loop blocking) model calls: requests received in the same turn still queue or are refused', async () => {
  // A libtorch call blocks the event loop. Were a job started inside the turn that received its
  // request, the requests received with it would only be seen after it finished, never queue and
  // never be refused (they would wait unbounded in the kernel). bench/serve.ts shows the same over
  // real sockets at 64 connections.
  const blocking = new StubSearch(0, 30);
  const s = await buildServer({ backend: blocking, concurrency: 1, maxQueued: 2 });
  try {
    const burst = await Promise.all(Array.from({ length: 12 }, () => s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid' } })));
    const codes = burst.map((r) => r.statusCode);
    assert.deepEqual([...codes].sort(), [200, 200, 200, ...Array(9).fill(503)], codes.join(','));
    assert.ok(burst.filter((r) => r.statusCode === 503).every((r) => Number(r.headers['retry-after']) >= 1), 'each 503 carries Retry-After');
    assert.equal(blocking.calls, 3, 'only answered requests reached the model');
    assert.equal((await s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid' } })).statusCode, 200);
  } finally { await s.close(); }
});

test('a request that takes too long is answered 504, one that waits too long 503; the server lives on', async () => {
  const slow = new StubSearch(300);
  const s = await buildServer({ backend: slow, concurrency: 1, maxQueued: 4, timeoutMs: 100 });
  try {
    const [first, second] = await Promise.all([
      s.inject({ method: 'POST', url: '/api/explain', payload: { text: 'acid', smiles: 'CCO' } }),
      s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid' } }),
    ]);
    assert.equal(first.statusCode, 504, first.body);
    assert.equal(first.json().error, 'timeout');
    assert.equal(second.statusCode, 503, second.body);
    assert.ok(second.headers['retry-after']);
    assert.equal((await s.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  } finally { await s.close(); }
});

test('close() refuses waiting jobs and leaves the backend to its owner', async () => {
  const slow = new StubSearch(100);
  const s = await buildServer({ backend: slow, concurrency: 1, maxQueued: 4 });
  const running = s.inject({ method: 'POST', url: '/api/search', payload: { text: 'acid' } });
  await new Promise((r) => setTimeout(r, 20));
  await s.close();
  assert.equal((await running).statusCode, 200, 'a running request finishes');
  assert.equal(slow.closed, false);
});
