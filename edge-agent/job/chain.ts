import { eq } from 'drizzle-orm';
import { CloudUnreachable } from '../../client/cloud-api.ts';
import type { Job } from '../../schemas/job.ts';
import type { JobFailureCounts, JobFailureReason } from '../../schemas/job-status.ts';
import { JobFailure } from '../pipeline/job-failure.ts';
import { decideRelease } from '../review/policy.ts';
import { jobs } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';
import type { JobContext, JobOutcome, ScoredModel } from './context.ts';
import { checkBudget, readJobInputs } from './input-steps.ts';
import { fetchModel, verifyModel } from './model-steps.ts';
import { buildReport, enqueue, gate, joinStudyLabels } from './report-steps.ts';
import { loadSession, score, scoringOptions } from './score-steps.ts';
import { JobTrace } from './steps.ts';

/**
 * Evaluates one job as a chain of named steps; whatever goes wrong with this job fails this job only (with
 * its reason code, see JobTrace.failureOf), and the agent goes on with the others. The cloud out of reach
 * (`CloudUnreachable`) is not the job's fault: it stays pending and runs on a later pass (undefined).
 */
export async function evaluateJob(
  ctx: JobContext,
  job: Job,
  peers: ScoredModel[] = [],
): Promise<JobOutcome | undefined> {
  const trace = new JobTrace();
  const { logs } = ctx;
  const started = performance.now();
  try {
    const outcome = await runSteps(ctx, job, peers, trace);
    logs.event({ event: 'job-finished', jobId: job.jobId, ...summary(outcome), seconds: outcome.seconds });
    return outcome;
  } catch (err) {
    if (err instanceof CloudUnreachable) {
      logs.event({ event: 'offline', jobId: job.jobId, step: trace.step });
      ctx.events.offline?.(err.message);
      return undefined;
    }
    const failure = trace.failureOf(err);
    const detail = err instanceof JobFailure ? err.detail : err instanceof Error ? err.message : String(err);
    // The local line for the site's IT: the step and the runtime's own words (may name local files).
    logs.diagnostic(
      `job ${job.jobId}: ${failure ?? 'run stopped'} in step ${trace.step}${detail ? `: ${detail}` : ''}`,
    );
    if (!failure) throw err;
    const outcome = await failJob(ctx.db, job.jobId, failure, trace.counts, detail);
    const seconds = (performance.now() - started) / 1000;
    logs.event({ event: 'job-finished', jobId: job.jobId, ...summary(outcome), step: trace.step, seconds });
    return outcome;
  }
}

/** What the operational log may say about an outcome: codes and counts, never the detail. */
const summary = (o: JobOutcome) => ({
  status: o.status,
  ...(o.failure ? { failure: o.failure } : {}),
  ...(o.cases !== undefined ? { cases: o.cases } : {}),
  ...(o.excluded ? { excluded: o.excluded } : {}),
});

async function runSteps(ctx: JobContext, job: Job, peers: ScoredModel[], t: JobTrace): Promise<JobOutcome> {
  const { db, api, settings, stateDir } = ctx;
  const started = performance.now();
  const model = await t.run('fetch-model', () => fetchModel(api, stateDir, job));
  await t.run('verify-model', () => verifyModel(job, settings));
  await t.run('check-budget', () => checkBudget(db, settings, job));
  const inputs = await t.run('read-inputs', () => readJobInputs(stateDir, settings, job));
  const opts = scoringOptions(ctx, job, model, (counts) => {
    t.counts = counts;
  });
  const session = await t.run('load-session', () => loadSession(opts));
  const scored = await t.run('score', () => score(session, opts, settings));
  t.counts = { filesScanned: scored.images.seen, excluded: scored.excluded };
  for (const line of scored.diagnostics) ctx.logs.diagnostic(`job ${job.jobId}: score: ${line}`);
  const joined = await t.run('join-labels', () => joinStudyLabels(scored, inputs));
  const full = await t.run('build-report', () =>
    buildReport({ db, me: ctx.me, job, scored, joined, inputs, settings, peers }),
  );
  const report = await t.run('gate', () => gate(full, job, settings));
  const release = await t.run('release', () => decideRelease(report, inputs.policy));
  await t.run('enqueue', () => enqueue(db, report, release, settings));
  return {
    jobId: job.jobId,
    status: 'reported',
    provider: scored.provider,
    cases: report.cases,
    ...(report.withheld ? { withheld: report.withheld.classes } : {}),
    excluded: report.excluded as Record<string, number>,
    seconds: (performance.now() - started) / 1000,
    release: release.release,
  };
}

/** Records the failure locally; the cloud hears the code and counts (job-status.ts). */
export async function failJob(
  db: AgentDb,
  jobId: string,
  failure: JobFailureReason,
  counts?: JobFailureCounts,
  detail?: string,
): Promise<JobOutcome> {
  await db
    .update(jobs)
    .set({
      status: 'failed',
      failure,
      failureCounts: counts ? JSON.stringify(counts) : null,
      updatedAt: new Date().toISOString(),
    })
    .where(eq(jobs.jobId, jobId));
  return { jobId, status: 'failed', failure, ...(detail && detail !== failure ? { detail } : {}) };
}
