import { createHash } from 'node:crypto';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Comparison } from '../../schemas/comparison.ts';
import type { Envelope } from '../../schemas/envelope.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import type { Principal } from '../api/env.ts';
import { seesModel, seesRegion } from '../api/scope.ts';
import { attachedCriteria } from '../criteria/attach.ts';
import { campaignModels, campaigns, models, reports } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError, notFound } from '../errors.ts';
import { showRollout } from '../rollouts/views.ts';
import type { ReportEvidence } from './assemble.ts';

export interface EvidenceRequest {
  modelId: string;
  campaignId?: string;
  region?: string;
  /** The campaign's comparison exactly as the API serves it to this caller (same numbers, same scope). */
  comparison(campaignId: string): Promise<Comparison>;
}

/** Everything the evaluation report of one model version uses, read as the principal may see it. */
export async function readEvidence(
  deps: CloudDeps,
  p: Principal,
  q: EvidenceRequest,
): Promise<ReportEvidence> {
  const model = await deps.db.query.models.findFirst({ where: eq(models.id, q.modelId) });
  if (!model || !(await seesModel(deps.db, p, model)) || p.role === 'site') throw notFound('model');
  if (q.region && p.role !== 'vendor' && !seesRegion(p, q.region)) throw notFound('region');
  const campaign = await campaignOf(deps, q);
  const comparison = await q.comparison(campaign.id);
  const entry = comparison.models.find((m) => m.modelId === model.id);
  if (!entry) throw notFound('model');
  if (q.region && !entry.sites.some((s) => s.region === q.region))
    throw new ApiError(404, 'region-not-evaluated', 'No site of that region evaluated this model version.');
  const reportIds = entry.sites.flatMap((s) => (s.reportId ? [s.reportId] : []));
  const regions = [...new Set(entry.sites.map((s) => s.region))].sort();
  return {
    model: {
      id: model.id,
      vendor: model.vendorId,
      name: model.name,
      version: model.version,
      sha256: model.sha256,
      manifest: model.manifest as ModelManifest,
    },
    campaign: {
      id: campaign.id,
      name: campaign.name,
      createdAt: campaign.createdAt,
      binEdges: campaign.binEdges,
      minCell: campaign.minCell,
      subgroupAttributes: campaign.subgroupAttributes,
      criteria: attachedCriteria(campaign),
    },
    comparison,
    reports: await storedReports(deps, reportIds),
    governance: await governanceOf(deps, p, model.id, q.region ? [q.region] : regions),
    region: q.region ?? null,
  };
}

/** The campaign asked for, or the newest one the model version is in. */
async function campaignOf(deps: CloudDeps, q: EvidenceRequest) {
  const [row] = await deps.db
    .select({ campaign: campaigns })
    .from(campaignModels)
    .innerJoin(campaigns, eq(campaigns.id, campaignModels.campaignId))
    .where(
      and(eq(campaignModels.modelId, q.modelId), q.campaignId ? eq(campaigns.id, q.campaignId) : undefined),
    )
    .orderBy(desc(campaigns.createdAt), desc(campaigns.id))
    .limit(1);
  if (!row) throw notFound('campaign');
  return row.campaign;
}

async function storedReports(deps: CloudDeps, ids: string[]): Promise<ReportEvidence['reports']> {
  const out: ReportEvidence['reports'] = new Map();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await deps.db
      .select({
        id: reports.reportId,
        // As stored text: a row the comparison listed as invalid may not be JSON at all.
        report: sql<unknown>`${reports.report}`,
        envelope: reports.envelope,
        at: reports.receivedAt,
      })
      .from(reports)
      .where(inArray(reports.reportId, ids.slice(i, i + 500)));
    for (const r of rows) {
      const report = parseOrNull(r.report);
      if (!report) continue;
      const payload = Buffer.from((r.envelope as Envelope).payload, 'base64');
      out.set(r.id, {
        report,
        receivedAt: r.at,
        payloadSha256: createHash('sha256').update(payload).digest('hex'),
      });
    }
  }
  return out;
}

/** Every rollout decision on the model version in the regions of the report, oldest first. */
async function governanceOf(deps: CloudDeps, p: Principal, modelId: string, regions: string[]) {
  const out: ReportEvidence['governance'] = [];
  for (const regionId of regions) {
    try {
      const { rollout, events } = await showRollout(deps, p, { modelId, regionId });
      out.push({ region: regionId, state: rollout.state, events });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }
  return out;
}

/** The stored report column: JSON text, or already decoded by the driver. */
function parseOrNull(value: unknown): SiteReport | null {
  if (typeof value !== 'string') return typeof value === 'object' ? (value as SiteReport | null) : null;
  try {
    return JSON.parse(value) as SiteReport;
  } catch {
    return null;
  }
}
