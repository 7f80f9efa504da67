import type { PersonAction, RolloutActionBody } from '../../schemas/rollout.ts';
import type { Principal } from '../api/env.ts';
import { seesRegion } from '../api/scope.ts';
import { actorOf } from '../audit/append.ts';
import { ApiError } from '../errors.ts';
import {
  DEFAULT_APPROVAL_MONTHS,
  expireApprovals,
  type RolloutDeps,
  reviewDueAfter,
  supersedeOlderVersions,
} from './lifecycle.ts';
import { type RolloutChange, type RolloutKey, type RolloutRow, recordRolloutEvent } from './store.ts';
import { type RolloutAction, transition } from './transitions.ts';
import { assertRolloutExists } from './views.ts';

/**
 * A person's decision on one rollout: who may take it, four eyes on approving and reinstating (two different
 * people, the second confirming), a concession to approve what did not pass, and the transition it makes.
 * Every refusal is an ApiError with its own code.
 */
export async function decideRollout(
  deps: RolloutDeps,
  p: Principal,
  key: RolloutKey,
  action: PersonAction,
  body: RolloutActionBody,
): Promise<RolloutRow> {
  if (p.role === 'vendor' || p.role === 'site')
    throw new ApiError(403, 'decision-not-allowed', 'Only coordinators and admins decide rollouts.');
  if (!seesRegion(p, key.regionId)) throw new ApiError(404, 'rollout-not-found', 'No such rollout here.');
  await expireApprovals(deps, { regionIds: [key.regionId] });
  const current = await assertRolloutExists(deps, key);
  if (body.evidenceSha256 && body.evidenceSha256 !== (current?.evidenceSha256 ?? null))
    throw new ApiError(
      409,
      'evidence-changed',
      'The rollout was decided on other evidence since you looked.',
    );
  const change = changeFor(deps, p, current, action, body);
  const row = await recordRolloutEvent(deps, key, current, change);
  if (change.action === 'deploy' || change.action === 'confirm-reinstatement')
    await supersedeOlderVersions(deps, key);
  return row;
}

const needsPerson = (action: PersonAction) =>
  action === 'approve' || action === 'confirm' || action === 'reinstate';

function changeFor(
  deps: RolloutDeps,
  p: Principal,
  current: RolloutRow | undefined,
  action: PersonAction,
  body: RolloutActionBody,
): RolloutChange {
  if (needsPerson(action) && !p.personId)
    throw new ApiError(
      403,
      'token-without-person',
      'Approving takes a token issued to a named person (`cairn token create --person ID`).',
    );
  const state = current?.state ?? 'evaluating';
  const who = { actor: actorOf(p), personId: p.personId, reason: body.reason };
  if (action === 'confirm') return confirmation(deps, p, current, who);
  const step = legal(state, action);
  if (action === 'approve' || action === 'reinstate') {
    if (current?.pendingAction)
      throw new ApiError(
        409,
        current.pendingPersonId === p.personId ? 'already-proposed' : 'proposal-pending',
        'A proposal on this rollout already waits for its confirmation.',
      );
    const concession = action === 'approve' ? concessionFor(current, body) : null;
    return {
      ...who,
      action,
      to: state,
      concession,
      set: {
        pendingAction: action,
        pendingPersonId: p.personId,
        pendingAt: deps.clock.now(),
        pendingConcession: concession,
      },
    };
  }
  return { ...who, action, to: step };
}

function legal(state: RolloutRow['state'], action: RolloutAction) {
  const step = transition(state, action);
  if (!step.ok) throw new ApiError(409, step.code, step.reason);
  return step.to;
}

/** Approving what did not pass takes a justification, which then shows with the approval. */
function concessionFor(current: RolloutRow | undefined, body: RolloutActionBody): string | null {
  if (current?.verdict === 'pass') return body.concession ?? null;
  if (!body.concession)
    throw new ApiError(
      409,
      'concession-required',
      `The verdict is ${current?.verdict ?? 'missing'}, not pass: approving it needs a concession with its justification.`,
    );
  return body.concession;
}

/** The second person: confirms the proposal waiting, never their own. */
function confirmation(
  deps: RolloutDeps,
  p: Principal,
  current: RolloutRow | undefined,
  who: Pick<RolloutChange, 'actor' | 'personId' | 'reason'>,
): RolloutChange {
  if (!current?.pendingAction)
    throw new ApiError(409, 'nothing-to-confirm', 'No approval or reinstatement waits for a confirmation.');
  if (current.pendingPersonId === p.personId)
    throw new ApiError(
      409,
      'same-person',
      'The person who proposed it cannot confirm it: four eyes need a second person.',
    );
  if (current.pendingAction === 'reinstate') {
    const to = legal(current.state, 'confirm-reinstatement');
    return { ...who, action: 'confirm-reinstatement', to };
  }
  const to = legal(current.state, 'confirm-approval');
  const now = deps.clock.now();
  return {
    ...who,
    action: 'confirm-approval',
    to,
    concession: current.pendingConcession,
    set: {
      concession: current.pendingConcession,
      approvedAt: now,
      reviewDueAt: reviewDueAfter(now, deps.approvalMonths ?? DEFAULT_APPROVAL_MONTHS),
    },
  };
}
