import { z } from 'zod';

/**
 * Responses of /v1/jobs. The jobs themselves stay unknown here: the agent checks each against schemas/job.ts
 * on its own, so one job it cannot read is skipped and counted rather than failing the whole pull.
 */

export const JobList = z.looseObject({ jobs: z.array(z.unknown()) });

export const JobStatusAnswer = z.looseObject({ jobId: z.string(), status: z.string(), attempt: z.number() });
