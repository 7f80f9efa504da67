import type { Command } from 'commander';

export type OutputFormat = 'text' | 'json';

export function addOutputOption(cmd: Command): Command {
  return cmd.option('--output <format>', 'text or json', 'text');
}

/** Prints a result: JSON for machines (`--output json`), the given text rendering for people. */
export function print(format: string, value: unknown, text: () => string): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
