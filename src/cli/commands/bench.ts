// `orma bench <engine|chem|text> [options]`: runs a benchmark from bench/ and passes its options through.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(headerComment(script));
    return 0;
  }
  const r = spawnSync(process.execPath, [script, ...rest], { stdio: 'inherit' });
  return r.status ?? 1;
}

/** A benchmark's help is its file's header comment (what it measures, its options): one source, never stale. */
function headerComment(script: string): string {
  const lines = readFileSync(script, 'utf8').split('\n');
  const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, ''));
  return header.length ? header.join('\n') : `bench/${script}: no description`;
}
