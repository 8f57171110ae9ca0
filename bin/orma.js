#!/usr/bin/env node
// The `orma` command. The CLI itself lives in src/cli (compiled to dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('orma: not built yet. Run `npm run setup` (or `npm run build`) in ' + fileURLToPath(new URL('..', import.meta.url)));
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
