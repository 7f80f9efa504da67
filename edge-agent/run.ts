import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { CloudApi, CloudRefusal, CloudUnreachable } from '../client/cloud-api.ts';
import { UserError } from '../client/errors.ts';
import { Job } from '../schemas/job.ts';
import type { JobFailureCounts, JobFailureReason } from '../schemas/job-status.ts';
import type { SiteReport } from '../schemas/site-report.ts';
import { type AgentSettings, readSettings } from './config.ts';
import type { Signer } from './identity.ts';
import { noteJobStatus, type StatusFlush, sendJobStatuses } from './job-status.ts';
import { joinLabels, readLabelsFile } from './labels.ts';
import { verifyModelSignature } from './model-signature.ts';
import { enqueueReport, type FlushResult, flushOutbox } from './outbox.ts';
import { JobFailure } from './pipeline/job-failure.ts';
import { type PipelineProgress, predictionCacheKey, scoreFolder } from './pipeline/score-folder.ts';
import { privacyGate } from './privacy/gate.ts';
import { epsilonSpent, exceedsBudget, PrivacyBudgetExhausted } from './privacy/ledger.ts';
import { allowListedColumns, decideSubgroupColumns } from './privacy/subgroup-columns.ts';
import { buildSiteReport } from './report/site-report.ts';
import { decideRelease, readReleasePolicy } from './review/policy.ts';
import { recordRefusals } from './review/refusals.ts';
import { syncRolloutNotices } from './rollout-notices.ts';
import { logSentBytes } from './sent-log.ts';
import { recoverPendingRotation } from './site-key.ts';
import { sourceFromSettings } from './sources/from-settings.ts';
import { predictionCache } from './state/predictions.ts';
import { identity, jobs } from './state/schema.ts';
import { type AgentDb, openAgentState } from './state/store.ts';
import { AGENT_VERSION } from './version.ts';

export interface JobProgress extends PipelineProgress {
  jobId: string;
}

export interface JobOutcome {
  jobId: string;
  status: 'reported' | 'failed';
  /** Whether the report waits for a site admin (`held`) or the site's policy released it. */
  release?: 'held' | 'auto-approved';
  failure?: JobFailureReason;
  /** For the site's operator only (the runtime's message); never sent. */
  detail?: string;
  provider?: string;
  /** Null when the gate withheld a class with fewer than k cases (`withheld` names it). */
  cases?: number | null;
  withheld?: ('positives' | 'negatives')[];
  excluded?: Record<string, number>;
  seconds?: number;
}

/** What the agent tells whoever runs it (the CLI prints these; PHI-free by construction). */
export interface AgentEvents {
  jobStarted?(job: Job): void;
  progress?(p: JobProgress): void;
  jobFinished?(outcome: JobOutcome): void;
  flushed?(result: FlushResult): void;
  statusesSent?(result: StatusFlush): void;
  offline?(message: string): void;
}

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
  const settings = readSettings(opts.stateDir, opts.overrides);
  const state = await openAgentState(opts.stateDir);
  const outcomes: JobOutcome[] = [];
  try {
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
      outcomes.push(...(await runPass(state.db, api, me, settings, opts.stateDir, opts.events)));
      if (opts.once || opts.signal?.aborted) break;
      await sleep(settings.pollSeconds * 1000, opts.signal);
      if (opts.signal?.aborted) break;
    }
  } finally {
    state.close();
  }
  return outcomes;
}

type Identity = typeof identity.$inferSelect;

interface ScoredModel {
  model: { vendor: string; name: string; version: string; sha256: string };
  studyScores: ReadonlyMap<string, number>;
}

async function runPass(
  db: AgentDb,
  api: CloudApi,
  me: Identity,
  settings: AgentSettings,
  stateDir: string,
  events: AgentEvents = {},
): Promise<JobOutcome[]> {
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
    const job = Job.parse(JSON.parse(row.job));
    events.jobStarted?.(job);
    await noteJobStatus(db, job.jobId, 'running');
    const told = await sendJobStatuses(db, api);
    events.statusesSent?.(told);
    const peers = scoredByCampaign.get(job.campaignId) ?? [];
    scoredByCampaign.set(job.campaignId, peers);
    const outcome = await evaluateJob({ db, api, me, settings, stateDir, events }, job, peers);
    if (!outcome) continue; // the cloud went away before the model was here: the job runs on a later pass
    await noteJobStatus(db, job.jobId, outcome.status === 'failed' ? 'failed' : cloudStatusOf(outcome));
    outcomes.push(outcome);
    events.jobFinished?.(outcome);
  }
  try {
    if (todo.length) await flushAll(db, api, signer, events);
  } catch (err) {
    if (!(err instanceof CloudUnreachable)) throw err;
    events.offline?.(err.message);
  }
  return outcomes;
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

/** What every job of one pass works with. */
interface PassContext {
  db: AgentDb;
  api: CloudApi;
  me: Identity;
  settings: AgentSettings;
  stateDir: string;
  events: AgentEvents;
}

