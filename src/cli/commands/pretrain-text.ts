// `orma pretrain-text`: masked-language-model pre-training of the text encoder on training descriptions.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, numberFlag, parseCommandArgs, stopOnSignals } from '../args.js';
import { DEFAULT_MODEL_DIR } from '../../util/paths.js';
import type { PRETRAIN_DEFAULTS } from '../../train/pretrain-text.js';

type Defaults = typeof PRETRAIN_DEFAULTS;

/** The help text, its defaults read from the trainer's PRETRAIN_DEFAULTS. */
function help(d: Defaults): string {
  const num = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x));
  const pair = (a: string, da: string, b: string, db: string) => `  ${a.padEnd(23)}${da.padEnd(18)}${`${b}  `.padEnd(18)}${db}`;
  const def = (x: number) => `(default ${num(x)})`;
  return `usage: orma pretrain-text --data FILE [--data FILE ...] --out DIR [options]

Pre-trains a BERT text encoder with masked-language modelling on descriptions (pair TSVs such as
ChEBI-20/PCdes train, or plain text with one description per line). Shows progress with an ETA, saves a
resumable checkpoint in DIR/checkpoint (Ctrl-C saves and stops; --resume continues exactly), and
writes DIR as a Hugging Face BERT folder (config.json, vocab.txt, model.safetensors).

options:
  --config FILE          JSON with encoder sizes {hidden, layers, heads, ffn, maxPositions, dropout}
                         and/or training settings (the long option names below, in camelCase)
  --vocab FILE           vocab.txt (default: the shipped default vocabulary)
  --val FILE             held-out descriptions for the validation MLM loss after each epoch
  --exclude FILE         drop training texts whose molecule (canonical SMILES) is in FILE, a pair file
                         or molecule list (repeat; use every split you evaluate or select models on)
${pair('--epochs N', def(d.epochs), '--batch-size N', def(d.batchSize))}
${pair('--lr X', def(d.lr), '--warmup N', `warm-up steps ${def(d.warmup)}`)}
${pair('--weight-decay X', def(d.weightDecay), '--max-length N', `tokens per text ${def(d.maxLength)}`)}
${pair('--mask-prob X', def(d.maskProb), '--clip X', `gradient norm clip ${def(d.clip)}`)}
${pair('--seed N', def(d.seed), '--checkpoint-every N', `steps ${def(d.checkpointEvery)}`)}
  --max-steps N          stop after N steps in total (smoke runs)
  --resume               continue from DIR/checkpoint
  --allow-eval-text      accept --data files named test/validation
  --quiet                no progress line`;
}

export async function run(argv: string[]): Promise<number> {
  const { PRETRAIN_DEFAULTS: defaults, pretrainText } = await import('../../train/pretrain-text.js');
  const HELP = help(defaults);
  const str = { type: 'string' } as const;
  const args = parseCommandArgs(argv, {
    data: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true }, out: str, config: str, vocab: str, val: str, epochs: str, 'batch-size': str, lr: str, warmup: str,
    'weight-decay': str, 'max-length': str, 'mask-prob': str, clip: str, seed: str, 'checkpoint-every': str, 'max-steps': str,
    resume: { type: 'boolean' }, 'allow-eval-text': { type: 'boolean' }, quiet: { type: 'boolean' },
  }, HELP);
  if (!args) return 0;
  const v = args.values;
  const files = (v.data as string[] | undefined) ?? [];
  if (files.length === 0) throw new CliError(`--data is required\n\n${HELP}`);
  if (typeof v.out !== 'string') throw new CliError(`--out is required\n\n${HELP}`);
  const { assertTrainingFiles, readTextRows, readTexts } = await import('../../data/texts.js');
  try {
    assertTrainingFiles(files, 'pre-train', Boolean(v['allow-eval-text']));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const quiet = Boolean(v.quiet);
  const fromFile = readConfig(v.config as string | undefined);
  const { DEFAULT_TEXT_ENCODER } = await import('../../model/config.js');
  const encoderKeys = ['hidden', 'layers', 'heads', 'ffn', 'maxPositions', 'dropout', 'attentionDropout'] as const;
  const encoder = { ...DEFAULT_TEXT_ENCODER, ...Object.fromEntries(encoderKeys.filter((k) => k in fromFile).map((k) => [k, fromFile[k]])) };
  const setting = (flag: string, key: keyof Defaults) =>
    numberFlag(v[flag] as string | undefined, flag, typeof fromFile[key] === 'number' ? fromFile[key] as number : defaults[key]);

  let rows = files.flatMap((f) => readTextRows(f));
  const exclude = (v.exclude as string[] | undefined) ?? [];
  if (exclude.length) {
    const { moleculeKeysOf, withoutMolecules } = await import('../../data/leakage.js');
    const { kept, dropped } = withoutMolecules(rows, await moleculeKeysOf(exclude));
    if (!quiet) console.error(`pretrain-text: dropped ${dropped.length} of ${rows.length} training texts whose molecule is in --exclude files`);
    rows = kept;
  }
  const texts = rows.map((r) => r.text);
  const validationTexts = typeof v.val === 'string' ? readTexts(v.val) : undefined;
  const stop = stopOnSignals('pretrain-text');
  if (!quiet) console.error(`pretrain-text: ${texts.length} training texts${validationTexts ? `, ${validationTexts.length} validation texts` : ''}`);
  try {
    const result = await pretrainText({
      texts, validationTexts, vocabPath: (v.vocab as string | undefined) ?? join(DEFAULT_MODEL_DIR, 'vocab.txt'), out: v.out,
      encoder, epochs: setting('epochs', 'epochs'), batchSize: setting('batch-size', 'batchSize'), lr: setting('lr', 'lr'),
      warmup: setting('warmup', 'warmup'), weightDecay: setting('weight-decay', 'weightDecay'), maxLength: setting('max-length', 'maxLength'),
      maskProb: setting('mask-prob', 'maskProb'), clip: setting('clip', 'clip'), seed: setting('seed', 'seed'),
      checkpointEvery: setting('checkpoint-every', 'checkpointEvery'),
      maxSteps: v['max-steps'] === undefined ? undefined : numberFlag(v['max-steps'] as string, 'max-steps', 0),
      resume: Boolean(v.resume), shouldStop: stop.requested, progress: quiet ? null : process.stderr,
    });
    console.log(JSON.stringify({ out: v.out, ...result }));
    return stop.requested() ? 130 : 0;
  } finally {
    stop.release();
  }
}

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  if (!existsSync(path)) throw new CliError(`--config ${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`--config ${path}: not valid JSON: ${(err as Error).message}`);
  }
}
