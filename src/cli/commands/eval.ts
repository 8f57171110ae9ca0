// `orma eval`: retrieval metrics of a model on a pair file, both directions (src/eval/evaluate.ts;
// protocols, pools, the tie rule and the JSON format in docs/evaluation.md).
import { CliError, numberFlag, parseCommandArgs } from '../args.js';

const HELP = `usage: orma eval --model DIR --data FILE [--pool split|chebi20-all|FILE ...] [--score global|fused|rerank:K]
                 [--weights G,L,M] [--momu] [--ranks FILE] [--json] [--batch N] [--cache DIR] [--quiet]

Scores every pair of FILE in both directions: each text ranks the pool's molecules (text -> molecule), each
molecule of FILE ranks FILE's texts (molecule -> text; all texts of a molecule are its gold). Reports
Hits@1/5/10, Recall@1/5/10, MRR, mean and median rank. Ties count against the gold item. Molecules are
compared by canonical SMILES: duplicates in the pool are merged into one candidate.
  --model DIR      model directory (config.json, model.safetensors, vocab.txt), e.g. a run's best/
  --data FILE      pair file: TSV, CSV or JSONL with SMILES and description columns (.gz is fine)
  --pool P         candidate molecules (repeatable, united); every gold molecule of FILE is added:
                     split        FILE's own molecules (default)
                     chebi20-all  all 33,010 ChEBI-20 molecules (shipped, CC BY 4.0)
                     FILE         a molecule file (a SMILES column, optional id; TSV, CSV, JSONL)
  --score S        global    sentence-molecule cosine over the whole pool
                   fused     the three-grain ORMA score over the whole pool (every pair: ~25,000 pairs/s)
                   rerank:K  global top K of each query re-ordered by the fused score (default rerank:50)
  --weights G,L,M  the fused score's grain weights (global, token-atom, multitoken-motif) instead of the
                   model's own (e.g. 1,0,0 or 0.3,0.5,0): an inference-time ablation, or weights chosen
                   on validation; the JSON repeats them under "weights"
  --momu           add MoMu's PCdes protocol: Rec@20 over the whole set and accuracy within unshuffled
                   batches of 64, both directions, global score
  --ranks FILE     also write every query's best gold rank to FILE (TSV: direction, line, rank; lines of
                   the data file), for Hits@k curves (scripts/hits-curves.mjs) or paired comparisons
  --json           print one JSON object instead of a table
  --batch N        queries per scoring block and items per encoding batch (default 64)
  --cache DIR      molecule-graph cache (default ~/.cache/orma/graphs)
  --quiet          no progress lines on stderr
A pair whose molecule cannot be featurized or encoded is a miss (rank = pool size), listed under "skipped".`;

type Report = import('../../eval/index.js').EvaluationReport;

/** Idle allocator blocks `orma eval` keeps (unless ORMA_ALLOCATOR_CACHE_BYTES says otherwise). */
const EVAL_CACHE_BYTES = 1 << 30;

const pct = (x: number) => x.toFixed(2);

