// `orma data download`: fetches the public benchmark files over HTTP(S), checks each against a pinned
// git blob id, resumes broken transfers, and converts them to orma's TSV layout (the columns of the
// project's data folder). Files arrive in `NAME.part` and are renamed only once complete and verified,
// so a complete-looking file is always a verified one; converted TSVs are written atomically.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic, readTextFile } from '../util/fs.js';
import { Progress } from '../util/progress.js';
import { BENCHMARK_DIR } from './eval-molecules.js';

/** One upstream file: where it lives and the git blob id (`git hash-object`) it must have. */
export interface RemoteFile {
  /** Key used by the converter, e.g. 'train'. */
  key: string;
  /** Local name under DIR/raw/<dataset>/. */
  name: string;
  /** Upstream origin, e.g. 'https://raw.githubusercontent.com'; `--mirror` replaces it. */
  origin: string;
  /** Path under the origin (and under a mirror), without a leading slash. */
  path: string;
  /** Pinned git blob id: sha1("blob " + size + "\0" + bytes). */
  blob: string;
}

export interface ConvertedFile { file: string; rows: number }
export interface ConvertResult { files: ConvertedFile[]; notes: string[] }

export interface DatasetSpec {
  name: string;
  title: string;
  files: RemoteFile[];
  /** Turns the verified raw files (key -> path) into TSVs under outDir/<name>/. */
  convert(raw: Record<string, string>, outDir: string): ConvertResult;
}

const GITHUB_RAW = 'https://raw.githubusercontent.com';
// MolT5 at its HEAD commit (754f9bf). Blob ids of test.txt and validation.txt: recomputed here from our
// byte-identical copies (`git hash-object`). train.txt's blob id is the one recorded in the data
// README (../shared/data/README.md, "What is missing"); no full copy was available to recompute it.
const MOLT5 = 'blender-nlp/MolT5/754f9bffa4a638e2f1386d0ca19b5c3ed0a5b4aa/ChEBI-20_data';
// KV-PLM at its HEAD commit (83f6292). align_smiles.txt's blob id was recomputed here from the 15,000
// SMILES of our copy (862,113 bytes, LF line ends); align_des_filt3.txt's blob id is the one recorded in
// the data README, not recomputed (the file is over the index's size limit and no copy was available).
const KVPLM = 'thunlp/KV-PLM/83f6292f559fef4a17e179c9611c8e84a9d31905/Ret';

export const DATASETS: Record<string, DatasetSpec> = {
  chebi20: {
    name: 'chebi20',
    title: 'ChEBI-20 (MolT5 ChEBI-20_data)',
    files: [
      { key: 'train', name: 'train.txt', origin: GITHUB_RAW, path: `${MOLT5}/train.txt`, blob: 'c1b42b82fdc8fb5287614e159196e25370763aac' },
      { key: 'validation', name: 'validation.txt', origin: GITHUB_RAW, path: `${MOLT5}/validation.txt`, blob: '694d328d621966d5c9ad0f36083fdfcf293191d5' },
      { key: 'test', name: 'test.txt', origin: GITHUB_RAW, path: `${MOLT5}/test.txt`, blob: 'cf6da70d55c2745c6e64cf6864ea8cdbcdc80663' },
    ],
    convert: (raw, outDir) => convertChebi20(raw, join(outDir, 'chebi20')),
  },
  pcdes: {
    name: 'pcdes',
    title: 'PCdes (KV-PLM Ret/)',
    files: [
      { key: 'smiles', name: 'align_smiles.txt', origin: GITHUB_RAW, path: `${KVPLM}/align_smiles.txt`, blob: '95f71d894ee326e3ad5f2976894a927477f5fa13' },
      { key: 'descriptions', name: 'align_des_filt3.txt', origin: GITHUB_RAW, path: `${KVPLM}/align_des_filt3.txt`, blob: '7646535fd2366565f692f05bed7034cd44a34078' },
    ],
    convert: (raw, outDir) => convertPcdes(readTextFile(raw.smiles!), readTextFile(raw.descriptions!), join(outDir, 'pcdes')),
  },
};

