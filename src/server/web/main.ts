// The search page: one box (a description or a SMILES, detected), result cards, and an explanation
// view where each token is coloured like the motif it is transported to. Plain DOM; the only state
// is the last results and the open explanation.
import './style.css';
import { ApiError, post, type DescribeReply, type ExplainReply, type MoleculeHit, type SearchReply, type TextHit } from './api.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('search'), q = $<HTMLInputElement>('q'), sub = $<HTMLInputElement>('sub');
const rerank = $<HTMLInputElement>('rerank'), go = $<HTMLButtonElement>('go'), mode = $('mode');
const statusEl = $('status'), results = $('results'), explainEl = $('explain');

let pending: AbortController | null = null;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v; else el.setAttribute(k, v);
  }
  el.append(...kids);
  return el;
}

/** SMILES look: one word of SMILES characters with some chemistry in it (bonds, rings, brackets, or only element letters). */
export function looksLikeSmiles(s: string): boolean {
  const t = s.trim();
  if (!t || /\s/.test(t) || !/^[A-Za-z0-9@+\-[\]()=#$%/\\.:*~]+$/.test(t)) return false;
  if (/[=#()[\]@\\/]|[a-z]\d|\d/.test(t)) return true;
  return /^(?:Cl|Br|[BCNOPSFI]|[cnops])+$/.test(t);
}

function updateMode(): void {
  const smiles = looksLikeSmiles(q.value);
  mode.textContent = q.value.trim() ? (smiles ? 'Read as a SMILES: finds descriptions of this molecule.' : 'Read as a description: finds molecules.') : '';
  sub.disabled = smiles;
}
q.addEventListener('input', updateMode);

function setStatus(kind: 'idle' | 'loading' | 'error', text = ''): void {
  statusEl.className = kind;
  statusEl.textContent = text;
  if (kind === 'loading') statusEl.prepend(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  results.setAttribute('aria-busy', String(kind === 'loading'));
  go.disabled = kind === 'loading';
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 503) return `The server is busy${err.retryAfter ? `; try again in ${err.retryAfter} s` : ''}.`;
    const field = err.body?.field === 'substructure' ? 'Substructure: ' : '';
    return `${field}${err.body?.message ?? `request failed (HTTP ${err.status})`}`;
  }
  if (err instanceof TypeError) return 'Cannot reach the server.';
  return String((err as Error)?.message ?? err);
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void search();
});

async function search(): Promise<void> {
  const value = q.value.trim();
  if (!value) { setStatus('error', 'Type a description or a SMILES.'); q.focus(); return; }
  pending?.abort();
  pending = new AbortController();
  closeExplain(false);
  const kind = looksLikeSmiles(value) ? 'smiles' : 'text';
  setStatus('loading', kind === 'smiles' ? 'Finding descriptions…' : 'Searching molecules…');
  results.replaceChildren();
  try {
    const r = rerank.checked ? {} : { rerank: 0 };
    if (kind === 'smiles') {
      const reply = await post<DescribeReply>('/api/describe', { smiles: value, k: 10, ...r }, pending.signal);
      renderTexts(reply);
    } else {
      const s = sub.value.trim();
      const reply = await post<SearchReply>('/api/search', { text: value, k: 10, ...r, ...(s ? { substructure: s } : {}) }, pending.signal);
      renderMolecules(reply);
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    setStatus('error', errorText(err));
  }
}

function pubchemId(id: string): string | null {
  const m = /^(?:CID[:_-]?)?(\d+)$/i.exec(id);
  return m ? m[1]! : null;
}

/** A bar for `score` among scores from `low` to `top` (the lowest still shows a sliver). */
function scoreBar(score: number, top: number, label: string, low = 0): HTMLElement {
  const frac = top > low ? 0.1 + 0.9 * Math.max(0, Math.min(1, (score - low) / (top - low))) : 1;
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${(frac * 100).toFixed(1)}%`;
  return h('div', { class: 'score' },
    h('div', { class: 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': top.toFixed(3), 'aria-valuenow': score.toFixed(3), 'aria-label': label }, fill),
    h('span', { class: 'num' }, score.toFixed(3)));
}

function summary(n: number, ms: number, what: string): void {
  setStatus('idle', n ? `${n} ${what} in ${Math.round(ms)} ms.` : `No ${what} found.`);
}

function renderMolecules(reply: SearchReply): void {
  summary(reply.results.length, reply.ms, 'molecules');
  const [low, top] = range(reply.results.map((r) => r.score));
  const list = h('ol', { class: 'cards' });
  for (const hit of reply.results) list.append(moleculeCard(hit, top, low, reply.query));
  results.replaceChildren(list);
}

function idLink(id: string): HTMLElement {
  const cid = pubchemId(id);
  return cid
    ? h('a', { href: `https://pubchem.ncbi.nlm.nih.gov/compound/${cid}`, rel: 'noopener noreferrer', target: '_blank', class: 'id' }, `CID ${cid}`)
    : h('span', { class: 'id' }, id);
}

function range(v: number[]): [number, number] {
  return v.length ? [Math.min(...v), Math.max(...v)] : [0, 0];
}

function moleculeCard(hit: MoleculeHit, top: number, low: number, text: string): HTMLElement {
  const img = h('img', { src: `/api/molecules/${encodeURIComponent(hit.id)}.svg`, alt: `structure of ${hit.name ?? hit.smiles}`, width: '300', height: '220', loading: 'lazy' });
  const btn = h('button', { type: 'button', class: 'explain' }, 'Why this match?');
  btn.addEventListener('click', () => void openExplain(text, hit.smiles, btn));
  return h('li', { class: 'card' },
    h('div', { class: 'draw' }, img),
    h('div', { class: 'meta' },
      h('div', { class: 'head' }, h('span', { class: 'rank' }, `#${hit.rank}`), idLink(hit.id), ...(hit.name ? [h('span', { class: 'name' }, hit.name)] : [])),
      h('code', { class: 'smiles' }, hit.smiles),
      scoreBar(hit.score, top, `score of ${hit.id}`, low),
      btn));
}

function renderTexts(reply: DescribeReply): void {
  summary(reply.results.length, reply.ms, 'descriptions');
  const [low, top] = range(reply.results.map((r) => r.score));
  const list = h('ol', { class: 'cards texts' });
  for (const hit of reply.results) list.append(textCard(hit, top, low, reply.smiles));
  results.replaceChildren(list);
}

function textCard(hit: TextHit, top: number, low: number, smiles: string): HTMLElement {
  const btn = h('button', { type: 'button', class: 'explain' }, 'Why this match?');
  btn.addEventListener('click', () => void openExplain(hit.text, smiles, btn));
  return h('li', { class: 'card' },
    h('div', { class: 'meta' },
      h('div', { class: 'head' }, h('span', { class: 'rank' }, `#${hit.rank}`), idLink(hit.id)),
      h('p', { class: 'text' }, hit.text),
      scoreBar(hit.score, top, `score of ${hit.id}`, low),
      btn));
}

// ---- explanation ----
let opener: HTMLElement | null = null;

async function openExplain(text: string, smiles: string, from: HTMLElement): Promise<void> {
  opener = from;
  explainEl.hidden = false;
  results.hidden = true;
  explainEl.replaceChildren(h('p', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Aligning tokens and motifs…'));
  explainEl.setAttribute('aria-busy', 'true');
  explainEl.focus();
  try {
    const e = await post<ExplainReply>('/api/explain', { text, smiles });
    renderExplain(e);
  } catch (err) {
    explainEl.replaceChildren(backButton(), h('p', { class: 'error', role: 'alert' }, errorText(err)));
  } finally {
    explainEl.setAttribute('aria-busy', 'false');
  }
}

function closeExplain(refocus = true): void {
  if (explainEl.hidden) return;
  explainEl.hidden = true;
  explainEl.replaceChildren();
  results.hidden = false;
  if (refocus) opener?.focus();
}
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeExplain(); });

function backButton(): HTMLElement {
  const b = h('button', { type: 'button', class: 'back' }, '← Back to results');
  b.addEventListener('click', () => closeExplain());
  return b;
}

/** Black or white text, whichever reads better on `hex`. */
function ink(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b! > 0.18 ? '#111' : '#fff';
}

function renderExplain(e: ExplainReply): void {
  const colour = (k: number) => e.palette[k % e.palette.length]!;
  // tokens: word pieces (##x) join their word; [CLS]/[SEP]/[PAD] are not shown
  const text = h('p', { class: 'tokens', 'aria-label': 'the description, each token coloured by its motif' });
  e.tokens.forEach((tok, i) => {
    if (/^\[(CLS|SEP|PAD)\]$/.test(tok)) return;
    const piece = tok.startsWith('##');
    if (!piece && text.childNodes.length) text.append(' ');
    const k = e.tokenMotif[i] ?? -1;
    const span = h('span', { class: 'tok', 'data-token': String(i) }, piece ? tok.slice(2) : tok);
    if (k >= 0) {
      span.dataset.motif = String(k);
      span.tabIndex = 0;
      span.style.backgroundColor = colour(k);
      span.style.color = ink(colour(k));
      span.title = `token '${tok}' → motif ${k + 1}`;
      span.setAttribute('aria-label', `${tok}: motif ${k + 1}`);
    }
    text.append(span);
  });

  const drawing = h('div', { class: 'mol', role: 'img', 'aria-label': `structure of ${e.smiles} with ${e.motifs.length} motifs coloured` });
  if (e.svg) {
    const doc = new DOMParser().parseFromString(e.svg, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName === 'svg') {
      svg.removeAttribute('width'); svg.removeAttribute('height');
      drawing.append(document.importNode(svg, true));
    }
  }

  const legend = h('ul', { class: 'motifs', 'aria-label': 'motifs' });
  e.motifs.forEach((atoms, k) => {
    const used = e.tokenMotif.filter((m) => m === k).length;
    const b = h('button', { type: 'button', class: 'motif', 'data-motif': String(k) },
      h('span', { class: 'swatch', 'aria-hidden': 'true' }), `Motif ${k + 1}`, h('span', { class: 'n' }, ` · ${atoms.length} atom${atoms.length === 1 ? '' : 's'} · ${used} token${used === 1 ? '' : 's'}`));
    (b.firstChild as HTMLElement).style.backgroundColor = colour(k);
    legend.append(h('li', {}, b));
  });

  const grains = h('dl', { class: 'grains' });
  const top = Math.max(Math.abs(e.grains.global), Math.abs(e.grains.local), Math.abs(e.grains.mid), 1e-9);
  for (const [name, v, what] of [['global', e.grains.global, 'whole text vs whole molecule'], ['mid', e.grains.mid, 'tokens vs motifs (optimal transport)'], ['local', e.grains.local, 'tokens vs atoms']] as const) {
    grains.append(h('dt', { title: what }, name), h('dd', {}, scoreBar(v, top, `${name} score`)));
  }
  grains.append(h('dt', {}, 'fused'), h('dd', { class: 'fused' }, e.fused.toFixed(3)));

  const note = e.wholeMolecule ? [h('p', { class: 'note' }, 'This molecule has no BRICS motif; it counts as one whole-molecule motif.')] : [];
  explainEl.replaceChildren(
    backButton(),
    h('h2', {}, 'Why this match'),
    h('div', { class: 'explain-grid' },
      h('div', { class: 'left' }, h('h3', {}, 'Description'), text,
        h('p', { class: 'note' }, 'Each token has the colour of the motif the optimal-transport plan sends it to; hover or focus a token or a motif to see its partner.'),
        h('h3', {}, 'Scores'), grains, h('p', { class: 'note' }, "The model's scaled scores for this pair: global (text vs molecule), mid (tokens vs motifs) and local (tokens vs atoms), and their fused sum.")),
      h('div', { class: 'right' }, h('h3', {}, 'Molecule'), drawing, h('code', { class: 'smiles' }, e.smiles), ...note, legend)));
  wireHighlights(explainEl);
  explainEl.focus();
}

/** Hover or focus on a token, a motif button or a motif in the drawing emphasises that motif everywhere. */
function wireHighlights(root: HTMLElement): void {
  const set = (k: string | null) => {
    root.classList.toggle('focusing', k !== null);
    for (const el of root.querySelectorAll<Element>('[data-motif]')) el.classList.toggle('on', k !== null && el.getAttribute('data-motif') === k);
  };
  const motifOf = (t: EventTarget | null) => (t instanceof Element ? t.closest('[data-motif]')?.getAttribute('data-motif') ?? null : null);
  root.addEventListener('mouseover', (ev) => set(motifOf(ev.target)));
  root.addEventListener('mouseleave', () => set(null));
  root.addEventListener('focusin', (ev) => set(motifOf(ev.target)));
  root.addEventListener('focusout', () => set(null));
}

updateMode();
q.focus();
