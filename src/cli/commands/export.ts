// `orma export`: a trained checkpoint (a run's best/ or last/) becomes a model directory to ship or
// share: config, vocabulary and weights only (no optimizer or trainer state), optionally in float16, with
// a model card. models/default/ is made this way (its README says the command).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, parseCommandArgs } from '../args.js';
import { loadOrmaModel, saveOrmaModel } from '../../model/factory.js';

const HELP = `usage: orma export --checkpoint DIR --out DIR [--float16] [--card FILE]

Writes the model of a training checkpoint (RUN/best or RUN/last, or any model directory) as a model
directory: config.json, vocab.txt, model.safetensors (mol2vec.safetensors too for Mol2vec atom inputs;
and README.md, the model card). Written atomically.

options:
  --checkpoint DIR   the checkpoint or model directory to read
  --out DIR          the model directory to write (replaced if it exists)
  --float16          store the weights in half precision (half the size; loaded back as float32)
  --card FILE        a Markdown model card, copied to README.md`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    checkpoint: { type: 'string' }, out: { type: 'string' }, float16: { type: 'boolean' }, card: { type: 'string' },
  }, HELP);
  if (!args) return 0;
  const v = args.values;
  if (typeof v.checkpoint !== 'string') throw new CliError(`--checkpoint is required\n\n${HELP}`);
  if (typeof v.out !== 'string') throw new CliError(`--out is required\n\n${HELP}`);
  if (!existsSync(join(v.checkpoint, 'config.json'))) throw new CliError(`${v.checkpoint}: not a checkpoint or model directory (no config.json)`);
  const card = typeof v.card === 'string' ? readCard(v.card) : undefined;
  let bundle;
  try {
    bundle = loadOrmaModel(v.checkpoint);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const parameters = bundle.model.numParameters();
  saveOrmaModel(v.out, bundle, { float16: Boolean(v.float16), card });
  bundle.model.dispose();
  console.log(`wrote ${v.out} (${parameters.toLocaleString('en')} parameters, ${v.float16 ? 'float16' : 'float32'})`);
  return 0;
}

function readCard(path: string): string {
  if (!existsSync(path)) throw new CliError(`--card ${path}: no such file`);
  return readFileSync(path, 'utf8');
}
