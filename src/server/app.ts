// `orma serve`'s HTTP server: Fastify with TypeBox schemas on every route, an OpenAPI document at
// /api/docs, a bounded queue in front of the model, security headers, and the web page (a static
// bundle built by esbuild from src/server/web/). Nothing from a request ever reaches the file system:
// molecule ids are looked up in the loaded library, and static files are served from one fixed folder.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import fastifyStatic from '@fastify/static';
import { SmilesError, initRDKit } from '../chem/rdkit.js';
import { buildHierGraph, motifLists } from '../chem/hiergraph.js';
import type { SearchBackend } from './backend.js';
import { QueueFullError, WorkQueue } from './queue.js';
import { PALETTE_HEX, atomsSvg, motifSvg } from './depict.js';
import { pageHtml } from './page.js';
import {
  DescribeBody, DescribeReply, ErrorReply, ExplainBody, ExplainReply, Health, LIMITS, MoleculeParams, MoleculeQuery,
  SearchBody, SearchReply,
} from './schemas.js';

export interface ServerOptions {
  backend: SearchBackend;
  /** model jobs running at once (default 1: libtorch already uses every core) */
  concurrency?: number;
  /** model jobs waiting at most; beyond that 503 + Retry-After (default 32) */
  maxQueued?: number;
  /** longest time a request may take, queue wait included (ms, default 30,000) */
  timeoutMs?: number;
  /** the reranking depth when a request names none (default: the backend's own default) */
  defaultRerank?: number;
  /** the built page (default: web/static beside this module) */
  staticDir?: string;
  logger?: FastifyServerOptions['logger'];
}

