// Entry point of the `orma` command: finds the sub-command and runs it.
import { commands } from './commands/index.js';
import { CliError } from './args.js';

function usage(): string {
  const lines = ['usage: orma <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(16)}${c.summary}`);
  lines.push('', 'Run `orma <command> --help` for the options of one command.');
  return lines.join('\n');
}

/** Runs the CLI and returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`orma: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = await command.load();
    return (await mod.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`orma ${name}: ${err.message}`);
      return err.exitCode;
    }
    console.error(`orma ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
