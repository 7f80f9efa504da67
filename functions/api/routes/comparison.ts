import { and, count, eq, gt, max, or, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import { byModelVersion } from '../../../schemas/semver-order.ts';
import type { ContrastSelection } from '../../comparison/build-comparison.ts';
import { createComparisonBuilder } from '../../comparison/build-off-thread.ts';
import { createComparisonCache } from '../../comparison/comparison-cache.ts';
import type { StoredReportRow } from '../../comparison/stored-report.ts';
import { attachedCriteria } from '../../criteria/attach.ts';
import { campaignModels, campaigns, jobs, models, reports, sites } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

const PAGE_ROWS = 500;

const PAIR = /^([A-Za-z0-9_-]{1,100}):([A-Za-z0-9_-]{1,100})$/;

/** `?contrasts=`: 'all' (the default), 'adjacent' (each version vs the one before), or `A:B,C:D` (model ids). */
const ContrastsParam = z
  .string()
  .max(10_000)
  .optional()
  .transform((v, ctx): ContrastSelection => {
    if (v === undefined || v === 'all') return 'all';
    if (v === 'adjacent') return 'adjacent';
    const pairs: [string, string][] = [];
    for (const part of v.split(',')) {
      const m = PAIR.exec(part);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: "give 'all', 'adjacent' or model-id pairs A:B,C:D" });
        return z.NEVER;
      }
      pairs.push([m[1] as string, m[2] as string]);
    }
    return pairs;
  });

/**
 * The campaign's cross-site comparison as the caller may see it: vendors only their own model versions,
 * regional coordinators only their regions' sites (and pools over those sites only). Built once per state of
 * the campaign's reports and kept (comparison-cache.ts); a named pair of models the caller cannot see is
 * left out like a pair with no site in common.
 */
export function comparisonRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  const cache = createComparisonCache();
  const builder = createComparisonBuilder();
  return new Hono<AppEnv>().get(
    '/campaigns/:id/comparison',
    guard('admin', 'coordinator', 'vendor'),
    validate('param', z.object({ id: Id })),
    validate('query', z.object({ contrasts: ContrastsParam })),
    async (c) => {
      const p = c.get('principal');
      const campaignId = c.req.valid('param').id;
      const selection = c.req.valid('query').contrasts;
      const campaign = await deps.db.query.campaigns.findFirst({ where: eq(campaigns.id, campaignId) });
      if (!campaign) throw notFound('campaign');

      const modelRows = await deps.db
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
      // Versions by semver precedence (SQL text order puts 1.10.0 before 1.9.0).
      modelRows.sort(byModelVersion((m) => m));
      const visibleModels =
        p.role === 'vendor' ? modelRows.filter((m) => m.vendor === p.vendorId) : modelRows;

      const campaignSites = await deps.db
        .selectDistinct({ id: sites.id, regionId: sites.regionId })
        .from(jobs)
        .innerJoin(sites, eq(sites.id, jobs.siteId))
        .where(eq(jobs.campaignId, campaignId));
      const anySiteVisible = p.role !== 'coordinator' || campaignSites.some((s) => seesSite(p, s));
      if (visibleModels.length === 0 || !anySiteVisible) throw notFound('campaign');

      const [state] = await deps.db
        .select({
          reports: count(),
          received: max(reports.receivedAt),
          voided: count(reports.voidedAt),
          lastVoid: max(reports.voidedAt),
        })
        .from(reports)
        .where(eq(reports.campaignId, campaignId));
      const key = JSON.stringify([
        campaignId,
        p.role,
        p.role === 'vendor' ? p.vendorId : null,
        p.role === 'coordinator' ? (p.regionIds === null ? 'all' : [...p.regionIds].sort()) : null,
        selection,
        campaign.criteriaSha256,
        state?.reports,
        state?.received?.getTime() ?? null,
        state?.voided,
        state?.lastVoid?.getTime() ?? null,
      ]);
      const json = (text: string) => c.body(text, 200, { 'content-type': 'application/json' });
      const cached = cache.get(key);
      if (cached !== undefined) return json(cached);

      // In pages (receipt order), so that other requests are answered between them.
      const stored: (StoredReportRow & { receivedAt: Date })[] = [];
      for (;;) {
        const last = stored[stored.length - 1];
        const page = await deps.db
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
        stored.push(...page);
        if (page.length < PAGE_ROWS) break;
      }
      // Checking the rows again and pooling them is the heavy part: off the event loop (build-off-thread.ts).
      const text = await builder.build({
        campaignId,
        generatedAt: deps.clock.now(),
        models: visibleModels,
        rows: stored.filter(
          (r) => p.role !== 'coordinator' || seesSite(p, { id: r.siteId, regionId: r.regionId }),
        ),
        campaign,
        contrasts: selection,
        criteria: attachedCriteria(campaign),
      });
      cache.set(key, text);
      return json(text);
    },
  );
}
