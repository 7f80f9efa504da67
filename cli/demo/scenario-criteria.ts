import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkCriteria } from '../../functions/criteria/check-criteria.ts';
import type { Criteria } from '../../schemas/criteria.ts';

/**
 * A scenario's `criteria`: a file (relative to the scenario's folder) or the object inline, checked as
 * cairn.criteria/v1. Problems are added to the scenario's own list, so they are reported with the others.
 */
export function scenarioCriteria(
  value: string | Record<string, unknown> | undefined,
  base: string,
  problems: string[],
): Criteria | undefined {
  if (value === undefined) return undefined;
  let raw: unknown = value;
  if (typeof value === 'string') {
    const path = resolve(base, value);
    if (!existsSync(path)) {
      problems.push(`criteria: ${value} is not a file`);
      return undefined;
    }
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      problems.push(`criteria: ${value} is not valid JSON`);
      return undefined;
    }
  }
  const check = checkCriteria(raw);
  if (check.ok) return check.criteria;
  problems.push(...check.problems.map((p) => `criteria: ${p}`));
  return undefined;
}
