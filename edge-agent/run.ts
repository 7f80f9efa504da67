import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { CloudApi, CloudUnreachable } from '../client/cloud-api.ts';
import { UserError } from '../client/errors.ts';
import { Job } from '../schemas/job.ts';
import { openAgentLogs } from './agent-logs.ts';
import { type AgentSettings, readSettings } from './config.ts';
import type { Signer } from './identity.ts';
import { evaluateJob } from './job/chain.ts';
import { claimJob, releaseJob, releaseStaleClaims } from './job/claim.ts';
import type { AgentEvents, JobContext, JobOutcome, ScoredModel } from './job/context.ts';
import { noteJobStatus, sendJobStatuses } from './job-status.ts';
import { flushOutbox } from './outbox.ts';
import { syncRolloutNotices } from './rollout-notices.ts';
import { acquireRunLock } from './run-lock.ts';
import { logSentBytes } from './sent-log.ts';
import { recoverPendingRotation } from './site-key.ts';
import { identity, jobs } from './state/schema.ts';
import { type AgentDb, openAgentState } from './state/store.ts';

export type { AgentEvents, JobOutcome, JobProgress } from './job/context.ts';

/**
 * One pass of the agent: send what is waiting, pull jobs, evaluate each new one on local data, gate, sign and
 * queue its report, send again. Outbound HTTP only. With `once: false` it repeats every `pollSeconds` until
 * the signal aborts.
 */
export async function runAgent(opts: {
  stateDir: string;
  overrides?: Partial<AgentSettings>;
  once: boolean;
  /** Run this site's failed jobs again (after the site fixed its data), with the attempt the cloud gave them. */
  retryFailed?: boolean;
  events?: AgentEvents;
  signal?: AbortSignal;
}): Promise<JobOutcome[]> {
  // First: a second run on this state directory refuses before it reads or changes anything.
  const unlock = acquireRunLock(opts.stateDir);
  const logs = openAgentLogs(opts.stateDir);
  logs.event({ event: 'run-started' });
  const outcomes: JobOutcome[] = [];
  let state: Awaited<ReturnType<typeof openAgentState>> | undefined;
  try {
    const settings = readSettings(opts.stateDir, opts.overrides);
    state = await openAgentState(opts.stateDir);
    // This run holds the lock: a claim still on a job was left by a run that died in it.
    await releaseStaleClaims(state.db);
    const runId = randomUUID();
    if (opts.retryFailed)
      await state.db
        .update(jobs)
        .set({ status: 'pending', failure: null, failureCounts: null, updatedAt: new Date().toISOString() })
        .where(eq(jobs.status, 'failed'));
    for (;;) {
      // Read afresh every pass: `cairn agent rotate-key` in another process replaces the key this loop signs
      // with, and the cloud refuses the retired one.
      let me = await state.db.select().from(identity).get();
      if (me) {
        // A rotation whose answer was lost left the new key pending: settle it before signing anything.
        const recovered = await recoverPendingRotation(
          state.db,
          new CloudApi(me.cloudUrl, me.apiToken, logSentBytes(state.db)),
          opts.stateDir,
        ).catch((err) => {
          if (err instanceof CloudUnreachable) return undefined;
          throw err;
        });
        if (recovered) me = await state.db.select().from(identity).get();
      }
      if (!me)
        throw new UserError(
          'this agent is not enrolled yet: run `cairn agent enroll --cloud URL --token T` first',
        );
      const api = new CloudApi(me.cloudUrl, me.apiToken, logSentBytes(state.db));
      const pass = {
        db: state.db,
        logs,
        api,
        me,
        settings,
        stateDir: opts.stateDir,
        events: opts.events ?? {},
      };
      outcomes.push(...(await runPass(pass, runId)));
      if (opts.once || opts.signal?.aborted) break;
      await sleep(settings.pollSeconds * 1000, opts.signal);
      if (opts.signal?.aborted) break;
    }
  } finally {
    logs.event({ event: 'run-stopped' });
    state?.close();
    unlock();
  }
  return outcomes;
}

