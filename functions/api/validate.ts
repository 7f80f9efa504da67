import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import { ApiError } from '../errors.ts';

/** zod validation whose failures come out in the project's error shape (see invalidRequest). */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw invalidRequest(result.error);
  });
}

const SAFE_SEGMENT = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * Names the first failing field and zod's rule, never what was sent: key names a client invented are
 * replaced (they are part of the body, and a body may carry PHI), and unknown keys are not listed.
 */
export function invalidRequest(error: z.core.$ZodError, code = 'invalid-request'): ApiError {
  const issue = error.issues[0];
  const path = (issue?.path ?? [])
    .map((s) => (typeof s === 'number' ? `[${s}]` : typeof s === 'string' && SAFE_SEGMENT.test(s) ? s : '?'))
    .join('.');
  const rule =
    issue === undefined
      ? 'does not match the schema'
      : issue.code === 'unrecognized_keys'
        ? 'has a field the schema does not allow'
        : issue.message;
  return new ApiError(400, code, `Invalid ${path || 'body'}: ${rule}.`);
}
