import { and, eq, inArray, lte } from 'drizzle-orm';
import type { RolloutVerdict } from '../../schemas/rollout.ts';
import { compareSemver } from '../../schemas/semver-order.ts';
import type { AuditDeps } from '../audit/append.ts';
import { models, rollouts } from '../db/schema.ts';
import { findRollout, type RolloutKey, type RolloutRow, recordRolloutEvent } from './store.ts';
import { transition } from './transitions.ts';

/** The system's own moves: a verdict, an approval running out, a newer version deployed. */

export type RolloutDeps = AuditDeps & { approvalMonths?: number };

export const DEFAULT_APPROVAL_MONTHS = 12;

/** CAIRN_APPROVAL_MONTHS, for the cloud's deps: a whole number of months (1–120), or the default when unset. */
export function approvalMonthsFromEnv(env: NodeJS.ProcessEnv): { approvalMonths?: number } {
  const raw = env.CAIRN_APPROVAL_MONTHS;
  if (raw === undefined || raw === '') return {};
  const months = Number(raw);
  if (!Number.isInteger(months) || months < 1 || months > 120)
    throw new Error('CAIRN_APPROVAL_MONTHS must be a whole number of months from 1 to 120');
  return { approvalMonths: months };
}

/** When an approval given at `at` falls due for review: the same day and time, `months` calendar months on. */
export function reviewDueAfter(at: Date, months: number): Date {
  const due = new Date(at);
  due.setUTCMonth(due.getUTCMonth() + months);
  return due;
}

export interface VerdictOutcome {
  state: RolloutRow['state'];
  /** Whether an event was recorded; when not, `code` says why. */
  changed: boolean;
  code?: string;
}

/**
 * Sets a rollout from the verdict on a comparison: pass recommends, fail does not; an inconclusive verdict
 * decides nothing and leaves the rollout as it is. Once people have approved the version the verdict no
 * longer moves it (a refusal code says so). The same verdict on the same evidence again is no new event.
 */
export async function applyVerdict(
  deps: RolloutDeps,
  v: RolloutKey & { verdict: RolloutVerdict; evidenceSha256: string; criteriaSha256?: string | null },
): Promise<VerdictOutcome> {
  const key = { modelId: v.modelId, regionId: v.regionId };
  const current = await findRollout(deps, key);
  const state = current?.state ?? 'evaluating';
  if (v.verdict === 'inconclusive') return { state, changed: false, code: 'verdict-inconclusive' };
  const action = v.verdict === 'pass' ? 'recommend' : 'not-recommend';
  const step = transition(state, action);
  if (!step.ok) return { state, changed: false, code: step.code };
  if (current && step.to === state && current.evidenceSha256 === v.evidenceSha256)
    return { state, changed: false, code: 'same-evidence' };
  const row = await recordRolloutEvent(deps, key, current, {
    action,
    to: step.to,
    actor: 'system',
    personId: null,
    reason: `the verdict on the comparison is ${v.verdict}`,
    set: { verdict: v.verdict, evidenceSha256: v.evidenceSha256, criteriaSha256: v.criteriaSha256 ?? null },
  });
  return { state: row.state, changed: true };
}

/** Approvals whose period ran out fall due for review (now, by the injected clock); returns how many did. */
export async function expireApprovals(deps: RolloutDeps, where: { regionIds?: string[] } = {}) {
  const due = await deps.db
    .select()
    .from(rollouts)
    .where(
      and(
        inArray(rollouts.state, ['approved', 'deployed']),
        lte(rollouts.reviewDueAt, deps.clock.now()),
        where.regionIds ? inArray(rollouts.regionId, where.regionIds) : undefined,
      ),
    );
  for (const row of due)
    await recordRolloutEvent(deps, row, row, {
      action: 'expire',
      to: 'review-due',
      actor: 'system',
      personId: null,
      reason: 'the approval reached the end of its period',
    });
  return due.length;
}

/**
 * After a version is deployed in a region, the older versions of the same model (same vendor and name) still
 * in use or approved there are superseded.
 */
export async function supersedeOlderVersions(deps: RolloutDeps, deployed: RolloutKey): Promise<number> {
  const model = await deps.db.query.models.findFirst({ where: eq(models.id, deployed.modelId) });
  if (!model) return 0;
  const siblings = await deps.db
    .select({ rollout: rollouts, version: models.version })
    .from(rollouts)
    .innerJoin(models, eq(models.id, rollouts.modelId))
    .where(
      and(
        eq(rollouts.regionId, deployed.regionId),
        eq(models.vendorId, model.vendorId),
        eq(models.name, model.name),
      ),
    );
  let superseded = 0;
  for (const { rollout, version } of siblings) {
    if (compareSemver(version, model.version) >= 0) continue;
    if (!transition(rollout.state, 'supersede').ok) continue;
    await recordRolloutEvent(deps, rollout, rollout, {
      action: 'supersede',
      to: 'superseded',
      actor: 'system',
      personId: null,
      reason: `version ${model.version} was deployed in this region`,
    });
    superseded++;
  }
  return superseded;
}