/** Why a download failed; `kind` drives the advice in the message. */
export class DownloadError extends Error {
  constructor(message: string, readonly kind: 'network' | 'timeout' | 'http' | 'broken' | 'digest' | 'format', readonly retryable = false) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** The URL of a file: its upstream origin, or `mirror` (a base URL) in its place. */
export function fileUrl(f: RemoteFile, mirror?: string): string {
  return `${(mirror ?? f.origin).replace(/\/+$/, '')}/${f.path}`;
}

/** Git blob id of bytes in memory. */
export function gitBlobId(data: Uint8Array | string): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

/** Git blob id of a file, read as a stream (the size comes first in the header, so stat it). */
export async function gitBlobIdOfFile(path: string): Promise<string> {
  const hash = createHash('sha1').update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface DownloadOptions {
  /** Milliseconds to wait for the connection and the response headers (default 30 s). */
  connectTimeoutMs?: number;
  /** Milliseconds without a byte before a transfer counts as broken (default 30 s). */
  idleTimeoutMs?: number;
  /** Extra attempts after a broken transfer, each resuming where the last stopped (default 5). */
  retries?: number;
  /** Wait before a retry, times the attempt number (default 1 s). */
  retryDelayMs?: number;
  /** Progress lines (stderr by default; null for none). */
  progress?: NodeJS.WriteStream | null;
  /** Label for progress lines. */
  label?: string;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  blob: string;
  /** HTTP requests made (1 when nothing went wrong). */
  requests: number;
  /** Whether any request continued a partial file with a Range request (answered 206). */
  resumed: boolean;
  /** True when a verified file was already there and nothing was fetched. */
  cached: boolean;
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EACCES', 'EPERM', 'ECONNABORTED']);

interface Attempt { redirect?: string; restart?: boolean; resumed?: boolean }

/** One HTTP request writing (or appending) to `part`. Resolves when the body is complete. */
function requestOnce(url: string, part: string, opts: Required<Omit<DownloadOptions, 'progress' | 'label'>> & { progress: NodeJS.WriteStream | null; label: string }): Promise<Attempt> {
  const start = existsSync(part) ? statSync(part).size : 0;
  return new Promise<Attempt>((resolve, reject) => {
    let settled = false;
    const fail = (err: DownloadError) => { if (!settled) { settled = true; clearTimeout(headerTimer); reject(err); } };
    const done = (a: Attempt) => { if (!settled) { settled = true; clearTimeout(headerTimer); resolve(a); } };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      fail(new DownloadError(`not a valid URL: ${url}`, 'http'));
      return;
    }
    const mod = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
    if (!mod) { fail(new DownloadError(`unsupported URL scheme in ${url} (http: or https: only)`, 'http')); return; }
    const headers: Record<string, string> = { 'user-agent': 'orma-data-download', 'accept-encoding': 'identity' };
    if (start > 0) headers.range = `bytes=${start}-`;
    const req = mod.get(parsed, { headers });
    const headerTimer = setTimeout(() => {
      const err = new DownloadError(`no answer from ${parsed.host} within ${opts.connectTimeoutMs / 1000} s`, 'timeout');
      fail(err);
      req.destroy(err);
    }, opts.connectTimeoutMs);
    let responded = false;
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) return; // the response's 'close' handler decides, after the file is flushed
      if (err instanceof DownloadError) { fail(err); return; }
      const code = err.code ?? '';
      if (NETWORK_CODES.has(code)) fail(new DownloadError(`cannot connect to ${parsed.host}: ${code} (${err.message})`, 'network'));
      else fail(new DownloadError(`connection to ${parsed.host} failed: ${code || err.message}`, 'broken', true));
    });
    req.on('response', (res) => {
      responded = true;
      clearTimeout(headerTimer);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        done({ redirect: new URL(res.headers.location, url).href });
        return;
      }
      if (status === 416 && start > 0) { res.resume(); done({ restart: true }); return; }
      if (status !== 200 && status !== 206) {
        res.resume();
        fail(new DownloadError(`HTTP ${status} ${res.statusMessage ?? ''}`.trim(), 'http', status >= 500));
        return;
      }
      let offset = 0, total = -1;
      const length = Number(res.headers['content-length'] ?? NaN);
      if (status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
        if (!m || Number(m[1]) !== start) {
          // A range we did not ask for: throw the partial file away and start again.
          res.resume();
          done({ restart: true });
          return;
        }
        offset = start;
        total = m[3] === '*' ? (Number.isFinite(length) ? start + length : -1) : Number(m[3]);
      } else {
        total = Number.isFinite(length) ? length : -1; // a 200 answers a Range request by restarting
      }
      const out = createWriteStream(part, { flags: status === 206 ? 'a' : 'w' });
      let received = offset;
      const kib = (n: number) => Math.ceil(n / 1024);
      const progress = opts.progress && total > 0 ? new Progress({ label: `${opts.label}${offset > 0 ? ` (resuming at ${kib(offset)} KiB)` : ''}`, total: kib(total - offset), unit: 'KiB', stream: opts.progress }) : null;
      let ticked = 0;
      let idleTimer = setTimeout(() => onIdle(), opts.idleTimeoutMs);
      const onIdle = () => res.destroy(new DownloadError(`transfer from ${parsed.host} stalled for ${opts.idleTimeoutMs / 1000} s`, 'broken', true));
      res.on('data', (chunk: Buffer) => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(onIdle, opts.idleTimeoutMs);
        out.write(chunk);
        received += chunk.length;
        if (progress) { const k = kib(received - offset); if (k > ticked) { progress.tick(k - ticked); ticked = k; } }
      });
      let streamError: Error | null = null;
      res.on('error', (err) => { streamError = err; });
      res.on('close', () => {
        clearTimeout(idleTimer);
        progress?.finish();
        out.end(() => {
          const complete = res.complete && !streamError && (total < 0 || received === total);
          if (complete) { done({ resumed: status === 206 }); return; }
          const why = streamError instanceof DownloadError ? streamError.message : `connection closed after ${received}${total > 0 ? ` of ${total}` : ''} bytes`;
          fail(new DownloadError(why, 'broken', true));
        });
      });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Downloads `url` to `dest` through `dest.part`: resumes a partial file with a Range request (a
 * server answering 200 restarts it), retries broken transfers, checks the git blob id and only then
 * renames. A wrong blob id removes the file and throws a DownloadError giving both ids. A `dest`
 * already holding the expected blob is kept without a request.
 */
export async function downloadFile(url: string, dest: string, expectedBlob: string | null, options: DownloadOptions = {}): Promise<DownloadResult> {
  const opts = {
    connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    retries: options.retries ?? 5,
    retryDelayMs: options.retryDelayMs ?? 1000,
    progress: options.progress === undefined ? process.stderr : options.progress,
    label: options.label ?? url,
  };
  if (existsSync(dest)) {
    const blob = await gitBlobIdOfFile(dest);
    if (!expectedBlob || blob === expectedBlob) return { path: dest, bytes: statSync(dest).size, blob, requests: 0, resumed: false, cached: true };
    unlinkSync(dest); // not the pinned file (an older or damaged copy): fetch it again
  }
  const part = `${dest}.part`;
  let current = url, requests = 0, redirects = 0, failures = 0, resumed = false;
  for (;;) {
    requests++;
    let a: Attempt;
    try {
      a = await requestOnce(current, part, opts);
    } catch (err) {
      const e = err as DownloadError;
      if (!e.retryable || failures >= opts.retries) throw e;
      failures++;
      await sleep(opts.retryDelayMs * failures);
      continue;
    }
    if (a.redirect) {
      if (++redirects > 5) throw new DownloadError(`too many redirects from ${url}`, 'http');
      current = a.redirect;
      continue;
    }
    if (a.restart) {
      if (existsSync(part)) unlinkSync(part);
      if (++failures > opts.retries) throw new DownloadError(`the server at ${new URL(current).host} cannot resume ${url}`, 'broken');
      continue;
    }
    resumed ||= Boolean(a.resumed);
    break;
  }
  const blob = await gitBlobIdOfFile(part);
  const bytes = statSync(part).size;
  if (expectedBlob && blob !== expectedBlob) {
    unlinkSync(part);
    throw new DownloadError(`wrong content: git blob id ${blob} (${bytes} bytes), expected ${expectedBlob}. The file was removed.`, 'digest');
  }
  renameSync(part, dest);
  return { path: dest, bytes, blob, requests, resumed, cached: false };
}

export interface DatasetDownloadOptions extends DownloadOptions {
  mirror?: string;
  /** Print one line per step to this stream (stderr by default; null for none). */
  log?: NodeJS.WritableStream | null;
}

export interface DatasetDownloadResult {
  dataset: string;
  downloads: (DownloadResult & { url: string })[];
  converted: ConvertResult;
}

/**
 * Downloads every file of `spec` into outDir/raw/<name>/ (verified, resumable), then converts them to
 * TSVs under outDir/<name>/. Stops at the first failure; the thrown DownloadError's message says
 * what failed and what to do.
 */
export async function downloadDataset(spec: DatasetSpec, outDir: string, options: DatasetDownloadOptions = {}): Promise<DatasetDownloadResult> {
  const log = options.log === undefined ? process.stderr : options.log;
  const rawDir = join(outDir, 'raw', spec.name);
  mkdirSync(rawDir, { recursive: true });
  const downloads: DatasetDownloadResult['downloads'] = [];
  const raw: Record<string, string> = {};
  for (const f of spec.files) {
    const url = fileUrl(f, options.mirror);
    const dest = join(rawDir, f.name);
    let r: DownloadResult;
    try {
      r = await downloadFile(url, dest, f.blob, { ...options, label: `${spec.name} ${f.name}` });
    } catch (err) {
      if (err instanceof DownloadError) throw new DownloadError(advice(err, spec, f, url, dest, options.mirror), err.kind);
      throw err;
    }
    log?.write(`${spec.name} ${f.name}: ${r.cached ? 'already here, verified' : `${r.bytes} bytes, verified`} (git blob ${r.blob})\n`);
    downloads.push({ ...r, url });
    raw[f.key] = dest;
  }
  let converted: ConvertResult;
  try {
    converted = spec.convert(raw, outDir);
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(`${spec.name}: cannot convert the downloaded files: ${(err as Error).message}`, 'format');
  }
  for (const c of converted.files) log?.write(`wrote ${c.file} (${c.rows} rows)\n`);
  for (const n of converted.notes) log?.write(`note: ${n}\n`);
  return { dataset: spec.name, downloads, converted };
}

/** The one message a failed download prints: what failed, and what to do about it. */
function advice(err: DownloadError, spec: DatasetSpec, f: RemoteFile, url: string, dest: string, mirror: string | undefined): string {
  const head = `${spec.name}: could not download ${f.name} from ${url}: ${err.message}`;
  const part = existsSync(`${dest}.part`) ? ` The partial file ${dest}.part is kept; running the same command again resumes it.` : '';
  const mirrorHint = `serve the files from a host you can reach and pass --mirror BASE_URL (the file is then fetched from BASE_URL/${f.path})`;
  switch (err.kind) {
    case 'network':
    case 'timeout':
      return `${head}\nThis machine seems to be offline, or ${new URL(url).host} is blocked. Run the same command on a machine with internet access and copy the output folder here, or ${mirrorHint}.${part}`;
    case 'broken':
      return `${head}\nThe transfer kept breaking.${part || ' Run the same command again.'}`;
    case 'http':
      return `${head}\n${mirror ? `Check that the mirror serves the upstream layout (BASE_URL/${f.path}).` : `The upstream file may have moved; ${mirrorHint}.`}`;
    case 'digest':
      return `${head}\nThe file differs from the pinned upstream version (${mirror ? 'check the mirror\'s copy' : 'the upstream file may have changed'}). Nothing was kept.`;
    default:
      return head;
  }
}

// ---------------------------------------------------------------------------------------------
// Conversion to orma's layout (the same files and columns as the project's data folder).

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

const gz = (text: string) => gzipSync(Buffer.from(text, 'utf8'), { level: 9 });

/**
 * MolT5's ChEBI-20_data/{train,validation,test}.txt are already TSVs (`CID`, `SMILES`, `description`):
 * each is checked (header, three non-empty fields, integer CID) and written as train.tsv.gz (gzip
 * mtime 0), validation.tsv and test.tsv, byte for byte the upstream lines.
 */
export function convertChebi20(raw: Record<string, string>, dir: string): ConvertResult {
  const outputs: [string, string, boolean][] = [['train', 'train.tsv.gz', true], ['validation', 'validation.tsv', false], ['test', 'test.tsv', false]];
  const pending: { file: string; data: string | Buffer; rows: number }[] = [];
  for (const [key, name, zip] of outputs) {
    const src = raw[key];
    if (!src) throw new DownloadError(`chebi20: no ${key} file to convert`, 'format');
    const lines = splitLines(readTextFile(src));
    const problems: string[] = [];
    if (lines[0] !== 'CID\tSMILES\tdescription') problems.push(`${src}:1: header is '${lines[0] ?? ''}', expected 'CID<TAB>SMILES<TAB>description'`);
    for (let i = 1; i < lines.length && problems.length < 5; i++) {
      const f = lines[i]!.split('\t');
      if (f.length !== 3) problems.push(`${src}:${i + 1}: ${f.length} fields, expected 3`);
      else if (!/^\d+$/.test(f[0]!)) problems.push(`${src}:${i + 1}: CID '${f[0]}' is not an integer`);
      else if (!f[1]!.trim() || !f[2]!.trim()) problems.push(`${src}:${i + 1}: empty ${!f[1]!.trim() ? 'SMILES' : 'description'}`);
    }
    if (problems.length) throw new DownloadError(`chebi20: ${key} is not in MolT5's format:\n  ${problems.join('\n  ')}`, 'format');
    const text = lines.join('\n') + '\n';
    pending.push({ file: join(dir, name), data: zip ? gz(text) : text, rows: lines.length - 1 });
  }
  mkdirSync(dir, { recursive: true });
  for (const p of pending) writeFileAtomic(p.file, p.data);
  return { files: pending.map((p) => ({ file: p.file, rows: p.rows })), notes: [] };
}

export interface PcdesSplits {
  /** First index of validation and of test; train is [0, validation), test is [test, end). */
  validation: number;
  test: number;
  /** Expected number of lines in each file. */
  total: number;
}
export const PCDES_SPLITS: PcdesSplits = { validation: 10_500, test: 12_000, total: 15_000 };

/** PCdes index -> PubChem CID, shipped in data/benchmarks/pcdes-cids.tsv.gz. */
export function loadPcdesCids(file = join(BENCHMARK_DIR, 'pcdes-cids.tsv.gz')): string[] {
  const lines = splitLines(readTextFile(file));
  if (lines[0] !== 'index\tCID') throw new Error(`${file}: unexpected header '${lines[0]}'`);
  const cids: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const [index, cid] = lines[i]!.split('\t');
    if (Number(index) !== i - 1 || !cid) throw new Error(`${file}:${i + 1}: malformed row`);
    cids.push(cid);
  }
  return cids;
}

/**
 * KV-PLM's align_smiles.txt and align_des_filt3.txt hold one molecule per line, in the same order.
 * They become train.tsv.gz, validation.tsv and test.tsv with columns `index`, `CID`, `SMILES`,
 * `description` (index = 0-based line number; CID from the shipped map). Descriptions lose their
 * trailing whitespace (upstream lines end in a space); a tab inside a field becomes a space. Rows
 * with an empty SMILES or description are left out and listed in the notes.
 */
export function convertPcdes(smilesText: string, desText: string, dir: string, splits: PcdesSplits = PCDES_SPLITS, cids: string[] = loadPcdesCids()): ConvertResult {
  const smiles = splitLines(smilesText), des = splitLines(desText);
  if (smiles.length !== splits.total || des.length !== splits.total) {
    throw new DownloadError(`pcdes: expected ${splits.total} lines in each file, got ${smiles.length} SMILES and ${des.length} descriptions`, 'format');
  }
  if (cids.length < splits.total) throw new DownloadError(`pcdes: the CID map has ${cids.length} entries, need ${splits.total}`, 'format');
  const header = 'index\tCID\tSMILES\tdescription';
  const parts = { train: [header], validation: [header], test: [header] };
  const empty: number[] = [];
  let tabs = 0;
  for (let i = 0; i < splits.total; i++) {
    const s = smiles[i]!.trim();
    let d = des[i]!.trimEnd();
    if (d.includes('\t')) { tabs++; d = d.replace(/\t/g, ' '); }
    if (!s || !d.trim()) { empty.push(i); continue; }
    const split = i < splits.validation ? 'train' : i < splits.test ? 'validation' : 'test';
    parts[split].push(`${i}\t${cids[i]}\t${s}\t${d}`);
  }
  const pending: [string, string | Buffer, number][] = [
    [join(dir, 'train.tsv.gz'), gz(parts.train.join('\n') + '\n'), parts.train.length - 1],
    [join(dir, 'validation.tsv'), parts.validation.join('\n') + '\n', parts.validation.length - 1],
    [join(dir, 'test.tsv'), parts.test.join('\n') + '\n', parts.test.length - 1],
  ];
  mkdirSync(dir, { recursive: true });
  for (const [file, data] of pending) writeFileAtomic(file, data);
  const notes: string[] = [];
  if (empty.length) notes.push(`pcdes: ${empty.length} rows with an empty SMILES or description left out (indices ${empty.slice(0, 20).join(', ')}${empty.length > 20 ? ', ...' : ''})`);
  if (tabs) notes.push(`pcdes: ${tabs} descriptions had a tab, replaced by a space`);
  return { files: pending.map(([file, , rows]) => ({ file, rows })), notes };
}