function table(r: Report, w: { global: number; local: number; mid: number } | null): string {
  const rows: [string, (d: Report['text_to_molecule']) => string][] = [
    ['queries', (d) => String(d.queries)],
    ['Hits@1 %', (d) => pct(d['hits@1'])], ['Hits@5 %', (d) => pct(d['hits@5'])], ['Hits@10 %', (d) => pct(d['hits@10'])],
    ['Recall@1 %', (d) => pct(d['recall@1'])], ['Recall@5 %', (d) => pct(d['recall@5'])], ['Recall@10 %', (d) => pct(d['recall@10'])],
    ['MRR', (d) => d.mrr.toFixed(4)], ['mean rank', (d) => d.mean_rank.toFixed(1)], ['median rank', (d) => String(d.median_rank)],
  ];
  const lines = [
    `data ${r.data}: ${r.pairs} pairs; pool ${r.pool}: ${r.pool_size} molecules (${r.merged_duplicates} duplicate(s) merged, ${r.gold_added} gold molecule(s) added, ${r.pool_unusable} unusable left out)`,
    `score ${r.score}${w ? ` with grain weights global ${w.global}, local ${w.local}, mid ${w.mid}` : ''}; ties count against the gold item`,
    '',
    `${'metric'.padEnd(14)}${'text->molecule'.padStart(16)}${'molecule->text'.padStart(16)}`,
    ...rows.map(([name, f]) => `${name.padEnd(14)}${f(r.text_to_molecule).padStart(16)}${f(r.molecule_to_text).padStart(16)}`),
  ];
  if (r.momu) {
    const m = r.momu;
    lines.push('', `MoMu protocol (${m.pairs} pairs${m.left_out ? `, ${m.left_out} without a usable molecule left out` : ''}; global score)`,
      `${'Rec@20 %'.padEnd(14)}${pct(m.text_to_molecule['rec@20']).padStart(16)}${pct(m.molecule_to_text['rec@20']).padStart(16)}`,
      `${`acc@batch${m.batch} %`.padEnd(14)}${pct(m.text_to_molecule.batch_accuracy).padStart(16)}${pct(m.molecule_to_text.batch_accuracy).padStart(16)}`);
  }
  if (r.skipped.length) {
    lines.push('', `skipped ${r.skipped.length} row(s):`, ...r.skipped.slice(0, 10).map((s) => `  line ${s.row}: ${s.reason}`));
    if (r.skipped.length > 10) lines.push(`  ... and ${r.skipped.length - 10} more (--json lists all)`);
  }
  lines.push('', `${r.seconds.toFixed(1)} s (${r.scored_pairs.toLocaleString('en-US')} pairs scored, ${r.pairs_per_second.toLocaleString('en-US')} pairs/s)`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const args = parseCommandArgs(argv, {
    model: str, data: str, pool: { type: 'string', multiple: true }, score: str, momu: { type: 'boolean' }, json: { type: 'boolean' },
    batch: str, cache: str, quiet: { type: 'boolean' }, weights: str, ranks: str,
  }, HELP);
  if (!args) return 0;
  const v = args.values;
  if (typeof v.model !== 'string') throw new CliError(`--model is required\n\n${HELP}`);
  if (typeof v.data !== 'string') throw new CliError(`--data is required\n\n${HELP}`);
  const batch = numberFlag(v.batch as string | undefined, 'batch', 64);
  if (!(Number.isInteger(batch) && batch >= 1)) throw new CliError(`--batch must be a positive integer, got '${String(v.batch)}'`);
  const { EvalError, evaluate, parseScoreMode } = await import('../../eval/index.js');
  let score;
  try { score = parseScoreMode((v.score as string | undefined) ?? 'rerank:50'); } catch (err) { throw new CliError(`--${(err as Error).message}`); }
  const weights = v.weights === undefined ? null : parseWeights(v.weights as string);
  let model: string | import('../../model/factory.js').OrmaBundle = v.model;
  if (weights) {
    const { loadOrmaModel } = await import('../../model/factory.js');
    try { model = loadOrmaModel(v.model); } catch (err) { throw new CliError(`--model: ${(err as Error).message}`); }
    if (model.config.orma.combine !== 'weighted') throw new CliError(`--weights: the model combines grains by '${model.config.orma.combine}', not by weights`);
    model.model.config.weights = weights;
  }
  // memory: the encoders' and scorers' working sets are far below the allocator's own bound (twice the peak in
  // use), so idle blocks are kept at 1 GiB, and blocks freed past it go back to the system (docs/evaluation.md)
  const tensors = await import('../../tensor/index.js');
  if (process.env.ORMA_ALLOCATOR_CACHE_BYTES === undefined) tensors.setAllocatorCacheLimit(EVAL_CACHE_BYTES);
  if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined) tensors.releaseFreedBlocks();
  let report: Report;
  try {
    report = await evaluate({
      model, data: v.data, pool: v.pool as string[] | undefined, score, momu: Boolean(v.momu), batchSize: batch,
      cacheDir: v.cache as string | undefined, progress: v.quiet ? null : process.stderr, log: (l) => console.error(`eval: ${l}`),
      ranks: typeof v.ranks === 'string',
    });
  } catch (err) {
    if (err instanceof EvalError) throw new CliError(err.message, 1);
    throw err;
  }
  if (report.ranks) {
    const { writeFileAtomic } = await import('../../util/fs.js');
    const { ranks, ...rest } = report;
    const lines = (['text_to_molecule', 'molecule_to_text'] as const).flatMap((d) => ranks[d].map((x) => `${d}\t${x.line}\t${x.rank}`));
    writeFileAtomic(v.ranks as string, `direction\tline\trank\n${lines.join('\n')}\n`);
    report = rest;
  }
  console.log(v.json ? JSON.stringify(weights ? { ...report, weights } : report) : table(report, weights));
  return 0;
}

/** `G,L,M` → grain weights: three finite numbers ≥ 0, not all 0. */
function parseWeights(s: string): { global: number; local: number; mid: number } {
  const w = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (w.length !== 3 || w.some((x) => !Number.isFinite(x) || x < 0) || w.every((x) => x === 0)) {
    throw new CliError(`--weights must be three numbers >= 0, not all 0, as G,L,M (e.g. 0.3,0.5,0.2), got '${s}'`);
  }
  return { global: w[0]!, local: w[1]!, mid: w[2]! };
}
