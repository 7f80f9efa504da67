import { eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import { byModelVersion } from '../../../schemas/semver-order.ts';
import { buildComparison } from '../../comparison/build-comparison.ts';
import { comparedFromStored } from '../../comparison/stored-report.ts';
import { campaignModels, campaigns, jobs, models, reports, sites } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

/**
 * The campaign's cross-site comparison as the caller may see it: vendors only their own model versions,
 * regional coordinators only their regions' sites (and pools over those sites only).
 */
export function comparisonRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>().get(
    '/campaigns/:id/comparison',
    guard('admin', 'coordinator', 'vendor'),
    validate('param', z.object({ id: Id })),
    async (c) => {
      const p = c.get('principal');
      const campaignId = c.req.valid('param').id;
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

      const stored = await deps.db
        .select({
          reportId: reports.reportId,
          modelId: reports.modelId,
          siteId: reports.siteId,
          regionId: sites.regionId,
          // As stored text: drizzle's JSON column would throw on a row that is not JSON at all.
          report: sql<string>`${reports.report}`,
          voidedAt: reports.voidedAt,
          voidReason: reports.voidReason,
        })
        .from(reports)
        .innerJoin(sites, eq(sites.id, reports.siteId))
        .where(eq(reports.campaignId, campaignId))
        .orderBy(reports.receivedAt, reports.reportId);
      const visibleReports = stored
        .filter((r) => p.role !== 'coordinator' || seesSite(p, { id: r.siteId, regionId: r.regionId }))
        .map((r) => comparedFromStored(r, campaign));

      return c.json(
        buildComparison({
          campaignId,
          generatedAt: deps.clock.now(),
          models: visibleModels,
          reports: visibleReports,
        }),
      );
    },
  );
}