/** Where in a job an unexpected error came from: it decides the failure code (see `failureOf`). */
type Stage = 'model' | 'inference' | 'report';

interface JobTrace {
  stage: Stage;
  /** The job's last progress counts, sent with a failure. */
  counts?: JobFailureCounts;
}

/**
 * Evaluates one job; whatever goes wrong with this job fails this job only, and the agent goes on with the
 * others. What fails the job and what does not (decided here, see `failureOf`):
 * - a `JobFailure` (the model cannot load or run, no usable input, unreadable labels, …) fails it with its code;
 * - any other error from downloading the model or from ONNX Runtime fails it as `model-load-failed` (download,
 *   session creation) or `inference-failed` (a run);
 * - the cloud out of reach (`CloudUnreachable`) is not the job's fault: it stays pending and runs on a later pass
 *   (undefined is returned);
 * - a programming error (TypeError, RangeError, …) or a site configuration error (`UserError`: settings, release
 *   policy) would fail every job alike: it is not swallowed but ends the run with its one line (exit 1, or 70
 *   for a bug), and the job stays pending for the fixed agent.
 */
async function evaluateJob(
  ctx: PassContext,
  job: Job,
  peers: ScoredModel[] = [],
): Promise<JobOutcome | undefined> {
  const trace: JobTrace = { stage: 'model' };
  try {
    return await evaluate(ctx, job, peers, trace);
  } catch (err) {
    if (err instanceof CloudUnreachable) {
      ctx.events.offline?.(err.message);
      return undefined;
    }
    const failure = failureOf(err, trace.stage);
    if (!failure) throw err;
    const detail = err instanceof JobFailure ? err.detail : (err as Error).message;
    return failJob(ctx.db, job.jobId, failure, trace.counts, detail);
  }
}

const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

function failureOf(err: unknown, stage: Stage): JobFailureReason | undefined {
  if (err instanceof JobFailure) return err.code;
  // The model's download was refused (gone, or not this site's): this job cannot get its model.
  if (err instanceof CloudRefusal) return stage === 'model' ? 'model-load-failed' : undefined;
  if (err instanceof UserError || !(err instanceof Error)) return undefined;
  if (PROGRAMMING_ERRORS.some((E) => err instanceof E)) return undefined;
  if (stage === 'report') return undefined;
  // pipeline/infer.ts's createInferenceSession says 'inference: …' when no provider could create the session.
  if (stage === 'model' || err.message.startsWith('inference: ')) return 'model-load-failed';
  return 'inference-failed';
}

