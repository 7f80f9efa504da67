import { z } from 'zod';
import { Count, Id } from './common.ts';
import { ExclusionReason } from './exclusion-reasons.ts';

/**
 * Why a job failed at a site. A closed list: a code is all that leaves the site about a failure (runtime
 * messages can name files or header values). The first six are edge-agent/pipeline/job-failure.ts's codes.
 */
export const JOB_FAILURE_REASONS = [
  'model-load-failed',
  'inference-failed',
  'input-too-large-for-memory-budget',
  'no-cases',
  'labels-unreadable',
  'dicom-folder-unreadable',
  'model-sha256-mismatch',
  'model-unsigned',
  'model-signature-invalid',
  'privacy-budget-exhausted',
  // Not a fault: the site admin rejected the held report (`cairn agent review --reject`), so none will come.
  'release-declined-at-site',
] as const;
export const JobFailureReason = z.enum(JOB_FAILURE_REASONS);
export type JobFailureReason = z.infer<typeof JobFailureReason>;

/** What an agent may say about a job besides its report: it runs, its report waits for review, or it failed. */
export const REPORTED_JOB_STATUSES = ['running', 'held', 'failed'] as const;

/** Numbers only, from the job's last progress before it failed. */
export const JobFailureCounts = z
  .object({
    filesScanned: Count.optional(),
    excluded: z.partialRecord(ExclusionReason, Count).optional(),
  })
  .strict();
export type JobFailureCounts = z.infer<typeof JobFailureCounts>;

/**
 * `POST /v1/jobs/:id/status` (an agent, for its own site's job). `attempt` is the job's attempt the agent
 * ran (the cloud ignores a status for an attempt a coordinator has since rerun). A code and counts, no text.
 */
export const JobStatusUpdate = z
  .object({
    jobId: Id,
    attempt: z.number().int().min(1).max(1_000_000),
    status: z.enum(REPORTED_JOB_STATUSES),
    failure: JobFailureReason.optional(),
    counts: JobFailureCounts.optional(),
  })
  .strict()
  .refine((s) => (s.status === 'failed') === (s.failure !== undefined), {
    message: 'a failure code is given exactly when the status is failed',
    path: ['failure'],
  });
export type JobStatusUpdate = z.infer<typeof JobStatusUpdate>;
