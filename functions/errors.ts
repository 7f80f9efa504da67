import type { ClientErrorStatusCode } from 'hono/utils/http-status';

/**
 * The one error type of the cloud: a 4xx with a stable kebab-case code that clients branch on and a sentence
 * for people. Messages are written here, never built from request bodies (they may carry PHI).
 */
export class ApiError extends Error {
  constructor(
    readonly status: ClientErrorStatusCode | 503,
    readonly code: string,
    message: string,
    /** The request field at fault, where one is (e.g. a model manifest's `input.name`). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) =>
  new ApiError(
    404,
    `${what}-not-found`,
    `No ${what.replace(/-/g, ' ')} with that id is visible to this token.`,
  );

export const forbidden = (message = 'This token is not allowed to do that.') =>
  new ApiError(403, 'forbidden', message);
