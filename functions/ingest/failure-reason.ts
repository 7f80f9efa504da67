const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The code of a failure that ingest will retry, for the operational log: the first error `code` along the
 * cause chain (`SQLITE_BUSY`, `SQLITE_FULL`, `ECONNREFUSED`), else the error's class name. Never the message:
 * it may quote the report.
 */
export function failureReason(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CODE.test(code)) return code;
  }
  const name = err instanceof Error ? err.constructor.name : typeof err;
  return CODE.test(name) ? name : 'unknown';
}
