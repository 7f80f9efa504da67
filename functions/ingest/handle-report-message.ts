import { and, eq, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import type { Clock } from '../../infra/clock.ts';
import type { OperationalLog } from '../../infra/operational-log.ts';
import type { Envelope } from '../../schemas/envelope.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { type AuditEvent, appendAudit, commitAudited } from '../audit/append.ts';
import type { Database } from '../db/database.ts';
import { preparedPerDatabase } from '../db/prepared.ts';
import { auditLog, jobs, reportReceipts, reports } from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import { REPORT_CHECK_CODES } from '../reports/check-report.ts';
import { countRefusal } from '../reports/count-refusal.ts';
import {
  type AssignedJob,
  checkReportContent,
  checkReportSite,
  decodeReportPayload,
  findAssignedJob,
  findSiteKey,
  parseEnvelope,
  verifyEnvelopeSignature,
} from '../reports/verify-envelope.ts';

/** Rejections after which the site may report the job again (see handleReportMessage). */
const FREES_THE_JOB = new Set<string>(['revoked-key', ...REPORT_CHECK_CODES]);

export interface IngestDeps {
  db: Database;
  clock: Clock;
  log: OperationalLog;
}

export type IngestOutcome =
  | { outcome: 'stored'; reportId: string }
  | { outcome: 'duplicate'; reportId: string }
  | { outcome: 'rejected'; code: string };

/**
 * The report consumer: one queue message `{ envelope }` → one stored report and a finished job. A plain
 * function, so it runs under the embedded poller and, later, as an SQS Lambda.
 *
 * It re-checks what is cheap and does not depend on when it runs (signature, payload, job, and the report's
 * numbers against its campaign: a message queued before that check existed, or put on SQS some other way,
 * must not be stored either) — not the clock skew or the nonce, which the API settled at receipt. Redelivery is harmless: the report insert is ON
 * CONFLICT DO NOTHING, and the acceptance's audit entry commits with the report. A message that can never be stored is answered 'rejected' (ack it; retrying cannot
 * help); database failures throw, so the queue redelivers and finally dead-letters.
 */
export async function handleReportMessage(deps: IngestDeps, body: string): Promise<IngestOutcome> {
  let reportId: string | undefined;
  let siteId: string | undefined;
  const result = await ingest(deps, body, (id, site) => {
    reportId = id;
    siteId = site;
  }).catch((err: unknown) => {
    if (err instanceof ApiError) return { outcome: 'rejected' as const, code: err.code };
    throw err;
  });
  if (result.outcome === 'rejected' && FREES_THE_JOB.has(result.code) && reportId) {
    // The key was withdrawn while the report waited, or the report fails the cloud's own check (it was queued
    // before the check existed, or reached the queue another way): free the job so the site can report it
    // again, with its new key or corrected numbers (the receipt would otherwise refuse that as a duplicate
    // forever, and it must not claim a report that was never stored).
    await deps.db
      .delete(reportReceipts)
      .where(and(eq(reportReceipts.reportId, reportId), ne(reportReceipts.status, 'accepted')));
  }
  // A stored report's acceptance was audited with it; a duplicate's is written here only if a report stored
  // before that was so (an older version) left it out.
  if (result.outcome === 'duplicate' && !(await acceptanceAudited(deps, result)))
    await appendAudit(deps, {
      actor: 'system:ingest',
      action: 'report.accepted',
      target: result.reportId,
    });
  else if (result.outcome === 'rejected')
    await countRefusal(deps, {
      siteId: siteId ?? '(unparsed)',
      stage: 'ingest',
      code: result.code,
      audit: {
        actor: 'system:ingest',
        action: 'report.rejected',
        target: reportId ?? '(unparsed)',
        detail: { code: result.code },
      },
    });
  deps.log.write({
    time: deps.clock.now().toISOString(),
    event: 'ingest',
    ...(result.outcome === 'rejected'
      ? { code: result.code }
      : { code: result.outcome, ref: result.reportId }),
  });
  return result;
}

/**
 * Whether the chain already records this report's acceptance. A redelivered message finds its report stored;
 * it is redelivered because handling threw after the store (the audit append, say), so the acceptance may be
 * missing from the chain and is written then. Duplicates are rare (the API's receipt refuses resent reports),
 * so the scan is cheap overall.
 */
async function acceptanceAudited(deps: IngestDeps, result: { reportId: string }): Promise<boolean> {
  const [row] = await deps.db
    .select({ seq: auditLog.seq })
    .from(auditLog)
    .where(and(eq(auditLog.action, 'report.accepted'), eq(auditLog.target, result.reportId)))
    .limit(1);
  return row !== undefined;
}

async function ingest(
  deps: IngestDeps,
  body: string,
  onReportId: (reportId: string | undefined, siteId: string) => void,
): Promise<IngestOutcome> {
  const checked = await checkReportMessage(deps, body, onReportId);
  // The acceptance's audit entry commits with the report it records; the report insert is last, so the entry
  // is written only when it stored the report (a redelivery stores nothing and writes none).
  const { audited } = await commitAudited(
    deps,
    () => storeReportStatements(deps, checked, deps.clock.now(), 'ignore'),
    acceptedEvent(checked),
  );
  return { outcome: audited ? 'stored' : 'duplicate', reportId: checked.report.reportId };
}

/** A message whose report passed every check ingest makes: what storing it takes. */
export interface CheckedReport {
  report: SiteReport;
  envelope: Envelope;
  job: AssignedJob;
}

export const acceptedEvent = (checked: CheckedReport): AuditEvent => ({
  actor: 'system:ingest',
  action: 'report.accepted',
  target: checked.report.reportId,
});

/**
 * Parses a queue message and runs ingest's checks on its report; throws the refusal (an ApiError) or the
 * database's failure. `onReportId` hears the (unverified) report id and site as soon as they are read.
 */
export async function checkReportMessage(
  deps: IngestDeps,
  body: string,
  onReportId: (reportId: string | undefined, siteId: string) => void = () => {},
): Promise<CheckedReport> {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new ApiError(400, 'invalid-message', 'The queue message is not JSON.');
  }
  const envelope = parseEnvelope((message as { envelope?: unknown } | null)?.envelope);
  // The report id is read (unverified) only to name the receipt a refusal frees and the audit entry.
  try {
    const id = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'))?.reportId;
    onReportId(typeof id === 'string' && /^[0-9A-Fa-f-]{36}$/.test(id) ? id : undefined, envelope.siteId);
  } catch {
    // Not JSON: decodeReportPayload below says so.
    onReportId(undefined, envelope.siteId);
  }
  // A key the site rotated after the API accepted the envelope does not undo that acceptance; a key a
  // coordinator revoked does (it may have been stolen, and the report with it).
  verifyEnvelopeSignature(envelope, await findSiteKey(deps.db, envelope, { acceptRotated: true }));
  const report = decodeReportPayload(envelope.payload);
  checkReportSite(report, envelope);
  const job = await findAssignedJob(deps.db, report, envelope.siteId);
  await checkReportContent(deps.db, report, job);

  const voided = await voidedReport(deps.db).execute({ reportId: report.reportId });
  if (voided) throw new ApiError(409, 'report-voided', 'This report was voided; it cannot be stored again.');
  // A voided report does not count: its job was opened again for a corrected one.
  const other = await otherLiveReport(deps.db).execute({ jobId: job.jobId, reportId: report.reportId });
  if (other) throw new ApiError(409, 'job-already-reported', 'This job already has a stored report.');
  return { report, envelope, job };
}

