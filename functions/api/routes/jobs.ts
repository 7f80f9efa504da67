import { and, eq, inArray, ne } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Id } from '../../../schemas/common.ts';
import type { Job } from '../../../schemas/job.ts';
import { JobStatusUpdate } from '../../../schemas/job-status.ts';
import { campaigns, jobs, models, vendorKeys } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { validate } from '../validate.ts';

/**
 * The agent's side of its jobs: the pull (the calling site's pending jobs, each with everything needed to run
 * it) and the status it reports for one (running, held for review, failed with a code and counts).
 */
export function jobRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .get('/jobs', guard('site'), async (c) => {
      const siteId = c.get('principal').siteId ?? '';
      const rows = await deps.db
        .select({ job: jobs, model: models, campaign: campaigns, vendorKey: vendorKeys })
        .from(jobs)
        .innerJoin(models, eq(models.id, jobs.modelId))
        .leftJoin(vendorKeys, eq(vendorKeys.keyId, models.signingKeyId))
        .innerJoin(campaigns, eq(campaigns.id, jobs.campaignId))
        // A running job is handed out again: an agent that lost its state must still find it.
        .where(and(eq(jobs.siteId, siteId), inArray(jobs.status, ['pending', 'running'])))
        .orderBy(jobs.createdAt, jobs.id);
      const out: Job[] = rows.map(({ job, model, campaign, vendorKey }) => ({
        jobId: job.id,
        campaignId: job.campaignId,
        siteId: job.siteId,
        status: 'pending',
        model: {
          modelId: model.id,
          sha256: model.sha256,
          manifest: model.manifest,
          downloadUrl: `/v1/models/${model.id}/onnx`,
          // Only for signed models, so an unsigned model's job has exactly the shape older agents know.
          ...(model.signature && vendorKey
            ? {
                signature: model.signature,
                vendorKey: { keyId: vendorKey.keyId, publicKey: vendorKey.publicKey },
              }
            : {}),
        },
        binEdges: campaign.binEdges,
        minCell: campaign.minCell,
        // Only when the campaign names some, so older agents see the shape they know.
        ...(campaign.subgroupAttributes.length ? { subgroupAttributes: campaign.subgroupAttributes } : {}),
        ...(job.attempt > 1 ? { attempt: job.attempt } : {}),
      }));
      return c.json({ jobs: out });
    })
    .post(
      '/jobs/:id/status',
      guard('site'),
      validate('param', z.object({ id: Id })),
      validate('json', JobStatusUpdate),
      async (c) => {
        const siteId = c.get('principal').siteId ?? '';
        const { id } = c.req.valid('param');
        const body = c.req.valid('json');
        if (body.jobId !== id)
          throw new ApiError(400, 'job-id-mismatch', 'The body names another job than the path.');
        const job = await deps.db.query.jobs.findFirst({
          where: and(eq(jobs.id, id), eq(jobs.siteId, siteId)),
        });
        if (!job) throw notFound('job');
        if (job.status === 'done')
          throw new ApiError(409, 'job-already-reported', 'This job already has a stored report.');
        if (body.attempt !== job.attempt)
          throw new ApiError(
            409,
            'stale-attempt',
            'This status is for another attempt of the job than the current one (it was rerun).',
          );
        const now = deps.clock.now();
        // Guarded again in the update: a report stored meanwhile is not overwritten by a late status.
        const updated = await deps.db
          .update(jobs)
          .set({
            status: body.status,
            failure: body.failure ?? null,
            failureCounts: body.counts ?? null,
            statusAt: now,
          })
          .where(and(eq(jobs.id, id), ne(jobs.status, 'done'), eq(jobs.attempt, body.attempt)))
          .returning({ id: jobs.id });
        if (!updated.length)
          throw new ApiError(409, 'stale-attempt', 'The job changed while this status was recorded.');
        return c.json({ jobId: id, status: body.status, attempt: body.attempt });
      },
    );
}