export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const DEFAULT_STATIC = fileURLToPath(new URL('./web/static/', import.meta.url));
const SVG_CACHE = 512;

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  await initRDKit();
  const { backend } = o;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const queue = new WorkQueue({ concurrency: o.concurrency ?? 1, maxQueued: o.maxQueued ?? 32, maxWaitMs: timeoutMs });
  const started = Date.now();

  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: LIMITS.bodyBytes,
    // the whole request must arrive within this (slow-loris), and idle keep-alive sockets close
    requestTimeout: Math.max(timeoutMs, 10_000),
    connectionTimeout: Math.max(timeoutMs, 10_000) + 5_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], connectSrc: ["'self'"], imgSrc: ["'self'", 'data:'],
        // RDKit's SVGs carry style attributes; no style sheet comes from anywhere else
        styleSrc: ["'self'", "'unsafe-inline'"], fontSrc: ["'self'"], objectSrc: ["'none'"], baseUri: ["'none'"],
        formAction: ["'self'"], frameAncestors: ["'none'"],
      },
    },
    hsts: false, // plain HTTP on loopback; a TLS proxy in front sets its own
    crossOriginEmbedderPolicy: false,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'orma serve', version: '0.1.0', description: `Text <-> molecule retrieval (ORMA). Limits: text <= ${LIMITS.textChars} characters, SMILES <= ${LIMITS.smilesChars}, k <= ${LIMITS.maxK}, body <= ${LIMITS.bodyBytes / 1024} kB. Errors are JSON {statusCode, error, message, field?}; 503 carries Retry-After.` },
    },
  });

  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    const e = toHttpError(err);
    if (e.statusCode >= 500 && e.code === 'internal') req.log.error(err);
    for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
    return reply.code(e.statusCode).type('application/json').send({ statusCode: e.statusCode, error: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ statusCode: 404, error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));

  /** Runs a model job through the queue, bounded in time; maps the search layer's errors to 4xx. */
  async function work<T>(req: FastifyRequest, field: string, job: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined, started = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(started
        ? new HttpError(504, 'timeout', `the request took longer than ${timeoutMs} ms`)
        : new QueueFullError('waited', queue.retryAfter())), timeoutMs);
    });
    try {
      return await Promise.race([queue.run(() => {
        // a client that hung up while its request waited costs nothing more
        if (req.raw.socket?.destroyed) return Promise.reject(new HttpError(499, 'gone', 'the client closed the connection'));
        started = true;
        return job();
      }), timeout]);
    } catch (err) {
      if (err instanceof SmilesError) throw new HttpError(400, 'bad_request', `${field}: ${err.message}`, field);
      if (err instanceof Error && err.name === 'SearchError') {
        const f = (err as Error & { field?: string }).field ?? field;
        throw new HttpError(400, 'bad_request', err.message, f);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
  const rerankOf = (r: number | undefined) => r ?? o.defaultRerank;
  const errors = { 400: ErrorReply, 503: ErrorReply };

  app.get('/healthz', { schema: { summary: 'liveness and what is loaded', response: { 200: Health } } }, async () => ({
    status: 'ok', ...backend.info,
    queue: { running: queue.active, queued: queue.queued, maxQueued: queue.options.maxQueued, rejected: queue.stats.rejected + queue.stats.expired },
    uptimeSeconds: (Date.now() - started) / 1000,
  }));

  app.post('/api/search', {
    schema: { summary: 'text -> molecules', body: SearchBody, response: { 200: SearchReply, ...errors } },
  }, async (req) => {
    const { text, k = 10, rerank, substructure } = req.body;
    const t0 = performance.now();
    const results = await work(req, substructure !== undefined ? 'substructure' : 'text', () => backend.searchMolecules(text, { k, rerank: rerankOf(rerank), substructure }));
    return { query: text, results, ms: performance.now() - t0 };
  });

  app.post('/api/describe', {
    schema: { summary: 'SMILES -> texts', body: DescribeBody, response: { 200: DescribeReply, ...errors } },
  }, async (req) => {
    const { smiles, k = 10, rerank } = req.body;
    const t0 = performance.now();
    const results = await work(req, 'smiles', () => backend.searchTexts(smiles, { k, rerank: rerankOf(rerank) }));
    return { query: smiles, smiles, results, ms: performance.now() - t0 };
  });

  app.post('/api/explain', {
    schema: { summary: 'why a molecule matches a text: tokens, motifs, the OT plan, grain scores', body: ExplainBody, response: { 200: ExplainReply, ...errors } },
  }, async (req) => {
    const { text, smiles, depict = true } = req.body;
    const t0 = performance.now();
    const e = await work(req, 'smiles', () => backend.explain(text, smiles));
    const svg = depict ? motifSvg(e.smiles, e.motifs, { width: 420, height: 320 }) : undefined;
    return { ...e, palette: [...PALETTE_HEX], ...(svg ? { svg } : {}), ms: performance.now() - t0 };
  });

  const svgCache = new Map<string, string>();
  app.get('/api/molecules/:id.svg', {
    schema: {
      summary: 'a depiction of a library molecule (optionally with motifs or atoms highlighted)', params: MoleculeParams, querystring: MoleculeQuery,
      response: { 200: { type: 'string', description: 'image/svg+xml' }, 400: ErrorReply, 404: ErrorReply },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    const { highlight, width, height } = req.query;
    const w = size(width, 300, 'width'), h = size(height, 220, 'height');
    const mol = backend.molecule(id);
    if (!mol) throw new HttpError(404, 'not_found', `id: no molecule '${id}' in the loaded library`, 'id');
    const key = `${id}\n${highlight ?? ''}\n${w}x${h}`;
    let svg = svgCache.get(key);
    if (svg === undefined) {
      if (highlight === 'motifs') svg = motifSvg(mol.smiles, motifLists(buildHierGraph(mol.smiles)), { width: w, height: h });
      else {
        const atoms = highlight ? highlight.split(',').map(Number) : [];
        try {
          svg = atomsSvg(mol.smiles, atoms, { width: w, height: h });
        } catch (err) {
          if (err instanceof RangeError) throw new HttpError(400, 'bad_request', `highlight: ${err.message}`, 'highlight');
          throw err;
        }
      }
      if (svgCache.size >= SVG_CACHE) svgCache.delete(svgCache.keys().next().value!);
      svgCache.set(key, svg);
    }
    return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'public, max-age=3600').send(svg);
  });

  app.get('/api/docs', { schema: { hide: true } }, async () => app.swagger());

  // ---- the page ----
  const staticDir = o.staticDir ?? DEFAULT_STATIC;
  const built = existsSync(staticDir);
  if (built) await app.register(fastifyStatic, { root: staticDir, prefix: '/assets/', index: false, list: false, dotfiles: 'deny', cacheControl: true, maxAge: 0 });
  app.get('/', { schema: { hide: true } }, async (_req, reply: FastifyReply) => {
    if (!built) throw new HttpError(503, 'not_built', `the web page is not built (${staticDir} is missing): run npm run build`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(pageHtml());
  });

  app.addHook('onClose', async () => { queue.drain(new HttpError(503, 'busy', 'the server is shutting down', undefined, { 'retry-after': '5' })); });
  app.decorate('workQueue', queue);
  return app;
}

function size(v: string | undefined, fallback: number, field: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (n < 80 || n > 1200) throw new HttpError(400, 'bad_request', `${field} must be 80-1200 pixels, got ${v}`, field);
  return n;
}

/** Every error becomes {statusCode, error, message, field?}; validation errors name the field. */
function toHttpError(err: FastifyError | HttpError | Error): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof QueueFullError) return new HttpError(503, 'busy', err.message, undefined, { 'retry-after': String(err.retryAfterSeconds) });
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[] };
  if (fe.validation) {
    const first = fe.validation[0] ?? {};
    const part = fe.validationContext ?? 'body';
    const field = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || undefined;
    const what = part === 'querystring' ? 'query' : part === 'params' ? 'path' : part;
    return new HttpError(400, 'bad_request', `${what}${field ? ` field '${field}'` : ''}: ${first.message ?? 'invalid'}`, field);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new HttpError(413, 'too_large', `the body is larger than ${LIMITS.bodyBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new HttpError(400, 'bad_request', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new HttpError(400, 'bad_request', `the body is not valid JSON: ${fe.message}`);
    default: break;
  }
  if (err instanceof SyntaxError || (fe.statusCode === 400 && /JSON/i.test(fe.message))) return new HttpError(400, 'bad_request', `the body is not valid JSON: ${fe.message}`);
  const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status < 500) return new HttpError(status, 'bad_request', fe.message);
  return new HttpError(status, 'internal', 'internal error (see the server log)');
}