const voidedReport = preparedPerDatabase((db) =>
  db.query.reports
    .findFirst({
      where: and(eq(reports.reportId, sql.placeholder('reportId')), isNotNull(reports.voidedAt)),
      columns: { reportId: true },
    })
    .prepare(),
);

const otherLiveReport = preparedPerDatabase((db) =>
  db.query.reports
    .findFirst({
      where: and(
        eq(reports.jobId, sql.placeholder('jobId')),
        ne(reports.reportId, sql.placeholder('reportId')),
        isNull(reports.voidedAt),
      ),
      columns: { reportId: true },
    })
    .prepare(),
);

/**
 * The statements that store a checked report and settle its job, the report insert last. `onStored`
 * 'ignore' makes a report stored before a no-op; 'fail' makes it fail the transaction (commitAuditedAll).
 */
export function storeReportStatements(
  deps: IngestDeps,
  { report, envelope, job }: CheckedReport,
  now: Date,
  onStored: 'ignore' | 'fail',
) {
  const insertReport = deps.db.insert(reports).values({
    reportId: report.reportId,
    jobId: job.jobId,
    siteId: job.siteId,
    campaignId: job.campaignId,
    modelId: job.modelId,
    report,
    envelope,
    receivedAt: now,
  });
  return [
    deps.db
      .update(jobs)
      // Whatever the site said before (running, held, failed and fixed locally), its report settles the job.
      .set({ status: 'done', doneAt: now, failure: null, failureCounts: null })
      .where(and(eq(jobs.id, job.jobId), ne(jobs.status, 'done'))),
    deps.db
      .insert(reportReceipts)
      .values({
        reportId: report.reportId,
        jobId: job.jobId,
        siteId: job.siteId,
        status: 'accepted',
        receivedAt: now,
        acceptedAt: now,
      })
      .onConflictDoUpdate({
        target: reportReceipts.reportId,
        set: { status: 'accepted', acceptedAt: now },
      }),
    onStored === 'ignore' ? insertReport.onConflictDoNothing() : insertReport,
  ] as const;
}
