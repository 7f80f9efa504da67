import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Principal } from '../api/env.ts';
import { seesSite } from '../api/scope.ts';
import { type AuditDeps, actorOf, commitAudited } from '../audit/append.ts';
import { reports, sites } from '../db/schema.ts';
import { ApiError, notFound } from '../errors.ts';

export interface VoidedReport {
  reportId: string;
  jobId: string;
  siteId: string;
  voidedAt: string;
  reason: string;
  /** The job is open again: the site may send a corrected report for it. */
  jobReopened: true;
}

/**
 * Voids a stored report: it stays stored and listed in the comparison as voided (with the reason), leaves
 * every pool, and its job goes back to pending with its receipt removed, so the site can send a corrected
 * report (a new reportId; the voided one can never be stored again). One transaction with the audit entry,
 * which names the reason by its sha256 only: the chain holds no words a person typed.
 */
export async function voidReport(
  deps: AuditDeps,
  p: Principal,
  reportId: string,
  reason: string,
): Promise<VoidedReport> {
  const [row] = await deps.db
    .select({
      jobId: reports.jobId,
      siteId: reports.siteId,
      regionId: sites.regionId,
      voidedAt: reports.voidedAt,
    })
    .from(reports)
    .innerJoin(sites, eq(sites.id, reports.siteId))
    .where(eq(reports.reportId, reportId));
  if (!row || !seesSite(p, { id: row.siteId, regionId: row.regionId })) throw notFound('report');
  if (row.voidedAt) throw alreadyVoided();
  const now = deps.clock.now();
  // Every statement decides from the database (a racing void may have got there first): the job and the
  // receipt move only while the report is still live, and the last statement's change decides the entry.
  const live = sql`EXISTS (SELECT 1 FROM reports WHERE report_id = ${reportId} AND voided_at IS NULL)`;
  const { audited } = await commitAudited(
    deps,
    () =>
      [
        deps.db.run(sql`DELETE FROM report_receipts WHERE report_id = ${reportId} AND ${live}`),
        deps.db.run(
          sql`UPDATE jobs SET status = 'pending', done_at = NULL WHERE id = ${row.jobId} AND ${live}`,
        ),
        deps.db.run(sql`UPDATE reports SET voided_at = ${now.getTime()}, void_reason = ${reason},
          voided_by = ${actorOf(p)} WHERE report_id = ${reportId} AND voided_at IS NULL`),
      ] as const,
    {
      actor: actorOf(p),
      action: 'report.voided',
      target: reportId,
      detail: {
        siteId: row.siteId,
        jobId: row.jobId,
        role: p.role,
        reasonSha256: createHash('sha256').update(reason).digest('hex'),
      },
    },
  );
  if (!audited) throw alreadyVoided();
  return {
    reportId,
    jobId: row.jobId,
    siteId: row.siteId,
    voidedAt: now.toISOString(),
    reason,
    jobReopened: true,
  };
}

const alreadyVoided = () =>
  new ApiError(409, 'report-already-voided', 'This report has already been voided.');
