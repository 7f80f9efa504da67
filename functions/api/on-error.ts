import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../errors.ts';
import type { AppEnv } from './env.ts';

const RETRY_AFTER_SECONDS = 5;

function errorResponse(
  c: Context<AppEnv>,
  status: ApiError['status'],
  code: string,
  message: string,
  field?: string,
) {
  c.set('errorCode', code);
  return c.json({ error: { code, message, ...(field === undefined ? {} : { field }) } }, status);
}

/**
 * Turns every failure into `{ error: { code, message, field? } }`. Hono's own exceptions (malformed JSON, body limit)
 * get a code of ours; anything unexpected becomes a bare 500 — no stack, no echo of what was sent.
 */
export const onApiError: ErrorHandler<AppEnv> = function onApiError(err, c) {
  if (err instanceof ApiError) {
    // Every 503 of ours is a "not now" (a full queue, all transfer slots taken): say when to try again.
    if (err.status === 503) c.header('retry-after', String(RETRY_AFTER_SECONDS));
    return errorResponse(c, err.status, err.code, err.message, err.field);
  }
  if (err instanceof HTTPException) {
    if (err.status === 413)
      return errorResponse(c, 413, 'body-too-large', 'The request body is larger than this route accepts.');
    if (err.status === 400)
      return errorResponse(c, 400, 'invalid-json', 'The request body is not valid JSON.');
    if (err.status >= 400 && err.status < 500)
      return errorResponse(
        c,
        err.status as ApiError['status'],
        'bad-request',
        'The request was not understood.',
      );
  }
  // The log gets the error's class and driver code (e.g. LibsqlError SQLITE_BUSY) to diagnose from — never its
  // message, which may quote a request value.
  const cause = (err as { cause?: unknown }).cause as { code?: unknown } | undefined;
  const cls = err?.constructor?.name ?? '';
  const name = /^[A-Za-z]{1,40}$/.test(cls) ? cls : 'Error';
  const code = (err as { code?: unknown }).code ?? cause?.code;
  c.set(
    'errorCode',
    `internal-error:${name}${typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? `:${code}` : ''}`,
  );
  return c.json(
    { error: { code: 'internal-error', message: 'The server failed; the error was logged.' } },
    500,
  );
};

export const onNotFound: NotFoundHandler<AppEnv> = function onNotFound(c) {
  return errorResponse(c, 404, 'route-not-found', 'There is no such route.');
};
