// `orma train`: trains an ORMA model from one JSON config (see src/train/config.ts for every field and
// its default), with key=value overrides, validation, best/ and last/ checkpoints, Ctrl-C and --resume.
import { CliError, numberFlag, parseCommandArgs, stopOnSignals } from '../args.js';

const HELP = `usage: orma train --config FILE --out RUN_DIR [--resume] [--max-steps N] [--budget 2h] [key=value ...]

Trains an ORMA model. FILE is JSON with four sections, every field optional but data.sources:
  model  {preset: default|official, orma: {...ORMA switches}, text: {hidden, layers, heads, ffn, ...},
          textInit: HF BERT folder, init: orma model folder to warm-start from, vocab: vocab.txt, maxLength,
          featurizer: {noBricsFallback, downwardEdges}, atoms: {input: categorical|mol2vec, radius: 0|1,
          mol2vec: Mol2vec table folder (default ../shared/data/mol2vec/, training only)}}
  data   {sources: [pair files], exclude: [files whose molecules are dropped from every source],
          excludeBenchmarks: [chebi20_test, chebi20_selection, pcdes_validation, pcdes_test] (the default),
          validation: [{name, file}] (their molecules are excluded from training too), cache: DIR}
  optim  {batchSize, lr, textLr, weightDecay, warmup, schedule: cosine|linear|constant, clip, epochs | steps, budgetMinutes}
  run    {seed, validateEveryMinutes | validateEverySteps, checkpointEverySteps, rerank, selectOn: fused|global}
Overrides address fields by path: optim.lr=1e-4 model.orma.logitScale=official data.sources='["a.tsv"]'.

RUN_DIR gets config.json (resolved), metrics.jsonl (every step and validation), curves.svg, summary.json,
last/ and best/ (each a model directory for \`orma eval --model\`, plus optimizer and trainer state).

options:
  --resume          continue RUN_DIR/last exactly where it stopped (same config required)
  --max-steps N     stop after N steps in total (the schedule still spans the whole run)
  --budget T        wall-clock budget (e.g. 90m, 2h, 1h30m): the schedule is fitted to it
  --quiet           no progress line`;

/** '2h', '90m', '1h30m', '45s' or a number of minutes → minutes. */
export function parseDuration(s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
  if (!m || s === '') throw new CliError(`--budget: cannot read '${s}' (use e.g. 2h, 90m, 1h30m)`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 60;
}

export async function run(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const args = parseCommandArgs(argv, { config: str, out: str, resume: { type: 'boolean' }, 'max-steps': str, budget: str, quiet: { type: 'boolean' } }, HELP, true);
  if (!args) return 0;
  const v = args.values;
  if (typeof v.config !== 'string') throw new CliError(`--config is required\n\n${HELP}`);
  if (typeof v.out !== 'string') throw new CliError(`--out is required\n\n${HELP}`);
  const overrides = [...args.positionals];
  if (typeof v.budget === 'string') overrides.push(`optim.budgetMinutes=${parseDuration(v.budget)}`);
  const { ConfigError, readTrainConfig } = await import('../../train/config.js');
  let config;
  try {
    config = readTrainConfig(v.config, overrides);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const stop = stopOnSignals('train', 'saving last/');
  const { TrainingError, trainOrma } = await import('../../train/train-orma.js');
  try {
    const result = await trainOrma({
      config, out: v.out, resume: Boolean(v.resume), shouldStop: stop.requested,
      maxSteps: v['max-steps'] === undefined ? undefined : numberFlag(v['max-steps'] as string, 'max-steps', 0),
      progress: v.quiet ? null : process.stderr, log: v.quiet ? () => {} : undefined,
    });
    console.log(JSON.stringify({ out: v.out, ...result }));
    return stop.requested() ? 130 : 0;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    if (err instanceof TrainingError) throw new CliError(err.message, 1);
    throw err;
  } finally {
    stop.release();
  }
}
