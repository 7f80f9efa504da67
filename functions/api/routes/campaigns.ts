import { and, count, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { AttributeName, Id, Slug } from '../../../schemas/common.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { parameterSha256 } from '../../audit/hashes.ts';
import { acceptCriteria, attachPostHoc, criteriaView } from '../../criteria/attach.ts';
import { campaignModels, campaigns, jobs, models, reports, sites } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, forbidden, notFound } from '../../errors.ts';
import { newId } from '../../secrets.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

const CreateCampaign = z
  .object({
    name: z.string().trim().min(1).max(200),
    modelIds: z.array(Id).min(1).max(50),
    siteIds: z.array(Slug).min(1).max(1000),
    bins: z.number().int().min(1).max(1000).optional(),
    binEdges: z
      .array(z.number())
      .min(2)
      .max(1001)
      .refine(
        (e) => e.every((v, i) => i === 0 || v > (e[i - 1] as number)),
        'bin edges must be strictly increasing',
      )
      .optional(),
    minCell: z.number().int().min(1).max(1000).default(5),
    /** Refuse models without a verified vendor signature (see routes/models.ts). */
    requireSignedModels: z.boolean().default(false),
    /** Extra subgroup attributes every site reports (columns of its labels.csv). */
    subgroupAttributes: z.array(AttributeName).max(10).default([]),
    /** Acceptance criteria (cairn.criteria/v1), frozen with the campaign (functions/criteria/attach.ts). */
    criteria: z.unknown().optional(),
  })
  .strict()
  .refine((b) => b.bins === undefined || b.binEdges === undefined, {
    message: 'give bins or binEdges, not both',
    path: ['binEdges'],
  });

/** Which of a campaign's failed jobs to run again (default: all of them the caller sees). */
const RerunJobs = z.object({ siteId: Slug.optional(), modelId: Id.optional() }).strict();

/** `bins` equal-width bins on [0, 1]; i / bins keeps every edge the same on every machine. */
export function equalWidthEdges(bins: number): number[] {
  return Array.from({ length: bins + 1 }, (_, i) => i / bins);
}

