// `orma search` and `orma index`: the search API (src/search) on the command line.
import { CliError, numberFlag, parseCommandArgs } from '../args.js';

const COMMON = `  --model DIR        model directory (default models/default)
  --molecules FILE   molecule library (TSV with id/SMILES[/name] columns, or .smi; default: the shipped
                     ChEBI-20 molecules, 33,010, CC BY 4.0)
  --texts FILE       text library (TSV with id/text columns, or .txt; default: the shipped ChEBI-20
                     descriptions, 33,006, CC BY 4.0)
  --index DIR        where indexes and caches live (default $ORMA_INDEX_DIR or ~/.cache/orma/index)
  --dtype T          float16 (default) or float32 index vectors
  --store S          stage-1 store: auto (default: the LanceDB store when \`orma index --store lance\` built
                     one, else the exact in-memory matrix below 100,000 rows), exact, or lance`;

const SEARCH_HELP = `usage: orma search "DESCRIPTION" [--k 10] [--rerank 50] [--substructure SMARTS] [--library FILE|DIR] [--json]
       orma search --smiles SMILES [--k 10] [--rerank 50] [--json]        (texts for a molecule)
       orma search --similar SMILES [--by model|morgan] [--k 10] [--json] (molecules like a molecule)
       orma search "DESCRIPTION" --explain SMILES [--json]               (why they match)

Searches the molecule library for a description (stage 1: the global score over every molecule; stage 2:
the fused three-grain ORMA score on the top --rerank candidates), or the text library for a molecule.
The first search under a model builds that model's index of each library (progress on stderr; resumable).
  --k N              hits to show (default 10)
  --rerank K         candidates re-ranked by the fused score (default 50; 0 = global score only)
  --substructure S   keep only molecules matching the SMARTS S (RDKit)
  --by B             --similar by the model's molecule vectors (default) or Morgan-fingerprint Tanimoto
  --json             print JSON instead of a table
  --timings          also print one JSON line on stderr: {"timings_ms": {start_to_command, import, load,
                     index, search, total}}: ms from the process start to the command, then each step
                     (modules; model, RDKit and libraries; the index; the search), and the total from the
                     process start to the answer (\`orma bench cold-start\`)
  --library P        a library file (molecules or texts, from its columns), or a folder with
                     molecules.{tsv.gz,tsv,smi} and/or texts.{tsv.gz,tsv,txt}
  --nprobes N        LanceDB ANN index: IVF partitions to probe (IVF_PQ default 1/8 of them, at least 8;
                     IVF_HNSW_SQ: all)
  --refine R         LanceDB ANN index: re-score R × k candidates with the stored vectors (default 10 for
                     IVF_PQ, 4 for IVF_HNSW_SQ)
  --flat             LanceDB store: ignore the ANN index (an exact scan)
  --no-token-cache   stage 2 of --smiles encodes its candidate texts instead of reading them from the text
                     index's token cache (and a first search builds no cache)
${COMMON}`;

const INDEX_HELP = `usage: orma index --library FILE --out DIR [--kind molecules|texts] [--model DIR] [--dtype T] [--store S] [--ann A]
       orma index --library FILE --out DIR --store lance --shard i/S [--chunk-rows N]   (one job of a sharded build)
       orma index --library FILE --out DIR --store lance --merge [--ann A]              (after all S jobs)

Embeds a library once under a model into DIR (with a progress bar; an interrupted run resumes where it
stopped). The index is keyed by the library's bytes, the model's weights and config, and the featurizer
version, so \`orma search --index DIR\` with the same model and library uses it without recomputing.
  --library FILE     the library (molecules if it has a SMILES column or is .smi, else texts)
  --out DIR          index folder (the --index DIR of orma search)
  --kind K           molecules or texts (default: from the file)
  --model DIR        model directory (default models/default)
  --dtype T          float16 (default) or float32 vectors
  --store S          auto (default: exact below 100,000 rows, else lance), exact (the chunk files, loaded
                     as one matrix by a search), or lance (also a LanceDB table built from them, written to a
                     temp folder and renamed; \`orma search --index DIR\` then uses it)
  --ann A            the LanceDB store's ANN index: auto (default: ivf_hnsw_sq from 50,000 rows, ivf_pq for
                     models whose vectors are not unit length, else none), none (flat, exact), ivf_pq,
                     or ivf_hnsw_sq
  --no-token-cache   text libraries: do not write the token cache. By default a text index also stores
                     what stage 2 (the fused rerank of \`orma search --smiles\`) needs from each text, so
                     that it reads its candidates from disk instead of encoding them: (4 + 6 × tokens) ×
                     dim bytes a text (~115 KB for a 74-token text at dim 256; 3.5 GiB for the shipped
                     33,006 ChEBI-20 texts, computed from their token counts). Run again without it to
                     add the cache to an existing index
  --shard i/S        embed only shard i (0-based) of S of the library, and append it to one LanceDB table
                     shared by the S jobs (they may run at once, on machines sharing DIR); shard i gets the
                     i-th of S contiguous ranges of chunks (rows [⌊i·C/S⌋·N, ⌊(i+1)·C/S⌋·N) for C chunks of
                     N rows). Resumable per shard. Needs --store lance; writes no token cache
  --merge            after every shard: check them, record the table's row order, train the ANN index
                     (--ann) once and publish the store (until then searches say it is not merged)
  --chunk-rows N     rows per chunk of a new index (default 2048; the unit of resuming and of sharding)`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
