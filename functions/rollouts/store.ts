import { and, eq } from 'drizzle-orm';
import type { RolloutState } from '../../schemas/rollout.ts';
import { type AuditDeps, commitAudited } from '../audit/append.ts';
import { sha256Hex } from '../audit/hashes.ts';
import { models, rolloutEvents, rollouts } from '../db/schema.ts';
import { ApiError, notFound } from '../errors.ts';
import { newId } from '../secrets.ts';
import type { RolloutAction } from './transitions.ts';

export interface RolloutKey {
  modelId: string;
  regionId: string;
}

export type RolloutRow = typeof rollouts.$inferSelect;

/** The columns an event may set on the rollout besides its state, count and time. */
export type RolloutColumns = Partial<
  Omit<RolloutRow, 'modelId' | 'regionId' | 'state' | 'events' | 'changedAt'>
>;

export interface RolloutChange {
  action: RolloutAction;
  to: RolloutState;
  /** `token:<id>` or `system`. */
  actor: string;
  personId: string | null;
  reason: string;
  concession?: string | null;
  set?: RolloutColumns;
}

/** The (model, region) rollout as stored; undefined while it has had no event (it is then evaluating). */
export async function findRollout(deps: AuditDeps, key: RolloutKey): Promise<RolloutRow | undefined> {
  return deps.db.query.rollouts.findFirst({
    where: and(eq(rollouts.modelId, key.modelId), eq(rollouts.regionId, key.regionId)),
  });
}

/** What a decision is bound to besides its evidence: the model's exact bytes and operating threshold. */
async function modelBinding(deps: AuditDeps, modelId: string) {
  const model = await deps.db.query.models.findFirst({ where: eq(models.id, modelId) });
  if (!model) throw notFound('model');
  return { modelSha256: model.sha256, threshold: (model.manifest as { threshold: number }).threshold };
}

const NO_PROPOSAL = {
  pendingAction: null,
  pendingPersonId: null,
  pendingAt: null,
  pendingConcession: null,
} as const;

/**
 * Appends one event and moves the rollout with it, in one transaction with its audit entry. The event takes
 * the next number of this rollout; a decision that raced another one on the same rollout meets the unique
 * (model, region, seq) and is refused, nothing of it kept. A transition that is not a proposal clears any
 * proposal left waiting.
 */
export async function recordRolloutEvent(
  deps: AuditDeps,
  of: RolloutKey,
  current: RolloutRow | undefined,
  change: RolloutChange,
): Promise<RolloutRow> {
  const key = { modelId: of.modelId, regionId: of.regionId };
  const binding = await modelBinding(deps, key.modelId);
  const at = deps.clock.now();
  const seq = (current?.events ?? 0) + 1;
  const base: Omit<RolloutRow, 'modelId' | 'regionId'> = current ?? {
    state: 'evaluating',
    events: 0,
    verdict: null,
    evidenceSha256: null,
    criteriaSha256: null,
    concession: null,
    approvedAt: null,
    reviewDueAt: null,
    ...NO_PROPOSAL,
    changedAt: at,
  };
  const isProposal = change.action === 'approve' || change.action === 'reinstate';
  const row: RolloutRow = {
    ...base,
    ...(isProposal ? {} : NO_PROPOSAL),
    ...change.set,
    ...key,
    state: change.to,
    events: seq,
    changedAt: at,
  };
  const event = {
    id: newId('rev'),
    ...key,
    seq,
    action: change.action,
    fromState: current?.state ?? 'evaluating',
    toState: change.to,
    at,
    actor: change.actor,
    personId: change.personId,
    reason: change.reason,
    concession: change.concession ?? null,
    evidenceSha256: row.evidenceSha256,
    ...binding,
    criteriaSha256: row.criteriaSha256,
  };
  const { modelId: _m, regionId: _r, ...update } = row;
  try {
    await commitAudited(
      deps,
      () =>
        [
          deps.db.insert(rolloutEvents).values(event),
          deps.db
            .insert(rollouts)
            .values(row)
            .onConflictDoUpdate({ target: [rollouts.modelId, rollouts.regionId], set: update }),
        ] as const,
      { actor: change.actor, action: 'rollout.changed', target: event.id, detail: auditDetailOf(event) },
    );
  } catch (err) {
    if (raced(err))
      throw new ApiError(
        409,
        'rollout-changed',
        'The rollout changed meanwhile; look at it again and retry.',
      );
    throw err;
  }
  return row;
}

/** Another decision took this event number first. */
function raced(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (/UNIQUE constraint failed: rollout_events/.test(e.message)) return true;
  return false;
}

/** Ids, codes and hashes: a person's reason and concession go into the chain as their sha256 only. */
export function auditDetailOf(e: typeof rolloutEvents.$inferInsert) {
  return {
    modelId: e.modelId,
    regionId: e.regionId,
    seq: e.seq,
    action: e.action,
    from: e.fromState,
    to: e.toState,
    personId: e.personId ?? null,
    reasonSha256: sha256Hex(e.reason),
    concessionSha256: e.concession ? sha256Hex(e.concession) : null,
    evidenceSha256: e.evidenceSha256 ?? null,
    modelSha256: e.modelSha256,
    threshold: e.threshold,
    criteriaSha256: e.criteriaSha256 ?? null,
  };
}
