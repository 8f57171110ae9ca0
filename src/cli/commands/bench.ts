// `orma bench <engine|chem|text> [options]`: runs a benchmark from bench/ and passes its options through.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from '../args.js';

const HELP = `usage: orma bench <engine|encoder|chem|text|gnn|orma|search|store|serve|cold-start|token-cache> [--json] [benchmark options]

Each benchmark prints one JSON object with the machine, the configuration and the numbers.`;

export async function run(argv: string[]): Promise<number> {
  const [which, ...rest] = argv;
  if (!which || which === '--help' || which === '-h') {
    console.log(HELP);
    return which ? 0 : 2;
  }
  const script = fileURLToPath(new URL(`../../../bench/${which}.js`, import.meta.url));
  if (!/^[a-z-]+$/.test(which) || !existsSync(script)) throw new CliError(`unknown benchmark '${which}'\n\n${HELP}`);
  const r = spawnSync(process.execPath, [script, ...rest], { stdio: 'inherit' });
  return r.status ?? 1;
}