const str = { type: 'string' } as const;

function choice<T extends string>(v: Values, flag: string, allowed: readonly T[]): T | undefined {
  const x = v[flag];
  if (x === undefined) return undefined;
  if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) throw new CliError(`--${flag} must be ${allowed.join(', ')}, got '${String(x)}'`);
  return x as T;
}

function positive(v: Values, flag: string): number | undefined {
  if (v[flag] === undefined) return undefined;
  const n = numberFlag(v[flag] as string, flag, 0);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${flag} must be a positive integer, got '${String(v[flag])}'`);
  return n;
}

const EXTS = { molecules: ['.tsv.gz', '.tsv', '.smi'], texts: ['.tsv.gz', '.tsv', '.txt'] };

/** --library P: a library file (its kind from its columns) or a folder with molecules.<ext> / texts.<ext>. */
async function libraryFlag(p: string): Promise<{ molecules?: string; texts?: string }> {
  const { existsSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
    const find = (name: 'molecules' | 'texts') => EXTS[name].map((e) => join(p, name + e)).find((f) => existsSync(f));
    const out = { molecules: find('molecules'), texts: find('texts') };
    if (!out.molecules && !out.texts) throw new CliError(`--library ${p}: no molecules.{tsv.gz,tsv,smi} or texts.{tsv.gz,tsv,txt} in this folder`);
    return out;
  }
  const { libraryKind } = await import('../../search/index.js');
  try { return { [libraryKind(p)]: p }; } catch (err) { throw new CliError((err as Error).message); }
}

function dtypeOf(v: Values): 'float16' | 'float32' | undefined {
  if (v.dtype === undefined) return undefined;
  if (v.dtype !== 'float16' && v.dtype !== 'float32') throw new CliError(`--dtype must be float16 or float32, got '${String(v.dtype)}'`);
  return v.dtype;
}

function fit(s: string, width: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= width ? one : one.slice(0, Math.max(1, width - 1)) + '…';
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

const num = (x: number | undefined) => (x === undefined ? '' : x.toFixed(3));

async function withSearch<T>(v: Values, fn: (s: import('../../search/index.js').OrmaSearch, api: typeof import('../../search/index.js')) => Promise<T>, lazy: boolean, build = false, timings?: Record<string, number>): Promise<T> {
  const tImport = performance.now();
  const api = await import('../../search/index.js');   // libtorch's addon, LanceDB, RDKit's bindings
  const t0 = performance.now();
  if (timings) timings.import = t0 - tImport;
  const store = choice(v, 'store', ['auto', 'exact', 'lance'] as const);
  const ann = choice(v, 'ann', ['auto', 'none', 'ivf_pq', 'ivf_hnsw_sq'] as const);
  const annSearch = { nprobes: positive(v, 'nprobes'), refineFactor: positive(v, 'refine'), flat: v.flat === true ? true : undefined };
  const lib = typeof v.library === 'string' && !build ? await libraryFlag(v.library) : {};
  let s;
  try {
    s = await api.OrmaSearch.load({
      model: v.model as string | undefined, molecules: lib.molecules ?? (v.molecules as string | undefined), texts: lib.texts ?? (v.texts as string | undefined),
      indexDir: v.index as string | undefined, dtype: dtypeOf(v), progress: process.stderr, lazy, store, ann, buildStore: build,
      tokenCache: v['no-token-cache'] === true ? 'off' : build ? 'build' : 'auto', chunkRows: positive(v, 'chunk-rows'),
      annSearch: Object.fromEntries(Object.entries(annSearch).filter(([, x]) => x !== undefined)),
    });
    if (timings) timings.load = performance.now() - t0;   // the modules, the model, the libraries
    return await fn(s, api);
  } catch (err) {
    if (err instanceof api.StoreError) throw new CliError(err.message, 1);
    if (err instanceof api.SearchError) throw new CliError(err.message);
    throw err;
  } finally {
    s?.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    k: str, rerank: str, substructure: str, smiles: str, similar: str, by: str, explain: str, json: { type: 'boolean' },
    model: str, molecules: str, texts: str, index: str, dtype: str, store: str, library: str, nprobes: str, refine: str, flat: { type: 'boolean' },
    'no-token-cache': { type: 'boolean' }, timings: { type: 'boolean' },
  }, SEARCH_HELP, true);
  const timings: Record<string, number> | undefined = args?.values.timings ? { start_to_command: performance.now() } : undefined;
  if (!args) return 0;
  const v = args.values;
  const text = args.positionals.join(' ').trim();
  const k = numberFlag(v.k as string | undefined, 'k', 10);
  const rerank = numberFlag(v.rerank as string | undefined, 'rerank', 50);
  const modes = [v.smiles, v.similar].filter((x) => x !== undefined).length;
  if (modes > 1) throw new CliError('--smiles and --similar are different searches: give one');
  if (modes === 0 && !text) throw new CliError(`give a description to search for, or --smiles / --similar\n\n${SEARCH_HELP}`);
  if (v.explain !== undefined && !text) throw new CliError('--explain needs the description too: orma search "DESCRIPTION" --explain SMILES');
  const json = Boolean(v.json);
  /** Opens the index the search reads (timed apart from the search itself with --timings). */
  const timed = async <T>(index: () => Promise<unknown>, search: () => Promise<T>): Promise<T> => {
    if (!timings) return search();
    let t = performance.now();
    await index();
    timings.index = performance.now() - t;
    t = performance.now();
    const out = await search();
    timings.search = performance.now() - t;
    return out;
  };
  const report = () => {
    if (!timings) return;
    timings.total = performance.now();
    console.error(JSON.stringify({ timings_ms: Object.fromEntries(Object.entries(timings).map(([key, ms]) => [key, +ms.toFixed(1)])) }));
  };
  return withSearch(v, async (s) => {
    if (v.explain !== undefined) {
      const e = await s.explain(text, v.explain as string);
      if (json) { console.log(JSON.stringify(e)); return 0; }
      console.log(`molecule ${e.smiles}: ${e.motifs.length} motif(s)${e.wholeMolecule ? ' (no motifs: the whole molecule stands in as one)' : ''}`);
      e.motifs.forEach((m, i) => console.log(`  motif ${i}: atoms [${m.join(', ')}]`));
      console.log(`scores: fused ${num(e.fused)} = global ${num(e.grains.global)}, local ${num(e.grains.local)}, mid ${num(e.grains.mid)}${e.truncated ? ' (text truncated)' : ''}`);
      console.log(table(['token', 'motif', 'mass'], e.tokens.map((t, i) => [t, e.tokenMotif[i]! < 0 ? '-' : String(e.tokenMotif[i]), e.tokenMotif[i]! < 0 ? '' : (e.plan[i]![e.tokenMotif[i]!]!).toExponential(2)])));
      return 0;
    }
    if (v.smiles !== undefined) {
      const hits = await timed(() => s.textIndex(), () => s.searchTexts(v.smiles as string, { k, rerank }));
      if (rerank > 0 && v['no-token-cache'] !== true && !(await s.textIndex()).tokens) {
        console.error(`note: this text index has no token cache, so stage 2 encoded its ${Math.max(k, rerank)} candidates; \`orma index --library ${s.files.texts} --out ${s.files.indexDir}${v.model ? ` --model ${String(v.model)}` : ''}\` adds it (faster --smiles searches)`);
      }
      if (json) { console.log(JSON.stringify(hits)); report(); return 0; }
      console.log(table(['rank', 'score', 'global', 'local', 'mid', 'id', 'text'], hits.map((h) => [String(h.rank), num(h.score), num(h.grains.global), num(h.grains.local), num(h.grains.mid), h.id, fit(h.text, 70)])));
      report();
      return 0;
    }
    const hits = await timed(() => s.moleculeIndex(), () => v.similar !== undefined
      ? s.similarMolecules(v.similar as string, { k, by: (v.by ?? 'model') as 'model' | 'morgan' })
      : s.searchMolecules(text, { k, rerank, ...(v.substructure !== undefined ? { substructure: v.substructure as string } : {}) }));
    if (json) { console.log(JSON.stringify(hits)); report(); return 0; }
    if (hits.length === 0) { console.log('no molecules found' + (v.substructure !== undefined ? ` matching ${String(v.substructure)}` : '')); report(); return 0; }
    const fine = hits.some((h) => h.grains.fused !== undefined);
    const head = v.similar !== undefined ? ['rank', v.by === 'morgan' ? 'tanimoto' : 'cosine'] : fine ? ['rank', 'score', 'global', 'local', 'mid'] : ['rank', 'global'];
    console.log(table([...head, 'id', 'name', 'smiles'], hits.map((h) => [
      String(h.rank), num(h.score), ...(fine && v.similar === undefined ? [num(h.grains.global), num(h.grains.local), num(h.grains.mid)] : []), h.id, h.name ?? '', fit(h.smiles, 70),
    ])));
    report();
    return 0;
  }, true, false, timings);
}

