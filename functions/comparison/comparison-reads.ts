import { setImmediate } from 'node:timers/promises';
import { and, count, eq, gt, max, or, sql } from 'drizzle-orm';
import { byModelVersion } from '../../schemas/semver-order.ts';
import type { Database } from '../db/database.ts';
import { campaignModels, jobs, models, reports, sites } from '../db/schema.ts';
import type { ComparedModel } from './build-comparison.ts';
import type { StoredReportRow } from './stored-report.ts';

/** Rows per page: a short read and a short copy to the worker each, with other requests answered between. */
const PAGE_ROWS = 500;

/** The campaign's model versions, by vendor, name and semver precedence (SQL text order puts 1.10.0 first). */
export async function campaignModelVersions(db: Database, campaignId: string): Promise<ComparedModel[]> {
  const rows = await db
    .select({
      modelId: models.id,
      vendor: models.vendorId,
      name: models.name,
      version: models.version,
      sha256: models.sha256,
    })
    .from(campaignModels)
    .innerJoin(models, eq(models.id, campaignModels.modelId))
    .where(eq(campaignModels.campaignId, campaignId))
    .orderBy(models.vendorId, models.name, models.version);
  return rows.sort(byModelVersion((m) => m));
}

/** The sites the campaign has jobs at, with their regions. */
export function campaignSites(db: Database, campaignId: string) {
  return db
    .selectDistinct({ id: sites.id, regionId: sites.regionId })
    .from(jobs)
    .innerJoin(sites, eq(sites.id, jobs.siteId))
    .where(eq(jobs.campaignId, campaignId));
}

/**
 * The state of the campaign's reports, as part of a cache key: their count, the newest receipt, how many are
 * voided and the newest void. A report stored or voided changes it.
 */
export async function reportState(db: Database, campaignId: string): Promise<(number | null)[]> {
  const [state] = await db
    .select({
      reports: count(),
      received: max(reports.receivedAt),
      voided: count(reports.voidedAt),
      lastVoid: max(reports.voidedAt),
    })
    .from(reports)
    .where(eq(reports.campaignId, campaignId));
  return [
    state?.reports ?? 0,
    state?.received?.getTime() ?? null,
    state?.voided ?? 0,
    state?.lastVoid?.getTime() ?? null,
  ];
}

/** The campaign's stored reports with their sites' regions, a page at a time in receipt order. */
export async function* storedReportPages(
  db: Database,
  campaignId: string,
): AsyncGenerator<StoredReportRow[]> {
  let last: { receivedAt: Date; reportId: string } | undefined;
  for (;;) {
    const page = await db
      .select({
        reportId: reports.reportId,
        modelId: reports.modelId,
        siteId: reports.siteId,
        regionId: sites.regionId,
        // As stored text: drizzle's JSON column would throw on a row that is not JSON at all.
        report: sql<string>`${reports.report}`,
        voidedAt: reports.voidedAt,
        voidReason: reports.voidReason,
        receivedAt: reports.receivedAt,
      })
      .from(reports)
      .innerJoin(sites, eq(sites.id, reports.siteId))
      .where(
        and(
          eq(reports.campaignId, campaignId),
          last
            ? or(
                gt(reports.receivedAt, last.receivedAt),
                and(eq(reports.receivedAt, last.receivedAt), gt(reports.reportId, last.reportId)),
              )
            : undefined,
        ),
      )
      .orderBy(reports.receivedAt, reports.reportId)
      .limit(PAGE_ROWS);
    last = page[page.length - 1];
    yield page;
    if (page.length < PAGE_ROWS) return;
    // An embedded libSQL query settles without leaving the event loop's turn: give other requests theirs.
    await setImmediate();
  }
}
