import { and, eq, lt, sql } from 'drizzle-orm';
import { isQueueIn } from '../../infra/queue-db.ts';
import type { Envelope } from '../../schemas/envelope.ts';
import { type AuditEvent, commitAudited } from '../audit/append.ts';
import { commitAuditedInGroup } from '../audit/group-commit.ts';
import { preparedPerDatabase } from '../db/prepared.ts';
import { nonces, reportReceipts, reports } from '../db/schema.ts';
import { type CloudDeps, limitsOf, REPORTS_TOPIC } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { AssignedJob } from './verify-envelope.ts';

/** What a site hears when it asks what became of one of its reports: nothing more than these three. */
export type ReceiptAnswer = 'stored' | 'queued' | 'unknown';

export const duplicateReport = () =>
  new ApiError(409, 'duplicate-report', 'A report with this reportId has already been received.');

/**
 * A report of this site: stored (a voided one too: it arrived), queued (its message is on the queue), or
 * unknown — never received, received but not known to be queued, or another site's.
 */
export async function receiptAnswer(
  deps: Pick<CloudDeps, 'db'>,
  siteId: string,
  reportId: string,
): Promise<ReceiptAnswer> {
  const stored = await deps.db.query.reports.findFirst({
    where: and(eq(reports.reportId, reportId), eq(reports.siteId, siteId)),
    columns: { reportId: true },
  });
  if (stored) return 'stored';
  const receipt = await deps.db.query.reportReceipts.findFirst({
    where: and(eq(reportReceipts.reportId, reportId), eq(reportReceipts.siteId, siteId)),
    columns: { status: true },
  });
  return receipt?.status === 'queued' ? 'queued' : 'unknown';
}

const nonceSeen = preparedPerDatabase((db) =>
  db.query.nonces
    .findFirst({
      where: and(eq(nonces.siteId, sql.placeholder('siteId')), eq(nonces.nonce, sql.placeholder('nonce'))),
      columns: { nonce: true },
    })
    .prepare(),
);

const receiptStatus = preparedPerDatabase((db) =>
  db.query.reportReceipts
    .findFirst({ where: eq(reportReceipts.reportId, sql.placeholder('reportId')), columns: { status: true } })
    .prepare(),
);

/** The cheap replay check before the report is read; the nonce's insert in `queueReport` is the atomic one. */
export async function refuseSeenNonce(deps: Pick<CloudDeps, 'db'>, envelope: Envelope): Promise<void> {
  const seen = await nonceSeen(deps.db).execute({ siteId: envelope.siteId, nonce: envelope.nonce });
  if (seen) throw new ApiError(409, 'replayed-nonce', 'This envelope nonce has been used before.');
}

/**
 * A nonce only has to be remembered while an envelope carrying it could still pass the timestamp check:
 * signed up to one skew ahead of the clock, accepted up to one skew late. Older ones are forgotten, so the
 * table stays as small as one site's traffic over that window.
 */
function forgetOldNonces(deps: CloudDeps, siteId: string, now: Date) {
  const skew = limitsOf(deps).clockSkewMs;
  return deps.db
    .delete(nonces)
    .where(and(eq(nonces.siteId, siteId), lt(nonces.seenAt, new Date(now.getTime() - 3 * skew))));
}

/**
 * The statements that spend the nonce of an envelope refused after its replay check: replayed later (once
 * its job reopens, say), it must not pass where it was refused. They commit with the refusal's count.
 */
export function spendNonceStatements(deps: CloudDeps, envelope: Envelope) {
  const now = deps.clock.now();
  return [
    deps.db
      .insert(nonces)
      .values({ siteId: envelope.siteId, nonce: envelope.nonce, seenAt: now })
      .onConflictDoNothing(),
    forgetOldNonces(deps, envelope.siteId, now),
  ] as const;
}

/**
 * Records a checked report's nonce and receipt and puts it on the queue, so that no crash leaves a receipt
 * that refuses the report's resend while nothing will ever store it.
 *
 * On the embedded queue (a table in the same database) the nonce, the receipt, the message and the
 * `report.queued` audit entry are one transaction. A queue outside the database (SQS) cannot join it: the
 * nonce and a 'sending' receipt commit first, then the message is sent, then the receipt turns 'queued' with
 * its audit entry. A crash between leaves the receipt 'sending', and a resend of the report (the agent's
 * next flush) sends it again; ingest stores a report once however often its message arrives.
 *
 * A resend is refused as a duplicate only while its receipt says queued or accepted.
 */
export async function queueReport(
  deps: CloudDeps,
  envelope: Envelope,
  job: AssignedJob,
  reportId: string,
  event: AuditEvent,
): Promise<void> {
  const now = deps.clock.now();
  const receipt = await receiptStatus(deps.db).execute({ reportId });
  if (receipt && receipt.status !== 'sending') throw duplicateReport();
  // A plain insert: a nonce seen meanwhile fails the whole transaction (see refusalOf).
  const nonceStatements = () =>
    [
      deps.db.insert(nonces).values({ siteId: envelope.siteId, nonce: envelope.nonce, seenAt: now }),
      forgetOldNonces(deps, envelope.siteId, now),
    ] as const;
  // Last in its batch: commitAudited writes the entry only if this changed a row.
  const receiptStatement = (status: 'sending' | 'queued') =>
    receipt
      ? deps.db
          .update(reportReceipts)
          .set({ status })
          .where(and(eq(reportReceipts.reportId, reportId), eq(reportReceipts.status, 'sending')))
      : deps.db
          .insert(reportReceipts)
          .values({ reportId, jobId: job.jobId, siteId: job.siteId, status, receivedAt: now });
  const body = JSON.stringify({ envelope });
  const queue = deps.queue;
  try {
    if (isQueueIn(queue, deps.db)) {
      const message = queue.prepareSend(REPORTS_TOPIC, body);
      const change = () => [...nonceStatements(), message.insert, receiptStatement('queued')] as const;
      // A new receipt's insert fails rather than being a no-op, so it can commit with others arriving at once.
      if (receipt) await commitAudited(deps, change, event);
      else await commitAuditedInGroup(deps, change, event);
      message.notify();
      return;
    }
    await deps.db.batch([...nonceStatements(), receiptStatement('sending')]);
  } catch (err) {
    throw refusalOf(err) ?? err;
  }
  try {
    await queue.send(REPORTS_TOPIC, body);
  } catch {
    // The receipt stays 'sending'; forgetting the nonce lets the agent send this very envelope again.
    await deps.db
      .delete(nonces)
      .where(and(eq(nonces.siteId, envelope.siteId), eq(nonces.nonce, envelope.nonce)));
    throw new ApiError(503, 'queue-unavailable', 'The report could not be queued; send it again later.');
  }
  await commitAudited(
    deps,
    () =>
      [
        deps.db
          .update(reportReceipts)
          .set({ status: 'queued' })
          .where(and(eq(reportReceipts.reportId, reportId), eq(reportReceipts.status, 'sending'))),
      ] as const,
    event,
  );
}

/** The refusal a key of the submission's transaction stands for, when another request took it first. */
function refusalOf(err: unknown): ApiError | null {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed: nonces\./.test(e.message))
      return new ApiError(409, 'replayed-nonce', 'This envelope nonce has been used before.');
    if (/UNIQUE constraint failed: report_receipts\.report_id/.test(e.message)) return duplicateReport();
    if (/UNIQUE constraint failed: report_receipts\.job_id/.test(e.message))
      return new ApiError(
        409,
        'job-already-reported',
        'This job already has a report; a job is reported once.',
      );
  }
  return null;
}