export async function runIndex(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    library: str, out: str, kind: str, model: str, dtype: str, store: str, ann: str, 'no-token-cache': { type: 'boolean' },
    shard: str, merge: { type: 'boolean' }, 'chunk-rows': str,
  }, INDEX_HELP);
  if (!args) return 0;
  const v = args.values;
  if (typeof v.library !== 'string') throw new CliError(`--library is required\n\n${INDEX_HELP}`);
  if (typeof v.out !== 'string') throw new CliError(`--out is required\n\n${INDEX_HELP}`);
  const { libraryKind } = await import('../../search/index.js');
  if (v.kind !== undefined && v.kind !== 'molecules' && v.kind !== 'texts') throw new CliError(`--kind must be molecules or texts, got '${String(v.kind)}'`);
  let kind: 'molecules' | 'texts';
  try { kind = (v.kind as 'molecules' | 'texts' | undefined) ?? libraryKind(v.library); } catch (err) { throw new CliError((err as Error).message); }
  const opts: Values = { ...v, index: v.out, [kind]: v.library };
  if (v.shard !== undefined || v.merge) {
    if (v.shard !== undefined && v.merge) throw new CliError('--shard runs one job of a sharded build and --merge finishes it: give one');
    if (v.store !== 'lance') throw new CliError(`${v.merge ? '--merge' : '--shard'} builds a LanceDB store: add --store lance`);
    const { parseShard } = await import('../../search/index.js');
    let shard: ReturnType<typeof parseShard> | undefined;
    try { shard = v.shard !== undefined ? parseShard(String(v.shard)) : undefined; } catch (err) { throw new CliError((err as Error).message); }
    return withSearch(opts, async (s) => {
      if (shard) {
        const r = await s.indexShard(kind, shard);
        console.log(JSON.stringify({ dir: r.dir, kind, shard: `${shard.index}/${shard.count}`, chunks: r.chunks, rows: r.rows, invalid: r.invalid, embedded: r.embedded, appended: r.appended, seconds: r.seconds }));
        return 0;
      }
      const index = await s.mergeShards(kind);
      console.log(JSON.stringify({ dir: index.dir, kind, store: index.store, rows: index.rows, searchable: index.searchable, invalid: index.invalid.length, dim: index.dim, dtype: index.dtype, ann: index.ann?.type ?? 'none', seconds: index.seconds }));
      return 0;
    }, true, false);
  }
  return withSearch(opts, async (s) => {
    const index = kind === 'molecules' ? await s.moleculeIndex() : await s.textIndex();
    console.log(JSON.stringify({
      dir: index.dir, kind, store: index.store, rows: index.rows, searchable: index.searchable, invalid: index.invalid.length, dim: index.dim, dtype: index.dtype,
      ...(index.store === 'lance' ? { ann: index.ann?.type ?? 'none' } : {}), seconds: index.seconds,
      ...(kind === 'texts' ? { tokenCache: index.tokens ? { bytes: index.tokens.summary.bytes, texts: index.tokens.summary.texts, tokens: index.tokens.summary.tokens } : null } : {}),
    }));
    if (index.tokens) {
      const t = index.tokens.summary;
      console.error(`index: token cache ${(t.bytes / 2 ** 20).toFixed(1)} MiB on disk (${t.texts} texts, ${t.tokens} tokens: (4 × texts + 6 × tokens) × ${index.dim} bytes; --no-token-cache to go without)`);
    }
    if (index.invalid.length) console.error(`index: ${index.invalid.length} row(s) could not be embedded, e.g. ${index.invalid.slice(0, 3).map((x) => `${x.id}: ${x.reason}`).join('; ')}`);
    return 0;
  }, true, true);
}
