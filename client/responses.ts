import type { z } from 'zod';
import {
  CampaignComparison,
  CampaignDetail,
  CampaignJobStates,
  CampaignList,
  CampaignRerun,
  CreatedCampaign,
} from '../schemas/api/campaigns.ts';
import { Enrollment, EnrollmentToken } from '../schemas/api/enrollment.ts';
import { AttachedCriteriaAnswer } from '../schemas/api/governance.ts';
import { JobList, JobStatusAnswer } from '../schemas/api/jobs.ts';
import { RevokedSiteKey, SiteKeyList, VendorKey, VendorKeyList } from '../schemas/api/keys.ts';
import { DirectUpload, ListedModel, ModelList, SubmittedModel } from '../schemas/api/models.ts';
import { Health, Region, RegionList, Site, SiteList, Vendor, VendorList } from '../schemas/api/network.ts';
import {
  QueuedReport,
  RefusalList,
  ReportReceipt,
  ReportState,
  VoidedReport,
} from '../schemas/api/reports.ts';
import { IssuedToken, RevokedToken, TokenList } from '../schemas/api/tokens.ts';
import { EvaluationReport } from '../schemas/evaluation-report.ts';
import { KeyRotationResponse } from '../schemas/key-rotation.ts';
import { RolloutHistoryList, RolloutList, RolloutWithEvents } from '../schemas/rollout.ts';

/**
 * The response schema of every JSON route of the cloud API (/v1), by method and path (`:name` is one path
 * segment). The client parses each answer with its route's schema. A more specific path comes before a
 * shorter one that would also match it at the type level (`${string}` there may span segments).
 */
const route = <const M extends string, const P extends string, S extends z.ZodType>(
  method: M,
  path: P,
  schema: S,
) => ({
  method,
  path,
  schema,
});

const RESPONSES = [
  route('GET', '/v1/health', Health),
  route('POST', '/v1/regions', Region),
  route('GET', '/v1/regions', RegionList),
  route('POST', '/v1/sites/:id/enrollment-tokens', EnrollmentToken),
  route('POST', '/v1/sites/:id/keys/rotate', KeyRotationResponse),
  route('POST', '/v1/sites/:id/keys/:keyId/revoke', RevokedSiteKey),
  route('GET', '/v1/sites/:id/keys', SiteKeyList),
  route('POST', '/v1/sites', Site),
  route('GET', '/v1/sites', SiteList),
  route('POST', '/v1/enroll', Enrollment),
  route('POST', '/v1/vendors/:id/keys/:keyId/revoke', VendorKey),
  route('POST', '/v1/vendors/:id/keys', VendorKey),
  route('GET', '/v1/vendors/:id/keys', VendorKeyList),
  route('POST', '/v1/vendors', Vendor),
  route('GET', '/v1/vendors', VendorList),
  route('POST', '/v1/tokens/:id/revoke', RevokedToken),
  route('POST', '/v1/tokens', IssuedToken),
  route('GET', '/v1/tokens', TokenList),
  route('POST', '/v1/models/uploads/:id/complete', SubmittedModel),
  route('POST', '/v1/models/uploads', DirectUpload),
  route('POST', '/v1/models', SubmittedModel),
  route('GET', '/v1/models/:id/evaluation-report', EvaluationReport),
  route('GET', '/v1/models/:id/rollouts', RolloutHistoryList),
  route('GET', '/v1/models/:id', ListedModel),
  route('GET', '/v1/models', ModelList),
  route('POST', '/v1/campaigns/:id/rerun', CampaignRerun),
  route('POST', '/v1/campaigns/:id/criteria', AttachedCriteriaAnswer),
  route('GET', '/v1/campaigns/:id/comparison', CampaignComparison),
  route('GET', '/v1/campaigns/:id/status', CampaignJobStates),
  route('GET', '/v1/campaigns/:id', CampaignDetail),
  route('POST', '/v1/campaigns', CreatedCampaign),
  route('GET', '/v1/campaigns', CampaignList),
  route('POST', '/v1/jobs/:id/status', JobStatusAnswer),
  route('GET', '/v1/jobs', JobList),
  route('GET', '/v1/reports/:id/receipt', ReportReceipt),
  route('POST', '/v1/reports/:id/void', VoidedReport),
  route('GET', '/v1/reports/:id', ReportState),
  route('POST', '/v1/reports', QueuedReport),
  route('GET', '/v1/report-refusals', RefusalList),
  route('GET', '/v1/rollouts', RolloutList),
  route('POST', '/v1/rollouts/:modelId/:regionId/:action', RolloutWithEvents),
] as const;

type Routes = typeof RESPONSES;

/** A route's path as the type of the paths that reach it: each `:name` segment is any string. */
type PathOf<S extends string> = S extends `${infer A}:${string}/${infer B}`
  ? `${A}${string}/${PathOf<B>}`
  : S extends `${infer A}:${string}`
    ? `${A}${string}`
    : S;

type Match<
  R extends readonly { method: string; path: string; schema: z.ZodType }[],
  M,
  P,
> = R extends readonly [infer First extends Routes[number], ...infer Rest extends readonly Routes[number][]]
  ? M extends First['method']
    ? P extends PathOf<First['path']> | `${PathOf<First['path']>}?${string}`
      ? z.infer<First['schema']>
      : Match<Rest, M, P>
    : Match<Rest, M, P>
  : unknown;

/** What a JSON route answers, parsed: known from the method and path where they are literal enough. */
export type ResponseOf<M extends string, P extends string> = Match<Routes, M, P>;

const compiled = RESPONSES.map((r) => ({
  ...r,
  pattern: new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`),
}));

/** The schema for a request; undefined for a route the API does not have (the cloud's 404 says so first). */
export function responseSchemaOf(method: string, url: URL): z.ZodType | undefined {
  return compiled.find((r) => r.method === method && r.pattern.test(url.pathname))?.schema;
}