/** SQLite caps the bound parameters of one statement; a campaign of many models × sites inserts in parts. */
function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function campaignRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/campaigns', guard('admin', 'coordinator'), validate('json', CreateCampaign), async (c) => {
      const p = c.get('principal');
      const body = c.req.valid('json');
      const modelIds = [...new Set(body.modelIds)];
      const siteIds = [...new Set(body.siteIds)];
      const foundModels = await deps.db
        .select({
          id: models.id,
          signingKeyId: models.signingKeyId,
          name: models.name,
          version: models.version,
        })
        .from(models)
        .where(inArray(models.id, modelIds));
      if (foundModels.length !== modelIds.length) throw notFound('model');
      const criteria = body.criteria === undefined ? null : acceptCriteria(body.criteria, foundModels);
      if (body.requireSignedModels && foundModels.some((m) => m.signingKeyId === null))
        throw new ApiError(
          400,
          'unsigned-model',
          'The campaign requires signed models and at least one of its models is not signed.',
        );
      const foundSites = await deps.db.select().from(sites).where(inArray(sites.id, siteIds));
      if (foundSites.length !== siteIds.length || !foundSites.every((s) => seesSite(p, s)))
        throw notFound('site');

      const now = deps.clock.now();
      const campaignId = newId('cmp');
      const binEdges = body.binEdges ?? equalWidthEdges(body.bins ?? 20);
      const subgroupAttributes = [...new Set(body.subgroupAttributes)];
      const assigned = modelIds.flatMap((modelId) =>
        siteIds.map((siteId) => ({ jobId: newId('job'), modelId, siteId })),
      );
      // One batch is one transaction: a campaign never exists without all of its jobs, nor without the audit
      // entry that records it. The jobs come last, so the entry's changes() check sees an inserted job row.
      await commitAudited(
        deps,
        () =>
          [
            deps.db.insert(campaigns).values({
              id: campaignId,
              name: body.name,
              binEdges,
              minCell: body.minCell,
              requireSignedModels: body.requireSignedModels,
              subgroupAttributes,
              ...(criteria
                ? { criteria: criteria.criteria, criteriaSha256: criteria.sha256, criteriaAttachedAt: now }
                : {}),
              createdAt: now,
            }),
            deps.db.insert(campaignModels).values(modelIds.map((modelId) => ({ campaignId, modelId }))),
            ...chunks(assigned, 500).map((part) =>
              deps.db.insert(jobs).values(
                part.map((j) => ({
                  id: j.jobId,
                  campaignId,
                  modelId: j.modelId,
                  siteId: j.siteId,
                  status: 'pending' as const,
                  createdAt: now,
                })),
              ),
            ),
          ] as const,
        {
          actor: actorOf(p),
          action: 'campaign.created',
          target: campaignId,
          detail: {
            modelIds,
            siteIds,
            minCell: body.minCell,
            requireSignedModels: body.requireSignedModels,
            jobs: assigned.length,
            // Hashes, not the values: enough for `cairn audit verify` to tell a parameter changed later.
            binEdgesSha256: parameterSha256(binEdges),
            subgroupAttributesSha256: parameterSha256(subgroupAttributes),
            // Pre-registered: the criteria's hash is in the chain before any report can arrive.
            criteriaSha256: criteria?.sha256 ?? null,
          },
        },
      );
      return c.json(
        { campaignId, jobs: assigned, ...(criteria ? { criteriaSha256: criteria.sha256 } : {}) },
        201,
      );
    })
    .get('/campaigns', guard('admin', 'coordinator', 'vendor'), async (c) => {
      const p = c.get('principal');
      const rows = await deps.db.select().from(campaigns).orderBy(desc(campaigns.createdAt), campaigns.id);
      const out = [];
      for (const row of rows) {
        const view = await campaignView(deps, p, row);
        if (!view) continue;
        const { jobs: visibleJobs, ...summary } = view;
        out.push({
          ...summary,
          jobCount: visibleJobs.length,
          doneCount: visibleJobs.filter((j) => j.status === 'done').length,
          failedCount: visibleJobs.filter((j) => j.status === 'failed').length,
        });
      }
      return c.json({ campaigns: out });
    })
    .get(
      '/campaigns/:id',
      guard('admin', 'coordinator', 'vendor'),
      validate('param', z.object({ id: Id })),
      async (c) => {
        const view = await visibleCampaign(deps, c.get('principal'), c.req.valid('param').id);
        return c.json(view);
      },
    )
    .get(
      '/campaigns/:id/status',
      guard('admin', 'coordinator', 'vendor'),
      validate('param', z.object({ id: Id })),
      async (c) => {
        const view = await visibleCampaign(deps, c.get('principal'), c.req.valid('param').id);
        return c.json({ campaignId: view.campaignId, name: view.name, jobs: await jobStates(deps, view) });
      },
    )
    .post(
      '/campaigns/:id/criteria',
      guard('admin', 'coordinator'),
      validate('param', z.object({ id: Id })),
      validate('json', z.object({ criteria: z.unknown() }).strict()),
      async (c) => {
        const p = c.get('principal');
        const view = await visibleCampaign(deps, p, c.req.valid('param').id);
        // Criteria speak for every region of the campaign: only someone who sees all of it attaches them.
        const [all] = await deps.db
          .select({ n: count() })
          .from(jobs)
          .where(eq(jobs.campaignId, view.campaignId));
        if ((all?.n ?? 0) !== view.jobs.length)
          throw forbidden('Only a coordinator of every region of the campaign can attach its criteria.');
        const versions = await deps.db
          .select({ name: models.name, version: models.version })
          .from(campaignModels)
          .innerJoin(models, eq(models.id, campaignModels.modelId))
          .where(eq(campaignModels.campaignId, view.campaignId));
        const body = c.req.valid('json').criteria;
        return c.json(await attachPostHoc(deps, p, view.campaignId, body, versions), 201);
      },
    )
    .post(
      '/campaigns/:id/rerun',
      guard('admin', 'coordinator'),
      validate('param', z.object({ id: Id })),
      validate('json', RerunJobs),
      async (c) => {
        const p = c.get('principal');
        const filter = c.req.valid('json');
        const view = await visibleCampaign(deps, p, c.req.valid('param').id);
        // Only failed jobs: a pending one waits anyway, and a reported one is reopened by voiding its report.
        const chosen = view.jobs.filter(
          (j) =>
            j.status === 'failed' &&
            (filter.siteId === undefined || j.siteId === filter.siteId) &&
            (filter.modelId === undefined || j.modelId === filter.modelId),
        );
        const ids = chosen.map((j) => j.jobId);
        if (ids.length)
          await commitAudited(
            deps,
            () =>
              [
                deps.db
                  .update(jobs)
                  .set({
                    status: 'pending',
                    attempt: sql`${jobs.attempt} + 1`,
                    failure: null,
                    failureCounts: null,
                    statusAt: null,
                  })
                  .where(and(inArray(jobs.id, ids), eq(jobs.status, 'failed'))),
              ] as const,
            {
              actor: actorOf(p),
              action: 'campaign.rerun',
              target: view.campaignId,
              detail: {
                jobIds: ids,
                ...(filter.siteId ? { siteId: filter.siteId } : {}),
                ...(filter.modelId ? { modelId: filter.modelId } : {}),
              },
            },
          );
        const after = ids.length
          ? await deps.db
              .select({ jobId: jobs.id, siteId: jobs.siteId, modelId: jobs.modelId, attempt: jobs.attempt })
              .from(jobs)
              .where(and(inArray(jobs.id, ids), eq(jobs.status, 'pending')))
              .orderBy(jobs.modelId, jobs.siteId)
          : [];
        return c.json({ campaignId: view.campaignId, rerun: after });
      },
    );
}

