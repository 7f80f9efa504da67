import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Job } from '../../../schemas/job.ts';
import type { ModelManifest } from '../../../schemas/model-manifest.ts';
import type { ModelSignature } from '../../../schemas/model-signature.ts';
import { campaigns, jobs, models, vendorKeys } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';

/** The agent's pull: the pending jobs of the calling site, each with everything needed to run it. */
export function jobRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>().get('/jobs', guard('site'), async (c) => {
    const siteId = c.get('principal').siteId ?? '';
    const rows = await deps.db
      .select({ job: jobs, model: models, campaign: campaigns, vendorKey: vendorKeys })
      .from(jobs)
      .innerJoin(models, eq(models.id, jobs.modelId))
      .leftJoin(vendorKeys, eq(vendorKeys.keyId, models.signingKeyId))
      .innerJoin(campaigns, eq(campaigns.id, jobs.campaignId))
      .where(and(eq(jobs.siteId, siteId), eq(jobs.status, 'pending')))
      .orderBy(jobs.createdAt, jobs.id);
    const out: Job[] = rows.map(({ job, model, campaign, vendorKey }) => ({
      jobId: job.id,
      campaignId: job.campaignId,
      siteId: job.siteId,
      status: job.status,
      model: {
        modelId: model.id,
        sha256: model.sha256,
        manifest: model.manifest as ModelManifest,
        downloadUrl: `/v1/models/${model.id}/onnx`,
        // Only for signed models, so an unsigned model's job has exactly the shape older agents know.
        ...(model.signature && vendorKey
          ? {
              signature: model.signature as ModelSignature,
              vendorKey: { keyId: vendorKey.keyId, publicKey: vendorKey.publicKey },
            }
          : {}),
      },
      binEdges: campaign.binEdges,
      minCell: campaign.minCell,
      // Only when the campaign names some, so older agents see the shape they know.
      ...(campaign.subgroupAttributes.length ? { subgroupAttributes: campaign.subgroupAttributes } : {}),
    }));
    return c.json({ jobs: out });
  });
}
