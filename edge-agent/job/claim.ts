import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { jobs } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';

/**
 * Takes a pending job for run `runId`, atomically (one conditional UPDATE): of two agents that try to claim
 * the same job, exactly one gets it. False when the job is not pending or another run holds it.
 */
export async function claimJob(db: AgentDb, jobId: string, runId: string): Promise<boolean> {
  const claimed = await db
    .update(jobs)
    .set({ claimedBy: runId })
    .where(and(eq(jobs.jobId, jobId), eq(jobs.status, 'pending'), isNull(jobs.claimedBy)))
    .returning({ jobId: jobs.jobId });
  return claimed.length === 1;
}

/** The job is done with (reported, failed, or left pending for a later pass): another run may claim it. */
export async function releaseJob(db: AgentDb, jobId: string, runId: string): Promise<void> {
  await db
    .update(jobs)
    .set({ claimedBy: null })
    .where(and(eq(jobs.jobId, jobId), eq(jobs.claimedBy, runId)));
}

/**
 * Claims left by a run that died mid-job. Called only while holding the state directory's run lock
 * (run-lock.ts), when no other run can hold a claim.
 */
export async function releaseStaleClaims(db: AgentDb): Promise<void> {
  await db.update(jobs).set({ claimedBy: null }).where(isNotNull(jobs.claimedBy));
}
