import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import type { ContrastSelection } from '../../comparison/build-comparison.ts';
import { createComparisonBuilder } from '../../comparison/build-off-thread.ts';
import { createComparisonCache } from '../../comparison/comparison-cache.ts';
import type { ComparisonRequest } from '../../comparison/comparison-input.ts';
import {
  campaignModelVersions,
  campaignSites,
  reportState,
  storedReportPages,
} from '../../comparison/comparison-reads.ts';
import { attachedCriteria } from '../../criteria/attach.ts';
import { campaigns } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { notFound } from '../../errors.ts';
import { applyVerdictsOfBuiltComparison } from '../../rollouts/verdicts-from-route.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

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

  /** Reads the rows the caller may see, page by page, into the worker, which checks and pools them. */
  async function build(p: Principal, request: ComparisonRequest): Promise<string> {
    const stream = builder.open(request);
    try {
      for await (const page of storedReportPages(deps.db, request.campaignId))
        stream.add(
          p.role === 'coordinator'
            ? page.filter((r) => seesSite(p, { id: r.siteId, regionId: r.regionId }))
            : page,
        );
    } catch (err) {
      stream.drop();
      throw err;
    }
    return stream.finish();
  }

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
      const modelRows = await campaignModelVersions(deps.db, campaignId);
      const visibleModels =
        p.role === 'vendor' ? modelRows.filter((m) => m.vendor === p.vendorId) : modelRows;
      const sitesOf = await campaignSites(deps.db, campaignId);
      const anySiteVisible = p.role !== 'coordinator' || sitesOf.some((s) => seesSite(p, s));
      if (visibleModels.length === 0 || !anySiteVisible) throw notFound('campaign');

      const key = JSON.stringify([
        campaignId,
        p.role,
        p.role === 'vendor' ? p.vendorId : null,
        p.role === 'coordinator' ? (p.regionIds === null ? 'all' : [...p.regionIds].sort()) : null,
        selection,
        campaign.criteriaSha256,
        ...(await reportState(deps.db, campaignId)),
      ]);
      const cached = cache.get(key);
      const text =
        cached ??
        (await build(p, {
          campaignId,
          generatedAt: deps.clock.now(),
          models: visibleModels,
          campaign,
          contrasts: selection,
          criteria: attachedCriteria(campaign),
        }));
      if (cached === undefined) await applyVerdictsOfBuiltComparison(deps, p, selection, text);
      cache.set(key, text);
      return c.body(text, 200, { 'content-type': 'application/json' });
    },
  );
}
