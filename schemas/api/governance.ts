import { z } from 'zod';
import { RolloutEventView, RolloutView } from '../rollout.ts';

/** POST /v1/campaigns/:id/criteria: criteria attached after the campaign started, marked post hoc for good. */
export const AttachedCriteriaAnswer = z.looseObject({
  campaignId: z.string(),
  criteriaSha256: z.string(),
  postHoc: z.literal(true),
});

/** One rollout with every event it has had (a decision's answer, and each entry of a model's rollouts). */
export const RolloutShown = z.looseObject({ rollout: RolloutView, events: z.array(RolloutEventView) });

/** GET /v1/models/:id/rollouts: the model version's rollout in each region the caller sees. */
export const ModelRollouts = z.looseObject({ rollouts: z.array(RolloutShown) });
