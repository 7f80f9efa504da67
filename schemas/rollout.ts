import { z } from 'zod';
import { Id, Sha256Hex, Slug } from './common.ts';

/**
 * The rollout of one model version in one region, as the cloud keeps it (functions/rollouts) and as agents
 * and the CLI read it: states, the actions people and the system take, and the closed shapes on the wire.
 */
export const ROLLOUT_STATES = [
  'evaluating',
  'recommended',
  'not-recommended',
  'approved',
  'deployed',
  'suspended',
  'withdrawn',
  'superseded',
  'review-due',
] as const;
export const RolloutState = z.enum(ROLLOUT_STATES);
export type RolloutState = z.infer<typeof RolloutState>;

/** What a person asks for through /v1/rollouts/:model/:region/:action. */
export const PERSON_ACTIONS = ['approve', 'confirm', 'deploy', 'suspend', 'reinstate', 'withdraw'] as const;
export const PersonAction = z.enum(PERSON_ACTIONS);
export type PersonAction = z.infer<typeof PersonAction>;

/** The combined verdict of a comparison's criteria for one region, as a rollout takes it. */
export const ROLLOUT_VERDICTS = ['pass', 'fail', 'inconclusive'] as const;
export const RolloutVerdict = z.enum(ROLLOUT_VERDICTS);
export type RolloutVerdict = z.infer<typeof RolloutVerdict>;

/** A person's action: the reason is mandatory; a concession justifies approving what did not pass. */
export const RolloutActionBody = z
  .object({
    reason: z.string().trim().min(1).max(2000),
    concession: z.string().trim().min(1).max(2000).optional(),
    /** When given, the action is refused if the rollout's evidence has changed since the caller looked. */
    evidenceSha256: Sha256Hex.optional(),
  })
  .strict();
export type RolloutActionBody = z.infer<typeof RolloutActionBody>;

/** A proposal waiting for a second person (approval or reinstatement). */
export const PendingProposal = z
  .object({
    action: z.enum(['approve', 'reinstate']),
    personId: Slug,
    at: z.iso.datetime(),
    concession: z.string().nullable(),
  })
  .strict();

export const RolloutView = z
  .object({
    modelId: Id,
    regionId: Slug,
    vendor: z.string(),
    name: z.string(),
    version: z.string(),
    modelSha256: Sha256Hex,
    state: RolloutState,
    verdict: RolloutVerdict.nullable(),
    evidenceSha256: Sha256Hex.nullable(),
    /** The justification of the approval in force when it was given under concession. */
    concession: z.string().nullable(),
    approvedAt: z.iso.datetime().nullable(),
    reviewDueAt: z.iso.datetime().nullable(),
    pending: PendingProposal.nullable(),
    /** How many events the rollout has had; 0 while it is evaluating with none. */
    events: z.number().int().min(0),
    changedAt: z.iso.datetime().nullable(),
  })
  .strict();
export type RolloutView = z.infer<typeof RolloutView>;

export const RolloutList = z.object({ rollouts: z.array(RolloutView) }).strict();
export type RolloutList = z.infer<typeof RolloutList>;

export const RolloutEventView = z
  .object({
    seq: z.number().int().min(1),
    action: z.string(),
    from: RolloutState,
    to: RolloutState,
    at: z.iso.datetime(),
    actor: z.string(),
    personId: z.string().nullable(),
    reason: z.string(),
    concession: z.string().nullable(),
    evidenceSha256: Sha256Hex.nullable(),
    modelSha256: Sha256Hex,
    threshold: z.number(),
    criteriaSha256: Sha256Hex.nullable(),
  })
  .strict();
export type RolloutEventView = z.infer<typeof RolloutEventView>;

/** A rollout as an agent keeps it and tells the hospital of it: ids, version, sha256 and state only. */
export const NoticedRollout = RolloutView.pick({
  modelId: true,
  regionId: true,
  vendor: true,
  name: true,
  version: true,
  modelSha256: true,
  state: true,
  concession: true,
  changedAt: true,
}).strict();
export type NoticedRollout = z.infer<typeof NoticedRollout>;

/**
 * The signed notice an agent POSTs to the hospital's own webhook on each change of a rollout state in its
 * region (edge-agent/rollout-notices.ts); `noticeId` is stable per change, so a repeat can be told.
 */
export const RolloutNotice = z
  .object({
    schema: z.literal('cairn.rollout-notice/v1'),
    noticeId: z.string().min(1).max(200),
    siteId: Slug,
    rollout: NoticedRollout,
    from: RolloutState.nullable(),
    to: RolloutState,
  })
  .strict();
export type RolloutNotice = z.infer<typeof RolloutNotice>;
/** One rollout with every event on it, as `GET /v1/models/:id/rollouts` lists them and a decision answers. */
export const RolloutWithEvents = z
  .object({ rollout: RolloutView, events: z.array(RolloutEventView) })
  .strict();
export const RolloutHistoryList = z.object({ rollouts: z.array(RolloutWithEvents) }).strict();
