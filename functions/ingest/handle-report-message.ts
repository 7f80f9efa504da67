import { and, eq, ne } from 'drizzle-orm';
import type { Clock } from '../../infra/clock.ts';
import type { Database } from '../../infra/database.ts';
import type { OperationalLog } from '../../infra/operational-log.ts';
import { jobs, reportReceipts, reports } from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import {
  checkReportSite,
  decodeReportPayload,
  findAssignedJob,
  findSiteKey,
  parseEnvelope,
  verifyEnvelopeSignature,
} from '../reports/verify-envelope.ts';

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
 * It re-checks what is cheap and does not depend on when it runs (signature, payload, job) — not the clock
 * skew or the nonce, which the API settled at receipt. Redelivery is harmless: the report insert is ON
 * CONFLICT DO NOTHING. A message that can never be stored is answered 'rejected' (ack it; retrying cannot
 * help); database failures throw, so the queue redelivers and finally dead-letters.
 */
export async function handleReportMessage(deps: IngestDeps, body: string): Promise<IngestOutcome> {
  const result = await ingest(deps, body).catch((err: unknown) => {
    if (err instanceof ApiError) return { outcome: 'rejected' as const, code: err.code };
    throw err;
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

async function ingest(deps: IngestDeps, body: string): Promise<IngestOutcome> {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new ApiError(400, 'invalid-message', 'The queue message is not JSON.');
  }
  const envelope = parseEnvelope((message as { envelope?: unknown } | null)?.envelope);
  // A key revoked after the API accepted the envelope does not undo that acceptance.
  verifyEnvelopeSignature(envelope, await findSiteKey(deps.db, envelope, { includeRevoked: true }));
  const report = decodeReportPayload(envelope.payload);
  checkReportSite(report, envelope);
  const job = await findAssignedJob(deps.db, report, envelope.siteId);

  const other = await deps.db.query.reports.findFirst({
    where: and(eq(reports.jobId, job.jobId), ne(reports.reportId, report.reportId)),
    columns: { reportId: true },
  });
  if (other) throw new ApiError(409, 'job-already-reported', 'This job already has a stored report.');

  const now = deps.clock.now();
  const [inserted] = await deps.db.batch([
    deps.db
      .insert(reports)
      .values({
        reportId: report.reportId,
        jobId: job.jobId,
        siteId: job.siteId,
        campaignId: job.campaignId,
        modelId: job.modelId,
        report,
        envelope,
        receivedAt: now,
      })
      .onConflictDoNothing()
      .returning({ reportId: reports.reportId }),
    deps.db
      .update(jobs)
      .set({ status: 'done', doneAt: now })
      .where(and(eq(jobs.id, job.jobId), eq(jobs.status, 'pending'))),
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
      .onConflictDoUpdate({ target: reportReceipts.reportId, set: { status: 'accepted', acceptedAt: now } }),
  ]);
  return { outcome: inserted.length ? 'stored' : 'duplicate', reportId: report.reportId };
}
