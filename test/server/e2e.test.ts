// End to end: the real OrmaSearch over the tiny fixture model and the fixture libraries, the HTTP
// server on loopback, and Debian's Chromium driven by playwright-core: a search, an explanation whose
// token colours and motif highlights agree, hover both ways, keyboard, error and SMILES modes,
// screenshots at laptop and phone width; and `orma serve` itself stopping gracefully on SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { loadBackend } from '../../src/server/load.js';
import { PALETTE_HEX } from '../../src/server/depict.js';
import type { SearchBackend } from '../../src/server/backend.js';

const MODEL = 'test/fixtures/models/tiny';
const LIBRARY = 'test/fixtures/search';
const CHROMIUM = '/usr/bin/chromium';
const QUERY = 'The molecule is a member of the class of pyrrolidines that is pyrrolidine substituted by a methyl group.';
/** ORMA_SCREENSHOTS=docs/screenshots refreshes the committed ones; otherwise they go to a temp folder. */
const SHOTS = process.env.ORMA_SCREENSHOTS ?? join(tmpdir(), 'orma-screenshots');

let work: string, backend: SearchBackend, app: FastifyInstance, base: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'orma-serve-'));
  backend = await loadBackend({ model: MODEL, library: LIBRARY, indexDir: join(work, 'index') });
  app = await buildServer({ backend });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await app?.close();
  backend?.close();
  rmSync(work, { recursive: true, force: true });
});

