import { readFileSync } from 'node:fs';
import { CliError } from './errors.ts';

/** A file the user named, or one line saying which (`manifest: cannot read m.json`). */
export function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new CliError(`${what}: cannot read ${path}`);
  }
}
