import { type Command, Option } from 'commander';

const OUTPUT_FORMATS = ['text', 'json'] as const;

/** `--output text|json`; anything else is refused by commander with one line naming the choices. */
export function addOutputOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--output <format>', 'text or json').choices(OUTPUT_FORMATS).default('text'),
  );
}

/** Prints a result: JSON for machines (`--output json`), the given text rendering for people. */
export function print(format: string, value: unknown, text: () => string): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