async function api(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

test('real search: global-only and reranked results from the fixture library, describe and explain', async () => {
  const g = await api('/api/search', { text: QUERY, k: 5, rerank: 0 });
  assert.equal(g.status, 200, JSON.stringify(g.json));
  assert.equal(g.json.results.length, 5);
  assert.equal(g.json.results[0].grains.fused, undefined);
  const r = await api('/api/search', { text: QUERY, k: 5, rerank: 20 });
  assert.equal(r.status, 200);
  assert.equal(typeof r.json.results[0].grains.fused, 'number');
  for (const hit of r.json.results) assert.ok(backend.molecule(hit.id), `hit ${hit.id} is a library molecule`);
  const sub = await api('/api/search', { text: QUERY, k: 5, substructure: 'C1CCNC1' });
  assert.equal(sub.status, 200);
  assert.ok(sub.json.results.length >= 1);
  assert.ok((await api('/api/search', { text: QUERY, substructure: 'C1CC(' })).json.field === 'substructure');
  const d = await api('/api/describe', { smiles: 'CC1CCCN1', k: 3 });
  assert.equal(d.status, 200);
  assert.equal(d.json.results.length, 3);
  assert.equal((await api('/api/describe', { smiles: 'C1CC(' })).json.field, 'smiles');
  const e = await api('/api/explain', { text: QUERY, smiles: 'CC1CCCN1' });
  assert.equal(e.status, 200);
  assert.equal(e.json.tokens[0], '[CLS]');
  assert.equal(e.json.plan.length, e.json.tokens.length);
  assert.ok(e.json.tokenMotif.every((k: number) => k >= -1 && k < e.json.motifs.length));
  const svg = await fetch(`${base}/api/molecules/${r.json.results[0].id}.svg?highlight=motifs`);
  assert.equal(svg.status, 200);
});

type Page = import('playwright-core').Page;

test('the web page in Chromium: search, explanation colours agree with the drawing, hover both ways, keyboard, states', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing: .ci/run installs Debian's chromium (ORMA_EXTRA_APT_PACKAGES)`);
    t.skip(`${CHROMIUM} is missing (apt-get install chromium); skipped outside CI`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const profiles: string[] = [];
  /** A fresh browser with its own new profile folder (Playwright takes it as userDataDir). */
  const launch = (o: { viewport: { width: number; height: number }; deviceScaleFactor?: number; isMobile?: boolean; hasTouch?: boolean }) => {
    const profile = mkdtempSync(join(tmpdir(), 'orma-chromium-'));
    profiles.push(profile);
    return chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, ...o,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  };
  const context = await launch({ viewport: { width: 1280, height: 860 } });
  let phone: Awaited<ReturnType<typeof launch>> | null = null;
  mkdirSync(SHOTS, { recursive: true });
  const outside: string[] = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(String(err)));
    const failed: string[] = [];
    page.on('response', (res) => { if (res.status() >= 400) failed.push(`${res.status()} ${res.url().slice(base.length)}`); });
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
    page.on('request', (req) => { if (!req.url().startsWith(base)) outside.push(req.url()); });

    await page.goto(base + '/');
    await page.fill('#q', QUERY);
    assert.match(await page.textContent('#mode') ?? '', /description/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.card');
    const cards = await page.locator('.card').count();
    assert.equal(cards, 10);
    assert.match(await page.textContent('#status') ?? '', /10 molecules/);
    // the drawings loaded, the first id links to PubChem, bars have widths
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('.card img')].slice(0, 3).every((i: any) => i.complete && i.naturalWidth > 0));
    assert.match(await page.getAttribute('.card a.id', 'href') ?? '', /^https:\/\/pubchem\.ncbi\.nlm\.nih\.gov\/compound\/\d+$/);
    const widths = await page.$$eval('.card .bar .fill', (els) => els.map((e) => parseFloat((e as any).style.width)));
    assert.equal(widths[0], 100);
    assert.ok(widths.every((w, i) => i === 0 || w <= widths[i - 1]!), 'bars shrink with rank');
    await page.screenshot({ path: join(SHOTS, 'search-laptop.png'), fullPage: false });

    // the explanation of the first hit
    await page.click('.card button.explain');
    await page.waitForSelector('#explain .tokens .tok[data-motif]');
    await page.waitForSelector('#explain .mol svg [data-motif]');
    await checkAgreement(page);
    await checkHover(page);
    await page.screenshot({ path: join(SHOTS, 'explain-laptop.png'), fullPage: true });

    // keyboard: Tab reaches a token and highlights its motif; Escape goes back to the results
    await page.focus('#explain button.back');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => { const a = (globalThis as any).document.activeElement as any; return { cls: a.className, motif: a.dataset.motif ?? null }; });
    assert.match(focused.cls, /tok/);
    assert.equal(await page.locator(`#explain .mol svg [data-motif="${focused.motif}"].on`).count() > 0, true, 'focusing a token highlights its motif');
    await page.keyboard.press('Escape');
    assert.equal(await page.isHidden('#explain'), true);
    assert.match(await page.evaluate(() => (globalThis as any).document.activeElement?.className ?? ''), /explain/, 'focus returns to the card button');

    // an error state: a bad substructure names the field
    await page.fill('#sub', 'C1CC(');
    await page.click('#go');
    await page.waitForSelector('#status.error');
    assert.match(await page.textContent('#status') ?? '', /^Substructure:/);
    await page.fill('#sub', '');

    // a SMILES is detected and finds descriptions
    await page.fill('#q', 'CC1CCCN1');
    assert.match(await page.textContent('#mode') ?? '', /SMILES/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.cards.texts .card');
    assert.equal(await page.locator('.cards.texts .card').count(), 10);

    // phone width
    await context.close();
    phone = await launch({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p2 = phone.pages()[0] ?? await phone.newPage();
    p2.on('request', (req) => { if (!req.url().startsWith(base)) outside.push(req.url()); });
    await p2.goto(base + '/');
    await p2.fill('#q', QUERY);
    await p2.click('#go');
    await p2.waitForSelector('.card');
    await p2.waitForFunction(() => { const i = (globalThis as any).document.querySelector('.card img'); return !!i && i.complete && i.naturalWidth > 0; });
    const overflow = await p2.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (overflow ${overflow})`);
    await p2.screenshot({ path: join(SHOTS, 'search-phone.png') });
    await p2.click('.card button.explain');
    await p2.waitForSelector('#explain .mol svg [data-motif]');
    await checkAgreement(p2);
    await p2.screenshot({ path: join(SHOTS, 'explain-phone.png'), fullPage: true });

    assert.deepEqual(problems, [], 'no page errors');
    assert.deepEqual(failed, ['400 /api/search'], 'the only failed request is the bad substructure');
    assert.deepEqual(outside, [], 'the page requested nothing outside this server');
  } finally {
    await context.close().catch(() => {});
    await phone?.close().catch(() => {});
    for (const p of profiles) rmSync(p, { recursive: true, force: true });
  }
});

const hexToRgb = (hex: string) => { const n = parseInt(hex.slice(1), 16); return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`; };

/** Every coloured token has its motif's palette colour, and that motif is drawn in the same colour. */
async function checkAgreement(page: Page): Promise<void> {
  const tokens = await page.$$eval('#explain .tok[data-motif]', (els) => els.map((e) => ({ k: Number((e as any).dataset.motif), bg: (globalThis as any).getComputedStyle(e).backgroundColor })));
  const drawn = await page.$$eval('#explain .mol svg [data-motif]', (els) => els.map((e) => ({ k: Number(e.getAttribute('data-motif')), fill: (globalThis as any).getComputedStyle(e).fill })));
  assert.ok(tokens.length > 0 && drawn.length > 0);
  const drawnMotifs = new Set(drawn.map((d) => d.k));
  for (const { k, bg } of tokens) {
    assert.equal(bg, hexToRgb(PALETTE_HEX[k % PALETTE_HEX.length]!), `token of motif ${k} has its colour`);
    assert.ok(drawnMotifs.has(k), `motif ${k} of a token is drawn`);
  }
  for (const { k, fill } of drawn) assert.equal(fill, hexToRgb(PALETTE_HEX[k % PALETTE_HEX.length]!), `motif ${k} drawn in its colour`);
  const legend = await page.locator('#explain .motifs .motif').count();
  assert.equal(legend, await page.evaluate(() => new Set([...(globalThis as any).document.querySelectorAll('#explain .mol svg [data-motif]')].map((e: any) => e.getAttribute('data-motif'))).size));
  assert.equal(await page.locator('#explain .grains dt').count(), 4, 'global, mid, local and fused');
}

/** Hovering a token lights exactly its motif in the drawing; hovering a motif lights exactly its tokens. */
async function checkHover(page: Page): Promise<void> {
  const tok = page.locator('#explain .tok[data-motif]').first();
  const k = await tok.getAttribute('data-motif');
  await tok.hover();
  const lit = await page.$$eval('#explain .mol svg [data-motif].on', (els) => [...new Set(els.map((e) => e.getAttribute('data-motif')))]);
  assert.deepEqual(lit, [k]);
  const dimmed = await page.$$eval('#explain .mol svg [data-motif]:not(.on)', (els) => els.map((e) => (globalThis as any).getComputedStyle(e).opacity));
  assert.ok(dimmed.every((o) => Number(o) < 0.5), 'the other motifs fade');
  // reverse: hover the motif's legend button, and a drawn motif element
  const other = await page.$$eval('#explain .motifs .motif', (els) => els.map((e) => e.getAttribute('data-motif')!));
  for (const j of other) {
    await page.hover(`#explain .motifs .motif[data-motif="${j}"]`);
    const tokLit = await page.$$eval('#explain .tok.on', (els) => [...new Set(els.map((e) => e.getAttribute('data-motif')))]);
    const want = await page.locator(`#explain .tok[data-motif="${j}"]`).count();
    assert.deepEqual(tokLit, want ? [j] : [], `hovering motif ${j} lights its tokens`);
  }
  const box = await page.locator(`#explain .mol svg ellipse[data-motif="${k}"]`).first().boundingBox();
  if (box) {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const tokLit = await page.$$eval('#explain .tok.on', (els) => [...new Set(els.map((e) => e.getAttribute('data-motif')))]);
    assert.deepEqual(tokLit, [k], 'hovering a drawn motif lights its tokens');
  }
  await page.mouse.move(0, 0);
}

test('orma serve stops gracefully on SIGTERM: the running request finishes, then exit 0', async () => {
  const child = spawn(process.execPath, ['bin/orma.js', 'serve', '--model', MODEL, '--library', LIBRARY, '--index', join(work, 'index'), '--port', '0', '--log'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => { log += d; });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => { err += d; const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(err); if (m) resolve(m[1]!); });
    child.on('exit', (code) => reject(new Error(`orma serve exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`orma serve did not start: ${err}`)), 60_000).unref();
  });
  const health = await fetch(url + '/healthz');
  assert.equal(health.status, 200);
  const inflight = fetch(url + '/api/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: QUERY, k: 100, rerank: 100 }) });
  // SIGTERM only once the server has received the request (its log says so), however loaded the machine
  while (!/"url":"\/api\/search"/.test(log)) await new Promise((r) => setTimeout(r, 5));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const r = await inflight;
  assert.equal(r.status, 200, 'the request in flight was answered');
  assert.equal(((await r.json()) as { results: unknown[] }).results.length, 100);
  assert.equal(await exited, 0, err);
  assert.match(err, /SIGTERM/);
  await assert.rejects(fetch(url + '/healthz'), 'the port is closed');
});
