import { and, eq, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type AuditAction, type AuditDeps, commitAudited } from '../audit/append.ts';
import { type REFUSAL_STAGES, reportRefusals } from '../db/schema.ts';

export interface Refusal {
  siteId: string;
  stage: (typeof REFUSAL_STAGES)[number];
  code: string;
  /** Statements that commit with the count (spending a refused envelope's nonce). */
  with?: readonly BatchItem<'sqlite'>[];
  /** The audit entry written for the first refusal of its (day, site, stage, code). */
  audit: {
    actor: string;
    action: Extract<AuditAction, 'report.refused' | 'report.rejected'>;
    target: string;
    detail: Record<string, string | number>;
  };
}

/**
 * Counts one refused report under its UTC day, site, stage and code. Only the first of each such key goes
 * into the audit chain too (in the same transaction): a site sending garbage all day adds one entry per
 * code, not one per request, and the counts say how many there were.
 */
export async function countRefusal(deps: AuditDeps, r: Refusal): Promise<void> {
  const now = deps.clock.now();
  const day = now.toISOString().slice(0, 10);
  const key = and(
    eq(reportRefusals.day, day),
    eq(reportRefusals.siteId, r.siteId),
    eq(reportRefusals.stage, r.stage),
    eq(reportRefusals.code, r.code),
  );
  await commitAudited(
    deps,
    () =>
      [
        deps.db
          .insert(reportRefusals)
          .values({ day, siteId: r.siteId, stage: r.stage, code: r.code, count: 1, lastAt: now })
          .onConflictDoUpdate({
            target: [reportRefusals.day, reportRefusals.siteId, reportRefusals.stage, reportRefusals.code],
            set: { count: sql`${reportRefusals.count} + 1`, lastAt: now },
          }),
        ...(r.with ?? []),
      ] as const,
    r.audit,
    { when: sql`(SELECT ${reportRefusals.count} FROM ${reportRefusals} WHERE ${key}) = 1` },
  );
}
