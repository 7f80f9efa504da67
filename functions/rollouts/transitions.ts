import type { RolloutState } from '../../schemas/rollout.ts';

/**
 * The rollout state machine of one model version in one region, as a pure table. Actions are what a person
 * or the system does; `approve` and `reinstate` only propose (the state stays, a second person confirms), so
 * confirming is its own action per kind of proposal. Who may take an action, and four eyes, are checked by
 * ./decide.ts; this table only says which moves exist.
 */
export const ROLLOUT_ACTIONS = [
  /** System: the verdict on the comparison passed. */
  'recommend',
  /** System: the verdict failed. */
  'not-recommend',
  'approve',
  'confirm-approval',
  'deploy',
  'suspend',
  'reinstate',
  'confirm-reinstatement',
  'withdraw',
  /** System: a newer version of the same model was deployed in the region. */
  'supersede',
  /** System: the approval reached the end of its period. */
  'expire',
] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

const decided = {
  recommend: 'recommended',
  'not-recommend': 'not-recommended',
  withdraw: 'withdrawn',
} as const;

const approvable = {
  ...decided,
  approve: 'approved',
  'confirm-approval': 'approved',
} as const;

/** Where each legal (state, action) pair leads; a proposal leads where its confirmation will. */
export const TRANSITIONS: Record<RolloutState, Partial<Record<RolloutAction, RolloutState>>> = {
  evaluating: { ...decided },
  recommended: { ...approvable },
  'not-recommended': { ...approvable },
  approved: {
    deploy: 'deployed',
    suspend: 'suspended',
    withdraw: 'withdrawn',
    supersede: 'superseded',
    expire: 'review-due',
  },
  deployed: { suspend: 'suspended', withdraw: 'withdrawn', supersede: 'superseded', expire: 'review-due' },
  suspended: {
    reinstate: 'deployed',
    'confirm-reinstatement': 'deployed',
    withdraw: 'withdrawn',
    supersede: 'superseded',
  },
  'review-due': {
    approve: 'approved',
    'confirm-approval': 'approved',
    suspend: 'suspended',
    withdraw: 'withdrawn',
    supersede: 'superseded',
  },
  superseded: { withdraw: 'withdrawn' },
  withdrawn: {},
};

/** Actions that only record a proposal: the state moves when a second person confirms it. */
export const PROPOSALS: Partial<Record<RolloutAction, RolloutAction>> = {
  approve: 'confirm-approval',
  reinstate: 'confirm-reinstatement',
};

export type TransitionResult =
  | { ok: true; to: RolloutState }
  | { ok: false; code: RolloutRefusalCode; reason: string };

export type RolloutRefusalCode =
  | 'rollout-withdrawn'
  | 'rollout-superseded'
  | 'no-verdict-yet'
  | 'already-decided'
  | 'not-approvable'
  | 'nothing-to-confirm'
  | 'not-approved'
  | 'not-in-use'
  | 'not-suspended'
  | 'no-approval-to-expire';

/** Why each action is refused when its state has no such move (a closed state first). */
const REFUSALS: Record<RolloutAction, RolloutRefusalCode> = {
  recommend: 'already-decided',
  'not-recommend': 'already-decided',
  approve: 'not-approvable',
  'confirm-approval': 'nothing-to-confirm',
  deploy: 'not-approved',
  suspend: 'not-in-use',
  reinstate: 'not-suspended',
  'confirm-reinstatement': 'nothing-to-confirm',
  withdraw: 'rollout-withdrawn',
  supersede: 'not-in-use',
  expire: 'no-approval-to-expire',
};

export function transition(from: RolloutState, action: RolloutAction): TransitionResult {
  const to = TRANSITIONS[from][action];
  if (to) return { ok: true, to };
  const code =
    from === 'withdrawn'
      ? 'rollout-withdrawn'
      : from === 'superseded'
        ? 'rollout-superseded'
        : from === 'evaluating' && (action === 'approve' || action === 'confirm-approval')
          ? 'no-verdict-yet'
          : REFUSALS[action];
  return { ok: false, code, reason: `A rollout that is ${from} cannot take "${action}".` };
}