async function runPass(ctx: JobContext, runId: string): Promise<JobOutcome[]> {
  const { db, api, me, events, settings, stateDir } = ctx;
  const outcomes: JobOutcome[] = [];
  const signer: Signer = { siteId: me.siteId, keyId: me.keyId, privateKeyPkcs8: me.privateKey };
  try {
    await flushAll(db, api, signer, events);
    await pullJobs(db, api);
    await syncRolloutNotices(api, stateDir, me.siteId, settings.rolloutWebhook);
  } catch (err) {
    // Start and keep working while the network is down: known jobs still run, reports wait in the outbox.
    if (!(err instanceof CloudUnreachable)) throw err;
    events.offline?.(err.message);
  }
  const todo = await db.select().from(jobs).where(eq(jobs.status, 'pending')).all();
  // Study scores of the models already evaluated in this pass, per campaign: a later model of the same
  // campaign is then compared with them on the same cases (paired DeLong) in its report.
  const scoredByCampaign = new Map<string, ScoredModel[]>();
  for (const row of todo) {
    // Taken atomically: a job another run got hold of first is not evaluated twice.
    if (!(await claimJob(db, row.jobId, runId))) continue;
    try {
      const outcome = await runClaimedJob(ctx, Job.parse(JSON.parse(row.job)), scoredByCampaign);
      if (outcome) outcomes.push(outcome);
    } finally {
      await releaseJob(db, row.jobId, runId);
    }
  }
  try {
    if (todo.length) await flushAll(db, api, signer, events);
  } catch (err) {
    if (!(err instanceof CloudUnreachable)) throw err;
    events.offline?.(err.message);
  }
  return outcomes;
}

async function runClaimedJob(
  ctx: JobContext,
  job: Job,
  scoredByCampaign: Map<string, ScoredModel[]>,
): Promise<JobOutcome | undefined> {
  const { db, api, events } = ctx;
  events.jobStarted?.(job);
  ctx.logs.event({ event: 'job-started', jobId: job.jobId });
  await noteJobStatus(db, job.jobId, 'running');
  const told = await sendJobStatuses(db, api);
  events.statusesSent?.(told);
  const peers = scoredByCampaign.get(job.campaignId) ?? [];
  scoredByCampaign.set(job.campaignId, peers);
  const outcome = await evaluateJob(ctx, job, peers);
  if (!outcome) return undefined; // the cloud went away before the model was here: the job runs on a later pass
  await noteJobStatus(db, job.jobId, outcome.status === 'failed' ? 'failed' : cloudStatusOf(outcome));
  events.jobFinished?.(outcome);
  return outcome;
}

/** Statuses first, then reports: the cloud hears a job ran before it hears its report. */
async function flushAll(db: AgentDb, api: CloudApi, signer: Signer, events: AgentEvents): Promise<void> {
  // Not inside `events.…?.(…)`: an optional call skips evaluating its arguments when there is no listener.
  const told = await sendJobStatuses(db, api);
  events.statusesSent?.(told);
  const flushed = await flushOutbox(db, api, signer);
  events.flushed?.(flushed);
}

/** A reported job: the cloud learns it is held for review; a released report speaks for itself. */
const cloudStatusOf = (o: JobOutcome) => (o.release === 'held' ? 'held' : null);

/**
 * New jobs become pending. A job this agent failed comes back only when a coordinator reran it (a higher
 * attempt): then it is pending again; any other job it already knows keeps its state.
 */
async function pullJobs(db: AgentDb, api: CloudApi): Promise<void> {
  const res = await api.json<{ jobs: unknown[] }>('GET', '/v1/jobs');
  for (const raw of res.jobs) {
    const parsed = Job.safeParse(raw);
    if (!parsed.success) continue; // a job this agent version cannot read stays with the cloud
    const job = parsed.data;
    const now = new Date().toISOString();
    const attempt = job.attempt ?? 1;
    await db
      .insert(jobs)
      .values({
        jobId: job.jobId,
        campaignId: job.campaignId,
        job: JSON.stringify(job),
        status: 'pending',
        attempt,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: jobs.jobId,
        set: {
          job: JSON.stringify(job),
          status: 'pending',
          attempt,
          failure: null,
          failureCounts: null,
          statusToSend: null,
          updatedAt: now,
        },
        setWhere: and(eq(jobs.status, 'failed'), sql`${jobs.attempt} < ${attempt}`),
      });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
