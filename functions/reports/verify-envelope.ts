import { and, eq, sql } from 'drizzle-orm';
import { importRawPublicKey, verifyEd25519 } from '../../crypto/ed25519.ts';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import { Envelope, envelopeSigningInput } from '../../schemas/envelope.ts';
import { SiteReport } from '../../schemas/site-report.ts';
import type { Database } from '../db/database.ts';
import { preparedPerDatabase } from '../db/prepared.ts';
import { campaigns, jobs, models, siteKeys } from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import { checkReport } from './check-report.ts';

/**
 * The checks a site report goes through, one function each, shared by the API (which runs them in the order
 * the contract fixes) and by ingest (which re-runs the cheap ones before storing).
 */

export function parseEnvelope(json: unknown): Envelope {
  const parsed = Envelope.safeParse(json);
  if (!parsed.success)
    throw new ApiError(400, 'invalid-envelope', 'The body is not a cairn.envelope/v1 envelope.');
  return parsed.data;
}

const siteKeyOf = preparedPerDatabase((db) =>
  db.query.siteKeys
    .findFirst({
      where: and(
        eq(siteKeys.keyId, sql.placeholder('keyId')),
        eq(siteKeys.siteId, sql.placeholder('siteId')),
      ),
      columns: { publicKey: true, revokedAt: true, revokedReason: true },
    })
    .prepare(),
);

/**
 * The public key the envelope names, if it belongs to the envelope's site. A key a coordinator revoked is
 * refused everywhere ('revoked-key'); a key the site rotated away is refused at the API but, with
 * `acceptRotated`, still verifies at ingest the envelopes the API accepted while it was current.
 */
export async function findSiteKey(
  db: Database,
  envelope: Envelope,
  opts: { acceptRotated?: boolean } = {},
): Promise<string> {
  const row = await siteKeyOf(db).execute({ keyId: envelope.keyId, siteId: envelope.siteId });
  if (!row)
    throw new ApiError(401, 'unknown-key', 'The envelope is signed with a key this site does not hold.');
  if (row.revokedAt && !(opts.acceptRotated && row.revokedReason === 'rotated'))
    throw new ApiError(401, 'revoked-key', 'The envelope is signed with a key that has been revoked.');
  return row.publicKey;
}

export function verifyEnvelopeSignature(envelope: Envelope, publicKeyBase64: string): void {
  const key = importRawPublicKey(publicKeyBase64);
  const { signature, ...unsigned } = envelope;
  const ok = key !== null && verifyEd25519(envelopeSigningInput(unsigned), key, signature);
  if (!ok) throw new ApiError(401, 'bad-signature', "The envelope's signature does not verify.");
}

export function checkTimestamp(envelope: Envelope, now: Date, skewMs: number): void {
  const at = Date.parse(envelope.timestamp);
  if (!Number.isFinite(at) || Math.abs(now.getTime() - at) > skewMs)
    throw new ApiError(
      400,
      'stale-timestamp',
      `The envelope was signed more than ${Math.round(skewMs / 60_000)} minutes from the cloud's time.`,
    );
}

/**
 * The payload must be exactly the canonical JSON of a strict SiteReport: anything else (extra fields, other
 * key order, whitespace) would mean the signed bytes and the stored report could be read differently.
 */
export function decodeReportPayload(payload: string): SiteReport {
  const invalid = (why: string) => new ApiError(400, 'invalid-report', `The payload ${why}.`);
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64'));
    json = JSON.parse(text);
  } catch {
    throw invalid('is not UTF-8 JSON');
  }
  let canonical: string;
  try {
    canonical = canonicalJson(json);
  } catch {
    throw invalid('is not canonical JSON');
  }
  if (canonical !== text) throw invalid('is not canonical JSON');
  const parsed = SiteReport.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.filter((s) => typeof s === 'string' && /^[A-Za-z]+$/.test(s)).join('.');
    throw invalid(`is not a valid cairn.site-report/v1${field ? ` (at ${field})` : ''}`);
  }
  return parsed.data;
}

export function checkReportSite(report: SiteReport, envelope: Envelope): void {
  if (report.siteId !== envelope.siteId)
    throw new ApiError(
      400,
      'report-site-mismatch',
      "The report's siteId differs from the envelope's siteId.",
    );
}

export interface AssignedJob {
  jobId: string;
  campaignId: string;
  modelId: string;
  siteId: string;
}

const jobWithModel = preparedPerDatabase((db) =>
  db
    .select({ job: jobs, model: models })
    .from(jobs)
    .innerJoin(models, eq(models.id, jobs.modelId))
    .where(eq(jobs.id, sql.placeholder('jobId')))
    .prepare(),
);

/** The job the report answers: it must exist, belong to this site, and match the report's campaign and model. */
export async function findAssignedJob(
  db: Database,
  report: SiteReport,
  siteId: string,
): Promise<AssignedJob> {
  const [row] = await jobWithModel(db).execute({ jobId: report.jobId });
  const matches =
    row !== undefined &&
    row.job.siteId === siteId &&
    row.job.campaignId === report.campaignId &&
    row.model.vendorId === report.model.vendor &&
    row.model.name === report.model.name &&
    row.model.version === report.model.version &&
    row.model.sha256 === report.model.sha256;
  if (!matches)
    throw new ApiError(403, 'job-not-assigned', 'The report does not answer a job assigned to this site.');
  return {
    jobId: row.job.id,
    campaignId: row.job.campaignId,
    modelId: row.job.modelId,
    siteId: row.job.siteId,
  };
}

const campaignRules = preparedPerDatabase((db) =>
  db.query.campaigns
    .findFirst({
      where: eq(campaigns.id, sql.placeholder('campaignId')),
      columns: { binEdges: true, minCell: true },
    })
    .prepare(),
);

/**
 * The cloud's own check of the report's numbers against its campaign (./check-report.ts): a report that is
 * inconsistent or under-suppressed is refused with 422 and the rule's code, whatever the agent claims.
 */
export async function checkReportContent(db: Database, report: SiteReport, job: AssignedJob): Promise<void> {
  const campaign = await campaignRules(db).execute({ campaignId: job.campaignId });
  if (!campaign)
    throw new ApiError(403, 'job-not-assigned', 'The report does not answer a job assigned to this site.');
  const check = checkReport(report, campaign);
  if (!check.ok) throw new ApiError(422, check.code, check.message);
}