async function evaluate(
  ctx: PassContext,
  job: Job,
  peers: ScoredModel[],
  trace: JobTrace,
): Promise<JobOutcome> {
  const { db, api, me, settings, stateDir, events } = ctx;
  const started = performance.now();
  const model = await fetchVerifiedModel(api, stateDir, job);
  if (!model) return failJob(db, job.jobId, 'model-sha256-mismatch');
  const signature = checkVendorSignature(job, settings);
  if (signature) return failJob(db, job.jobId, signature);
  // Refused before any inference: a release the ε budget cannot pay for must not be computed at all.
  if (
    settings.dp &&
    exceedsBudget(
      await epsilonSpent(db, job.campaignId),
      settings.dp.epsilonPerReport,
      settings.dp.budgetPerCampaign,
    )
  )
    return failJob(db, job.jobId, 'privacy-budget-exhausted');

  // Read the release policy and the labels before the (long) inference, so a bad file fails fast with its
  // one-line message.
  const policy = readReleasePolicy(stateDir);
  // The campaign only requests labels.csv columns: a column this site did not allow-list is never read.
  const requested = (job.subgroupAttributes ?? []).filter((a) => !STANDARD_SUBGROUPS.includes(a));
  let labels: ReturnType<typeof readLabelsFile>;
  try {
    labels = readLabelsFile(settings.labels, allowListedColumns(requested, settings.releaseColumns));
  } catch (err) {
    throw new JobFailure('labels-unreadable', (err as Error).message);
  }

  const manifest = job.model.manifest;
  trace.stage = 'inference';
  const scored = await scoreFolder({
    source: sourceFromSettings(settings, manifest.modality),
    manifest,
    model,
    device: settings.device,
    ...(settings.batchSize !== undefined ? { batchSize: settings.batchSize } : {}),
    ...(settings.threads !== undefined ? { threads: settings.threads } : {}),
    ...(settings.workers !== undefined ? { workers: settings.workers } : {}),
    memoryBudgetMiB: settings.memoryBudgetMiB,
    // Per-image scores survive a crash: a rerun of this job (or another job on the same model) reuses them.
    cache: predictionCache(db, predictionCacheKey(model, manifest)),
    onProgress: (p) => {
      trace.counts = { filesScanned: p.filesSeen, excluded: p.excludedByReason };
      events.progress?.({ jobId: job.jobId, ...p });
    },
  });
  trace.counts = { filesScanned: scored.images.seen, excluded: scored.excluded };
  // The pipeline excludes the images of a batch the runtime rejects; when it rejected every one, the model
  // does not run here at all.
  if (scored.images.used === 0 && (scored.excluded['inference-error'] ?? 0) > 0)
    throw new JobFailure('inference-failed', 'ONNX Runtime failed on every image');
  trace.stage = 'report';
  // Attributes read from the images first; the campaign's extra attributes come from labels.csv columns.
  const attributes = new Map<string, Record<string, string>>();
  for (const study of scored.studyScores.keys())
    attributes.set(study, {
      ...labels.attributes.get(study),
      ...definedOnly(scored.studyAttributes.get(study)),
    });
  const joined = joinLabels(scored.studyScores, labels, attributes);
  if (joined.outcomes.length === 0)
    throw new JobFailure('no-cases', 'no study has both a scored image and a label');
  const thisModel = {
    vendor: manifest.vendor,
    name: manifest.name,
    version: manifest.version,
    sha256: job.model.sha256,
  };
  // Paired with the campaign's previously evaluated model when it scored every one of these studies.
  const peer = peers.findLast((p) => p.model.sha256 !== thisModel.sha256);
  const scoresB = peer ? joined.outcomes.map((o) => peer.studyScores.get(o.study)) : [];
  const paired = peer !== undefined && scoresB.every((s) => s !== undefined);
  peers.push({ model: thisModel, studyScores: scored.studyScores });
  const excluded = { ...scored.excluded };
  for (const [reason, n] of Object.entries(joined.excluded))
    excluded[reason as keyof typeof excluded] = (excluded[reason as keyof typeof excluded] ?? 0) + (n ?? 0);

  // Every attribute the report would group by passes the identifier checks first; refusals are named locally.
  const columns = decideSubgroupColumns({
    // Without campaign attributes, only the standard ones some image carried (as before).
    dicom: job.subgroupAttributes?.length
      ? STANDARD_SUBGROUPS
      : STANDARD_SUBGROUPS.filter((a) => joined.outcomes.some((o) => o.attributes?.[a] !== undefined)),
    requested,
    allowList: settings.releaseColumns,
    cases: joined.outcomes.map((o) => o.attributes),
  });
  await recordRefusals(db, job.jobId, columns.refused);

  const full = buildSiteReport({
    reportId: randomUUID(),
    campaignId: job.campaignId,
    jobId: job.jobId,
    siteId: me.siteId,
    model: thisModel,
    agentVersion: AGENT_VERSION,
    threshold: manifest.threshold,
    binEdges: job.binEdges,
    outcomes: paired
      ? joined.outcomes.map((o, i) => ({ ...o, scoreB: scoresB[i] as number }))
      : joined.outcomes,
    ...(paired ? { modelB: peer.model } : {}),
    excluded,
    images: scored.images,
    subgroupAttributes: columns.released,
  });
  const report: SiteReport = privacyGate(full, {
    minCell: Math.max(job.minCell, settings.minCell),
    ...(settings.dp ? { dp: { epsilon: settings.dp.epsilonPerReport } } : {}),
  });
  const release = decideRelease(report, policy);
  try {
    await enqueueReport(db, report, release, settings.dp?.budgetPerCampaign);
  } catch (err) {
    // Another agent process spent the budget while this one was computing: the report is dropped unsent.
    if (err instanceof PrivacyBudgetExhausted) return failJob(db, job.jobId, 'privacy-budget-exhausted');
    throw err;
  }
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

/**
 * Downloads the job's model (or takes the cached copy) and returns its bytes only if their sha256 equals the
 * pinned one — a model whose bytes differ is never run.
 */
async function fetchVerifiedModel(api: CloudApi, stateDir: string, job: Job): Promise<Uint8Array | null> {
  const pinned = job.model.sha256;
  if (job.model.manifest.sha256 && job.model.manifest.sha256 !== pinned) return null;
  const dir = join(stateDir, 'models');
  const cached = join(dir, `${pinned}.onnx`);
  let bytes: Uint8Array | null = existsSync(cached) ? new Uint8Array(readFileSync(cached)) : null;
  if (!bytes || sha256(bytes) !== pinned) {
    bytes = await api.bytes(job.model.downloadUrl);
    if (sha256(bytes) !== pinned) return null;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(cached, bytes);
  }
  return bytes;
}

/**
 * The vendor's signature over the manifest and the ONNX sha256, checked against the vendor key the cloud
 * registered — before the bytes reach ONNX Runtime. Returns a failure code, or undefined when the model may run.
 */
function checkVendorSignature(job: Job, settings: AgentSettings): JobFailureReason | undefined {
  const { signature, vendorKey } = job.model;
  if (!signature || !vendorKey) return settings.requireSignedModels ? 'model-unsigned' : undefined;
  const check = verifyModelSignature(job.model.manifest, job.model.sha256, signature, vendorKey.publicKey);
  return check.ok ? undefined : 'model-signature-invalid';
}

async function failJob(
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

/** The subgroups every report carries, read from the DICOM headers. */
const STANDARD_SUBGROUPS = ['sex', 'ageBand', 'manufacturer', 'scannerModel', 'bodyPart'];

function definedOnly(attrs: object | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attrs ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
