import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import type { RolloutEventView, RolloutView } from '../../schemas/rollout.ts';
import type { Principal } from '../api/env.ts';
import type { AuditDeps } from '../audit/append.ts';
import { jobs, models, rolloutEvents, rollouts, sites } from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import { findRollout, type RolloutKey, type RolloutRow } from './store.ts';

/**
 * Which rollouts exist and who sees them. A rollout exists for every model version evaluated at a site of a
 * region (a job there), evaluating until its first event. Admins see all; coordinators their regions; vendors
 * their own models; a site its own region's rollouts of the models it has jobs for.
 */

const iso = (d: Date | null) => d?.toISOString() ?? null;

function scopeOf(p: Principal): SQL | undefined {
  if (p.role === 'admin') return undefined;
  if (p.role === 'coordinator') return p.regionIds ? inArray(sites.regionId, p.regionIds) : undefined;
  if (p.role === 'vendor') return eq(models.vendorId, p.vendorId ?? '');
  return eq(jobs.siteId, p.siteId ?? '');
}

/** Rollouts the principal sees, optionally of one model and/or region, with their current state. */
export async function listRollouts(
  deps: AuditDeps,
  p: Principal,
  filter: Partial<RolloutKey> = {},
): Promise<RolloutView[]> {
  const pairs = await deps.db
    .selectDistinct({ modelId: jobs.modelId, regionId: sites.regionId })
    .from(jobs)
    .innerJoin(sites, eq(sites.id, jobs.siteId))
    .innerJoin(models, eq(models.id, jobs.modelId))
    .where(
      and(
        scopeOf(p),
        filter.modelId ? eq(jobs.modelId, filter.modelId) : undefined,
        filter.regionId ? eq(sites.regionId, filter.regionId) : undefined,
      ),
    )
    .orderBy(asc(sites.regionId), asc(jobs.modelId));
  if (pairs.length === 0) return [];
  const modelIds = [...new Set(pairs.map((x) => x.modelId))];
  const modelRows = await deps.db.select().from(models).where(inArray(models.id, modelIds));
  const stored = await deps.db.select().from(rollouts).where(inArray(rollouts.modelId, modelIds));
  return pairs.map((pair) => {
    const model = modelRows.find((m) => m.id === pair.modelId);
    const row = stored.find((r) => r.modelId === pair.modelId && r.regionId === pair.regionId);
    return viewOf(pair, model as typeof models.$inferSelect, row);
  });
}

function viewOf(
  key: RolloutKey,
  model: typeof models.$inferSelect,
  row: RolloutRow | undefined,
): RolloutView {
  return {
    modelId: key.modelId,
    regionId: key.regionId,
    vendor: model.vendorId,
    name: model.name,
    version: model.version,
    modelSha256: model.sha256,
    state: row?.state ?? 'evaluating',
    verdict: row?.verdict ?? null,
    evidenceSha256: row?.evidenceSha256 ?? null,
    concession: row?.concession ?? null,
    approvedAt: iso(row?.approvedAt ?? null),
    reviewDueAt: iso(row?.reviewDueAt ?? null),
    pending:
      row?.pendingAction && row.pendingPersonId && row.pendingAt
        ? {
            action: row.pendingAction,
            personId: row.pendingPersonId,
            at: row.pendingAt.toISOString(),
            concession: row.pendingConcession,
          }
        : null,
    events: row?.events ?? 0,
    changedAt: iso(row?.changedAt ?? null),
  };
}

/** One rollout the principal sees, with every event it has had, oldest first. */
export async function showRollout(
  deps: AuditDeps,
  p: Principal,
  key: RolloutKey,
): Promise<{ rollout: RolloutView; events: RolloutEventView[] }> {
  const [rollout] = await listRollouts(deps, p, key);
  if (!rollout) throw new ApiError(404, 'rollout-not-found', 'No such rollout is visible to this token.');
  const events = await deps.db
    .select()
    .from(rolloutEvents)
    .where(and(eq(rolloutEvents.modelId, key.modelId), eq(rolloutEvents.regionId, key.regionId)))
    .orderBy(asc(rolloutEvents.seq));
  return {
    rollout,
    events: events.map((e) => ({
      seq: e.seq,
      action: e.action,
      from: e.fromState,
      to: e.toState,
      at: e.at.toISOString(),
      actor: e.actor,
      personId: e.personId,
      reason: e.reason,
      concession: e.concession,
      evidenceSha256: e.evidenceSha256,
      modelSha256: e.modelSha256,
      threshold: e.threshold,
      criteriaSha256: e.criteriaSha256,
    })),
  };
}

/** The stored rollout of a model evaluated in the region (undefined while evaluating); 404 for any other pair. */
export async function assertRolloutExists(deps: AuditDeps, key: RolloutKey) {
  const [evaluated] = await deps.db
    .select({ id: jobs.id })
    .from(jobs)
    .innerJoin(sites, eq(sites.id, jobs.siteId))
    .where(and(eq(jobs.modelId, key.modelId), eq(sites.regionId, key.regionId)))
    .limit(1);
  if (!evaluated)
    throw new ApiError(404, 'rollout-not-found', 'That model version is not evaluated in that region.');
  return findRollout(deps, key);
}
