import { and, eq, isNull } from 'drizzle-orm';
import type { Criteria } from '../../schemas/criteria.ts';
import type { Principal } from '../api/env.ts';
import { actorOf, commitAudited } from '../audit/append.ts';
import { campaigns } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { checkCriteria, versusModels } from './check-criteria.ts';
import type { AttachedCriteria } from './verdict.ts';

/** The columns a campaign row keeps its criteria in. */
export interface CriteriaColumns {
  criteria: Criteria | null;
  criteriaSha256: string | null;
  criteriaPostHoc: boolean;
  criteriaAttachedAt: Date | null;
}

/**
 * Criteria sent to the API, checked: a 400 `invalid-criteria` naming the first problem, or
 * `criteria-unknown-model` when a non-inferiority rule names a version that is not in the campaign.
 */
export function acceptCriteria(
  raw: unknown,
  campaignModels: { name: string; version: string }[],
): { criteria: Criteria; sha256: string } {
  const check = checkCriteria(raw, { nameKeys: false });
  if (!check.ok)
    throw new ApiError(400, 'invalid-criteria', `Invalid criteria: ${check.problems[0]}.`, 'criteria');
  const known = new Set(campaignModels.map((m) => `${m.name}@${m.version}`));
  if (versusModels(check.criteria).some((v) => !known.has(v)))
    throw new ApiError(
      400,
      'criteria-unknown-model',
      'A non-inferiority rule compares against a model version that is not in the campaign.',
      'criteria',
    );
  return { criteria: check.criteria, sha256: check.sha256 };
}

/** A campaign row's criteria as the verdict engine takes them; null when it has none. */
export function attachedCriteria(row: CriteriaColumns): AttachedCriteria | null {
  if (!row.criteria || !row.criteriaSha256 || !row.criteriaAttachedAt) return null;
  return {
    criteria: row.criteria,
    sha256: row.criteriaSha256,
    postHoc: row.criteriaPostHoc,
    attachedAt: row.criteriaAttachedAt,
  };
}

/** How a campaign's criteria show in its API views (null when it has none). */
export function criteriaView(row: CriteriaColumns) {
  const a = attachedCriteria(row);
  if (!a) return null;
  return { sha256: a.sha256, postHoc: a.postHoc, attachedAt: a.attachedAt.toISOString(), ...a.criteria };
}

/**
 * Attaches criteria to a campaign that has none, after its creation: marked post hoc for good, recorded in the
 * audit chain in the same transaction. A campaign's criteria are frozen: one that has them is refused (409
 * `criteria-frozen`), decided by the database (the update matches only a row without criteria).
 */
export async function attachPostHoc(
  deps: CloudDeps,
  p: Principal,
  campaignId: string,
  raw: unknown,
  campaignModels: { name: string; version: string }[],
): Promise<{ campaignId: string; criteriaSha256: string; postHoc: true }> {
  const { criteria, sha256 } = acceptCriteria(raw, campaignModels);
  const now = deps.clock.now();
  const { audited } = await commitAudited(
    deps,
    () =>
      [
        deps.db
          .update(campaigns)
          .set({ criteria, criteriaSha256: sha256, criteriaPostHoc: true, criteriaAttachedAt: now })
          .where(and(eq(campaigns.id, campaignId), isNull(campaigns.criteriaSha256))),
      ] as const,
    {
      actor: actorOf(p),
      action: 'campaign.criteria-added',
      target: campaignId,
      detail: { criteriaSha256: sha256, postHoc: true },
    },
  );
  if (!audited)
    throw new ApiError(409, 'criteria-frozen', 'The campaign already has criteria; they cannot be changed.');
  return { campaignId, criteriaSha256: sha256, postHoc: true };
}
