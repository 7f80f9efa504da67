import { Hono } from 'hono';
import { z } from 'zod';
import { Id, Slug } from '../../../schemas/common.ts';
import { Comparison } from '../../../schemas/comparison.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
import { assembleReport } from '../../evaluation-report/assemble.ts';
import { readEvidence } from '../../evaluation-report/evidence.ts';
import { renderReportHtml } from '../../evaluation-report/render-html.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { validate } from '../validate.ts';

/** How the app answers a request of its own: the report reads the comparison exactly as the caller would. */
export type SelfFetch = (req: Request) => Promise<Response>;

/**
 * `GET /v1/models/:id/evaluation-report?format=json|html&campaign=C&region=R`: the regulator-ready evaluation
 * report of one model version (functions/evaluation-report), built from the campaign's comparison as the
 * caller sees it (vendors their own versions, regional coordinators their regions) and the stored reports,
 * criteria and rollout decisions it rests on. The newest campaign with the version unless one is named.
 */
export function evaluationReportRoutes(deps: CloudDeps, self: SelfFetch) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>().get(
    '/models/:id/evaluation-report',
    guard('admin', 'coordinator', 'vendor'),
    validate('param', z.object({ id: Id })),
    validate(
      'query',
      z.object({
        format: z.enum(['json', 'html']).default('json'),
        campaign: Id.optional(),
        region: Slug.optional(),
      }),
    ),
    async (c) => {
      const q = c.req.valid('query');
      const authorization = c.req.header('authorization') ?? '';
      const evidence = await readEvidence(deps, c.get('principal'), {
        modelId: c.req.valid('param').id,
        campaignId: q.campaign,
        region: q.region,
        comparison: async (campaignId) => {
          const res = await self(
            new Request(`http://cairn.internal/v1/campaigns/${campaignId}/comparison`, {
              headers: { authorization },
            }),
          );
          if (!res.ok)
            throw new ApiError(404, 'campaign-not-found', 'No such campaign is visible to this token.');
          return Comparison.parse(await res.json());
        },
      });
      const report = assembleReport(evidence);
      if (q.format === 'html') return c.html(renderReportHtml(report));
      return c.json(report);
    },
  );
}
