import { z } from 'zod';

/** Responses of /v1/campaigns: creation, listing, one campaign, its job states, reruns and comparison. */

const AssignedJob = z.looseObject({ jobId: z.string(), modelId: z.string(), siteId: z.string() });

export const CreatedCampaign = z.looseObject({ campaignId: z.string(), jobs: z.array(AssignedJob) });

const CampaignFields = {
  campaignId: z.string(),
  name: z.string(),
  minCell: z.number(),
  createdAt: z.string(),
  modelIds: z.array(z.string()),
};

export const CampaignSummary = z.looseObject({
  ...CampaignFields,
  jobCount: z.number(),
  doneCount: z.number(),
  failedCount: z.number(),
});
export const CampaignList = z.looseObject({ campaigns: z.array(CampaignSummary) });

export const CampaignDetail = z.looseObject({
  ...CampaignFields,
  jobs: z.array(AssignedJob.extend({ status: z.string() })),
});

export const CampaignJobStates = z.looseObject({
  campaignId: z.string(),
  name: z.string(),
  jobs: z.array(AssignedJob.extend({ state: z.string(), model: z.string(), attempt: z.number() })),
});

export const CampaignRerun = z.looseObject({
  campaignId: z.string(),
  rerun: z.array(AssignedJob.extend({ attempt: z.number() })),
});

/** The comparison's full shape is schemas/comparison.ts; here only what makes it one. */
export const CampaignComparison = z.looseObject({ generatedAt: z.string(), models: z.array(z.unknown()) });
