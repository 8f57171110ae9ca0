// Shared helpers for sub-commands: argument parsing with clear errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** An error the CLI prints without a stack trace; exit code 2 means bad usage. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'CliError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `--help` built in; unknown flags become a CliError that lists the known ones. */
export interface ParsedCommandArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(argv: string[], options: Options, help: string, allowPositionals = false): ParsedCommandArgs | null {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  let parsed: ParsedCommandArgs;
  try {
    parsed = parseArgs({ args: argv, options: all, allowPositionals, strict: true }) as ParsedCommandArgs;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${help}`);
  }
  if (parsed.values.help) {
    console.log(help);
    return null;
  }
  return parsed;
}

/** Parses a numeric flag, naming the flag when it is not a number. */
export function numberFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number, got '${value}'`);
  return n;
}

/**
 * Graceful stops for long jobs: the first SIGINT/SIGTERM asks the job to save and stop (`requested()`
 * turns true), a second one exits 130 at once. `release()` removes the handlers.
 */
export function stopOnSignals(label: string, what = 'saving a checkpoint'): { requested: () => boolean; release: () => void } {
  let count = 0;
  const handler = () => {
    count++;
    if (count > 1) process.exit(130);
    console.error(`\n${label}: stopping after this step and ${what} (Ctrl-C again to abort without saving)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { requested: () => count > 0, release: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}