type CampaignView = NonNullable<Awaited<ReturnType<typeof campaignView>>>;

/** The campaign as `p` may see it, or a 404 that names nothing. */
async function visibleCampaign(deps: CloudDeps, p: Principal, id: string): Promise<CampaignView> {
  const row = await deps.db.query.campaigns.findFirst({ where: eq(campaigns.id, id) });
  const view = row ? await campaignView(deps, p, row) : null;
  if (!view) throw notFound('campaign');
  return view;
}

/**
 * Each visible job's state as a coordinator reads it: what the site's agent last said (running, held for the
 * site's review, failed with a code and counts) or, once reported, whether its report was released or
 * withheld by the privacy gate (a class below the minimum cell size).
 */
async function jobStates(deps: CloudDeps, view: CampaignView) {
  const ids = view.jobs.map((j) => j.jobId);
  const details = ids.length
    ? await deps.db
        .select({
          jobId: jobs.id,
          attempt: jobs.attempt,
          failure: jobs.failure,
          failureCounts: jobs.failureCounts,
          statusAt: jobs.statusAt,
          name: models.name,
          version: models.version,
        })
        .from(jobs)
        .innerJoin(models, eq(models.id, jobs.modelId))
        .where(inArray(jobs.id, ids))
    : [];
  const stored = ids.length
    ? await deps.db
        .select({
          jobId: reports.jobId,
          withheld: sql<string | null>`json_extract(${reports.report}, '$.withheld.reason')`,
        })
        .from(reports)
        .where(and(inArray(reports.jobId, ids), isNull(reports.voidedAt)))
    : [];
  const byJob = new Map(details.map((d) => [d.jobId, d]));
  const reportOf = new Map(stored.map((r) => [r.jobId, r]));
  return view.jobs.map((j) => {
    const d = byJob.get(j.jobId);
    const report = reportOf.get(j.jobId);
    const state = j.status === 'done' ? (report?.withheld ? 'withheld' : 'reported') : (j.status as string);
    return {
      jobId: j.jobId,
      siteId: j.siteId,
      regionId: j.regionId,
      modelId: j.modelId,
      model: d ? `${d.name} ${d.version}` : j.modelId,
      state,
      attempt: d?.attempt ?? 1,
      ...(d?.failure ? { failure: d.failure } : {}),
      ...(report?.withheld ? { withheld: report.withheld } : {}),
      ...(d?.failureCounts ? { failureCounts: d.failureCounts } : {}),
      ...(d?.statusAt ? { statusAt: d.statusAt.toISOString() } : {}),
    };
  });
}

/**
 * A campaign as one principal may see it: a vendor sees only its own models' jobs, a regional coordinator only
 * its regions' sites. Null when nothing of the campaign is visible (the caller answers 404).
 */
async function campaignView(deps: CloudDeps, p: Principal, row: typeof campaigns.$inferSelect) {
  const all = await deps.db
    .select({
      jobId: jobs.id,
      modelId: jobs.modelId,
      siteId: jobs.siteId,
      regionId: sites.regionId,
      vendorId: models.vendorId,
      status: jobs.status,
    })
    .from(jobs)
    .innerJoin(sites, eq(sites.id, jobs.siteId))
    .innerJoin(models, eq(models.id, jobs.modelId))
    .where(eq(jobs.campaignId, row.id))
    .orderBy(jobs.modelId, jobs.siteId);
  const visible = all.filter(
    (j) =>
      (p.role !== 'vendor' || j.vendorId === p.vendorId) &&
      (p.role !== 'coordinator' || seesSite(p, { id: j.siteId, regionId: j.regionId })),
  );
  if (p.role !== 'admin' && visible.length === 0) return null;
  return {
    campaignId: row.id,
    name: row.name,
    binEdges: row.binEdges,
    minCell: row.minCell,
    requireSignedModels: row.requireSignedModels,
    subgroupAttributes: row.subgroupAttributes,
    criteria: criteriaView(row),
    createdAt: row.createdAt.toISOString(),
    modelIds: [...new Set(visible.map((j) => j.modelId))],
    jobs: visible.map(({ vendorId: _vendorId, ...j }) => j),
  };
}
