const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The code of a failure that ingest will retry, for the operational log: the first error code along the
 * cause chain, SQLite's extended one where there is one (`SQLITE_IOERR_WRITE`, `SQLITE_BUSY`, `ECONNREFUSED`),
 * else the error's class name. Never the message: it may quote the report.
 */
export function failureReason(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { extendedCode, code } = e as { extendedCode?: unknown; code?: unknown };
    for (const c of [extendedCode, code]) if (typeof c === 'string' && CODE.test(c)) return c;
  }
  const name = err instanceof Error ? err.constructor.name : typeof err;
  return CODE.test(name) ? name : 'unknown';
}
