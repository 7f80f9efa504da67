import { and, eq, isNotNull } from 'drizzle-orm';
import { type CloudApi, CloudRefusal, CloudUnreachable } from '../client/cloud-api.ts';
import { JobFailureCounts, type JobFailureReason, JobStatusUpdate } from '../schemas/job-status.ts';
import { jobs } from './state/schema.ts';
import type { AgentDb } from './state/store.ts';

/**
 * What the cloud hears about a job besides its report: that it runs, that its report waits for the site's
 * review, or that it failed with a code. The last status of each job waits in its jobs row until the cloud has
 * it, so a failure noticed while offline goes out on a later pass. Only the closed JobStatusUpdate leaves —
 * a code and counts, never a message.
 */

export interface StatusFlush {
  sent: number;
  /** Statuses the cloud refused (a job since rerun or reported); they are not sent again. */
  refused: number;
  /** Still waiting for the network. */
  waiting: number;
}

/** Records the status to tell the cloud; the next `sendJobStatuses` delivers it. */
export async function noteJobStatus(
  db: AgentDb,
  jobId: string,
  status: 'running' | 'held' | 'failed' | null,
): Promise<void> {
  await db.update(jobs).set({ statusToSend: status }).where(eq(jobs.jobId, jobId));
}

/** Sends every status the cloud has not heard yet. Stops at the first sign of an outage; the rest waits. */
export async function sendJobStatuses(db: AgentDb, api: CloudApi): Promise<StatusFlush> {
  const rows = await db.select().from(jobs).where(isNotNull(jobs.statusToSend)).all();
  const result: StatusFlush = { sent: 0, refused: 0, waiting: 0 };
  for (const [i, row] of rows.entries()) {
    const body = statusBody(row);
    try {
      await api.json('POST', `/v1/jobs/${encodeURIComponent(row.jobId)}/status`, { json: body });
      result.sent++;
    } catch (err) {
      if (err instanceof CloudUnreachable) {
        result.waiting = rows.length - i;
        return result;
      }
      if (!(err instanceof CloudRefusal)) throw err;
      // A refusal is final for this status (the job was rerun, reported or withdrawn meanwhile).
      result.refused++;
    }
    await db
      .update(jobs)
      .set({ statusToSend: null })
      .where(and(eq(jobs.jobId, row.jobId), eq(jobs.statusToSend, body.status)));
  }
  return result;
}

function statusBody(row: typeof jobs.$inferSelect): JobStatusUpdate {
  const status = row.statusToSend ?? 'running';
  if (status !== 'failed') return JobStatusUpdate.parse({ jobId: row.jobId, attempt: row.attempt, status });
  const counts = row.failureCounts ? JobFailureCounts.safeParse(JSON.parse(row.failureCounts)) : undefined;
  // Parsed against the closed schema before it leaves: anything else in the row stays here.
  return JobStatusUpdate.parse({
    jobId: row.jobId,
    attempt: row.attempt,
    status,
    failure: row.failure as JobFailureReason,
    ...(counts?.success ? { counts: counts.data } : {}),
  });
}
