import { z } from 'zod';

/** Responses of /v1/reports and /v1/report-refusals. */

export const QueuedReport = z.looseObject({ reportId: z.string(), status: z.literal('queued') });

export const ReportReceipt = z.looseObject({ status: z.enum(['stored', 'queued', 'unknown']) });

export const ReportState = z.looseObject({ reportId: z.string(), status: z.string() });

export const VoidedReport = z.looseObject({
  reportId: z.string(),
  jobId: z.string(),
  siteId: z.string(),
  voidedAt: z.string(),
  reason: z.string(),
  jobReopened: z.boolean(),
});

export const RefusalCount = z.looseObject({
  day: z.string(),
  siteId: z.string(),
  stage: z.string(),
  code: z.string(),
  count: z.number(),
  lastAt: z.string(),
});
export const RefusalList = z.looseObject({ refusals: z.array(RefusalCount) });
