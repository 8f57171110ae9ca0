// `orma serve`: the HTTP API and the web page over a loaded model and molecule library.
import { CliError, numberFlag, parseCommandArgs } from '../args.js';

const HELP = `usage: orma serve [--port 8080] [--host 127.0.0.1] [--model DIR] [--library FILE|DIR] [--texts FILE] [--index DIR]

Serves the search API and a web page (open http://HOST:PORT/). Routes:
  POST /api/search    {text, k?, rerank?, substructure?}   text -> molecules
  POST /api/describe  {smiles, k?, rerank?}                SMILES -> descriptions
  POST /api/explain   {text, smiles}                       tokens, motifs, OT plan, grain scores
  GET  /api/molecules/ID.svg[?highlight=motifs|0,1,2]      depiction of a library molecule
  GET  /api/docs                                           the OpenAPI document
  GET  /healthz
  --port N          TCP port (default 8080; 0 picks a free one)
  --host ADDR       address to bind (default 127.0.0.1, loopback only; 0.0.0.0 exposes it)
  --model DIR       model directory (default: the search layer's default model)
  --library P       molecule library file (TSV, .tsv.gz or .smi), or a folder with molecules.<ext>
                    and optionally texts.<ext> (default: the shipped ChEBI-20 libraries)
  --texts FILE      text library for /api/describe
  --index DIR       where the libraries' vector indexes are kept (default: the search layer's)
  --queue N         model requests waiting at most before 503 + Retry-After (default 32)
  --timeout S       longest time for a request, queue wait included (default 30)
  --rerank N        default reranking depth when a request names none
  --log             log every request (JSON lines on stderr)
  -h, --help        this help
SIGTERM or Ctrl-C stops taking connections, lets running requests finish, then exits.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    port: { type: 'string' }, host: { type: 'string' }, model: { type: 'string' }, library: { type: 'string' }, texts: { type: 'string' }, index: { type: 'string' },
    queue: { type: 'string' }, timeout: { type: 'string' }, rerank: { type: 'string' }, log: { type: 'boolean' },
  }, HELP);
  if (!args) return 0;
  const v = args.values as Record<string, string | boolean | undefined>;
  const port = numberFlag(v.port as string | undefined, 'port', 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got ${v.port}`);
  const maxQueued = numberFlag(v.queue as string | undefined, 'queue', 32);
  const timeoutS = numberFlag(v.timeout as string | undefined, 'timeout', 30);
  if (maxQueued < 0 || timeoutS <= 0) throw new CliError('--queue must be >= 0 and --timeout > 0');
  const rerank = v.rerank === undefined ? undefined : numberFlag(v.rerank as string, 'rerank', 0);
  const host = (v.host as string | undefined) ?? '127.0.0.1';

  const { loadBackend } = await import('../../server/load.js');
  const { buildServer } = await import('../../server/app.js');
  const t0 = Date.now();
  const backend = await loadBackend({ model: v.model as string | undefined, library: v.library as string | undefined, texts: v.texts as string | undefined, indexDir: v.index as string | undefined, progress: process.stderr })
    .catch((err: Error) => { throw err.name === 'SearchError' || (err as NodeJS.ErrnoException).code === 'ENOENT' ? new CliError(err.message, 1) : err; });
  const app = await buildServer({ backend, maxQueued, timeoutMs: timeoutS * 1000, defaultRerank: rerank, logger: v.log ? { level: 'info' } : false });
  const address = await app.listen({ port, host });
  const i = backend.info;
  console.error(`orma serve: ${i.molecules} molecules, ${i.texts} texts, model ${i.model} (${((Date.now() - t0) / 1000).toFixed(1)} s) on ${address}`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') console.error(`orma serve: listening on ${host}, not only loopback: anyone who can reach this machine can use it`);

  await new Promise<void>((resolve) => {
    let closing = false;
    const stop = (sig: string) => {
      if (closing) return;
      closing = true;
      console.error(`orma serve: ${sig}, finishing running requests`);
      const force = setTimeout(() => { console.error('orma serve: requests still running after 10 s, exiting'); process.exit(1); }, 10_000);
      force.unref();
      app.close().then(() => { backend.close(); resolve(); }, (err) => { console.error(err); backend.close(); resolve(); });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
