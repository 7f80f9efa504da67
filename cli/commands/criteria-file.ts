import { readFileSync } from 'node:fs';
import { checkCriteria } from '../../functions/criteria/check-criteria.ts';
import type { Criteria } from '../../schemas/criteria.ts';
import { CliError } from '../errors.ts';

/** Reads and checks a criteria file, or a CliError with one line per problem. */
export function readCriteriaFile(file: string): { criteria: Criteria; sha256: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(
      `criteria ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not valid JSON'}`,
    );
  }
  const check = checkCriteria(raw);
  // One line per problem, each read as its own `cairn: …` line.
  if (!check.ok) throw new CliError(check.problems.map((p) => `criteria ${file}: ${p}`).join('\ncairn: '));
  return { criteria: check.criteria, sha256: check.sha256 };
}
