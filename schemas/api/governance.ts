import { z } from 'zod';

/** POST /v1/campaigns/:id/criteria: criteria attached after the campaign started, marked post hoc for good. */
export const AttachedCriteriaAnswer = z.looseObject({
  campaignId: z.string(),
  criteriaSha256: z.string(),
  postHoc: z.literal(true),
});
