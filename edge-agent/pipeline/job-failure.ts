import type { JobFailureReason } from '../../schemas/job-status.ts';

/** The closed list of schemas/job-status.ts: the only thing about a failure that leaves the site. */
export type JobFailureCode = JobFailureReason;

/**
 * Why one job cannot be evaluated at this site. The agent fails that job with `code` (the only part that
 * leaves the site) and goes on with its other jobs; `detail` is for the site's own operator.
 */
export class JobFailure extends Error {
  constructor(
    readonly code: JobFailureCode,
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'JobFailure';
  }
}
