import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Criteria } from '../../schemas/criteria.ts';
import type { Envelope } from '../../schemas/envelope.ts';
import { JOB_FAILURE_REASONS, type JobFailureCounts } from '../../schemas/job-status.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { ModelSignature } from '../../schemas/model-signature.ts';
import type { SiteReport } from '../../schemas/site-report.ts';

/**
 * The cloud's database (libSQL locally, Turso-compatible remotely). Times are milliseconds since the epoch;
 * JSON columns hold documents that were validated by the schemas in ../../schemas before they were stored.
 */

const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull();

export const regions = sqliteTable('regions', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const sites = sqliteTable(
  'sites',
  {
    id: text('id').primaryKey(),
    regionId: text('region_id')
      .notNull()
      .references(() => regions.id),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('sites_region_idx').on(t.regionId)],
);

export const vendors = sqliteTable('vendors', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const TOKEN_ROLES = ['admin', 'coordinator', 'vendor', 'site'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** Bearer tokens for people, vendors and enrolled sites. Only the sha256 of a token is ever stored. */
export const apiTokens = sqliteTable('api_tokens', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  role: text('role', { enum: TOKEN_ROLES }).notNull(),
  /** Scope of a vendor token. */
  vendorId: text('vendor_id').references(() => vendors.id),
  /** Scope of a coordinator token: a JSON array of region ids; null means every region. */
  regionIds: text('region_ids', { mode: 'json' }).$type<string[]>(),
  /** Scope of a site token. */
  siteId: text('site_id').references(() => sites.id),
  /** The person a coordinator or admin token belongs to: four eyes count people, not tokens. */
  personId: text('person_id'),
  label: text('label').notNull(),
  createdAt: createdAt(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }),
  revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
});

/** One-time tokens a coordinator issues so that one agent can enroll as one site. */
export const enrollmentTokens = sqliteTable('enrollment_tokens', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  siteId: text('site_id')
    .notNull()
    .references(() => sites.id),
  createdAt: createdAt(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  usedAt: integer('used_at', { mode: 'timestamp_ms' }),
});

/** Sites' Ed25519 public keys (base64 of the 32 raw bytes); the private keys never leave the agents. */
export const siteKeys = sqliteTable(
  'site_keys',
  {
    keyId: text('key_id').primaryKey(),
    siteId: text('site_id')
      .notNull()
      .references(() => sites.id),
    publicKey: text('public_key').notNull(),
    agentVersion: text('agent_version').notNull(),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    /**
     * Why the key stopped being valid: 'rotated' (the site replaced it; envelopes the API accepted before keep
     * going through ingest) or 'revoked' (a coordinator withdrew it, e.g. after a compromise; ingest refuses
     * even envelopes already queued).
     */
    revokedReason: text('revoked_reason', { enum: ['rotated', 'revoked'] }),
  },
  (t) => [index('site_keys_site_idx').on(t.siteId)],
);

/**
 * Vendors' Ed25519 model-signing public keys. The key id is derived from the key (schemas/model-signature.ts),
 * so a vendor can name it in a signature before registering it. Once a vendor has an active key, every model
 * it submits must be signed by one.
 */
export const vendorKeys = sqliteTable(
  'vendor_keys',
  {
    keyId: text('key_id').primaryKey(),
    vendorId: text('vendor_id')
      .notNull()
      .references(() => vendors.id),
    publicKey: text('public_key').notNull(),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('vendor_keys_vendor_idx').on(t.vendorId)],
);

export const models = sqliteTable(
  'models',
  {
    id: text('id').primaryKey(),
    vendorId: text('vendor_id')
      .notNull()
      .references(() => vendors.id),
    name: text('name').notNull(),
    version: text('version').notNull(),
    sha256: text('sha256').notNull(),
    /** The ModelManifest as accepted, with the cloud-computed sha256 pinned into it. */
    manifest: text('manifest', { mode: 'json' }).$type<ModelManifest>().notNull(),
    blobKey: text('blob_key').notNull(),
    /** The vendor's signature (schemas/model-signature.ts) as verified on submission; null when unsigned. */
    signature: text('signature', { mode: 'json' }).$type<ModelSignature>(),
    signingKeyId: text('signing_key_id').references(() => vendorKeys.keyId),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('models_identity_idx').on(t.vendorId, t.name, t.version)],
);

/**
 * Direct model uploads (POST /v1/models/uploads): a staging key in the blob store that the creator PUTs the
 * ONNX bytes to through a presigned URL, then completes. Only the creator's vendor (an admin's upload: the
 * creating token) may complete it, once, before `expiresAt`; `modelId` is the model it became.
 */
export const modelUploads = sqliteTable('model_uploads', {
  id: text('id').primaryKey(),
  tokenId: text('token_id')
    .notNull()
    .references(() => apiTokens.id),
  /** The creator's vendor; null when an admin created it. */
  vendorId: text('vendor_id').references(() => vendors.id),
  blobKey: text('blob_key').notNull(),
  /** The declared length in bytes, signed into the upload URL. */
  size: integer('size').notNull(),
  createdAt: createdAt(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
  completedAt: integer('completed_at', { mode: 'timestamp_ms' }),
  modelId: text('model_id').references(() => models.id),
});

export const campaigns = sqliteTable('campaigns', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  binEdges: text('bin_edges', { mode: 'json' }).$type<number[]>().notNull(),
  minCell: integer('min_cell').notNull(),
  /** When set, every model of the campaign must carry a verified vendor signature. */
  requireSignedModels: integer('require_signed_models', { mode: 'boolean' }).notNull().default(false),
  /** Subgroup attributes beyond the standard ones that every site reports (labels.csv columns). */
  subgroupAttributes: text('subgroup_attributes', { mode: 'json' }).$type<string[]>().notNull().default([]),
  /** Acceptance criteria (cairn.criteria/v1), frozen once set; post hoc when attached after creation. */
  criteria: text('criteria', { mode: 'json' }).$type<Criteria>(),
  criteriaSha256: text('criteria_sha256'),
  criteriaPostHoc: integer('criteria_post_hoc', { mode: 'boolean' }).notNull().default(false),
  criteriaAttachedAt: integer('criteria_attached_at', { mode: 'timestamp_ms' }),
  createdAt: createdAt(),
});

export const campaignModels = sqliteTable(
  'campaign_models',
  {
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
  },
  (t) => [primaryKey({ columns: [t.campaignId, t.modelId] })],
);

/**
 * pending: waits for its site; running / held (its report waits for the site's review) / failed: what the
 * site's agent reported (POST /v1/jobs/:id/status); done: its report is stored. Only pending (and running)
 * jobs are pulled; a failed one comes back when a coordinator reruns it (attempt + 1).
 */
export const JOB_STATUSES = ['pending', 'running', 'held', 'failed', 'done'] as const;

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    campaignId: text('campaign_id')
      .notNull()
      .references(() => campaigns.id),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id),
    siteId: text('site_id')
      .notNull()
      .references(() => sites.id),
    status: text('status', { enum: JOB_STATUSES }).notNull(),
    createdAt: createdAt(),
    doneAt: integer('done_at', { mode: 'timestamp_ms' }),
    /** The site's failure code (schemas/job-status.ts) while the job is failed; null otherwise. */
    failure: text('failure', { enum: JOB_FAILURE_REASONS }),
    /** The counts the site sent with its failure (JobFailureCounts): numbers and exclusion codes only. */
    failureCounts: text('failure_counts', { mode: 'json' }).$type<JobFailureCounts>(),
    /** When the site last reported a status for this job. */
    statusAt: integer('status_at', { mode: 'timestamp_ms' }),
    /** 1, then one more for each coordinator's rerun. */
    attempt: integer('attempt').notNull().default(1),
  },
  (t) => [
    uniqueIndex('jobs_assignment_idx').on(t.campaignId, t.modelId, t.siteId),
    index('jobs_site_status_idx').on(t.siteId, t.status),
  ],
);

/** Envelope nonces already seen, per site: the unique key is what makes replay detection atomic. */
export const nonces = sqliteTable(
  'nonces',
  {
    siteId: text('site_id').notNull(),
    nonce: text('nonce').notNull(),
    seenAt: integer('seen_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.nonce] })],
);

/**
 * 'sending': written before a message goes to a queue outside the database (SQS) and not yet known to have
 * left — a crash there leaves it so, and a resend of the report sends it again. 'queued': its message is on
 * the queue (the embedded queue: inserted in the receipt's own transaction). 'accepted': the report is stored.
 */
export const RECEIPT_STATUSES = ['sending', 'queued', 'accepted'] as const;

/**
 * Every report the API has let through to the queue. Its unique keys refuse a second submission of the same
 * report id, or a second report for the same job, before ingest ever runs.
 */
export const reportReceipts = sqliteTable('report_receipts', {
  reportId: text('report_id').primaryKey(),
  jobId: text('job_id')
    .notNull()
    .unique()
    .references(() => jobs.id),
  siteId: text('site_id').notNull(),
  status: text('status', { enum: RECEIPT_STATUSES }).notNull(),
  receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  acceptedAt: integer('accepted_at', { mode: 'timestamp_ms' }),
});

/** Accepted site reports, stored once: the report as parsed and the envelope exactly as it was signed. */
export const reports = sqliteTable(
  'reports',
  {
    reportId: text('report_id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id),
    siteId: text('site_id').notNull(),
    campaignId: text('campaign_id').notNull(),
    modelId: text('model_id').notNull(),
    report: text('report', { mode: 'json' }).$type<SiteReport>().notNull(),
    envelope: text('envelope', { mode: 'json' }).$type<Envelope>().notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
    /**
     * Set when a coordinator voided the report (POST /v1/reports/:id/void): it stays stored and listed, but
     * leaves every pool, and its job can be reported again. The reason is the coordinator's own words, kept
     * here and not in the audit chain (which holds its sha256).
     */
    voidedAt: integer('voided_at', { mode: 'timestamp_ms' }),
    voidReason: text('void_reason'),
    voidedBy: text('voided_by'),
  },
  (t) => [
    index('reports_campaign_idx').on(t.campaignId, t.modelId),
    // Ingest asks whether a job already has a live report, once per report.
    index('reports_job_idx').on(t.jobId),
    // The comparison reads a campaign's reports in receipt order, a page at a time.
    index('reports_campaign_received_idx').on(t.campaignId, t.receivedAt, t.reportId),
  ],
);

export const REFUSAL_STAGES = ['api', 'ingest'] as const;

/**
 * Refused reports, counted per UTC day, site, stage and code instead of one audit entry each (a site could
 * otherwise grow the chain without bound): only the first refusal of each such key is also audited.
 * `siteId` is the authenticated site at the API, the envelope's (unverified) site at ingest.
 */
export const reportRefusals = sqliteTable(
  'report_refusals',
  {
    day: text('day').notNull(),
    siteId: text('site_id').notNull(),
    stage: text('stage', { enum: REFUSAL_STAGES }).notNull(),
    code: text('code').notNull(),
    count: integer('count').notNull(),
    lastAt: integer('last_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.siteId, t.stage, t.code] })],
);

// The embedded queue's table is the queue adapter's own (infra/queue-table.ts); it lives in this database.
export { QUEUE_STATUSES, queueMessages } from '../../infra/queue-table.ts';
// Rollouts have their own file (rollout-tables.ts); they live in this database.
export { rolloutEvents, rollouts } from './rollout-tables.ts';

/**
 * The hash-chained audit log (functions/audit): one row per state change, append-only. Each row's hash is
 * sha256(prev_hash + canonical JSON of its content), so editing or deleting a row breaks every later link.
 * Rows hold ids, roles, codes and hashes only — never names, labels, report contents or secrets.
 */
export const auditLog = sqliteTable('audit_log', {
  /** 1, 2, 3, …: the primary key makes two writers racing for the same place fail, and one retries. */
  seq: integer('seq').primaryKey(),
  at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  /** Who: `token:<id>` (with role in detail), `enrollment:<id>`, `site-key:<id>` or `system`. */
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  /** The main object the change is about (an id). */
  target: text('target').notNull(),
  /** Canonical JSON of a small object of ids and codes. */
  detail: text('detail').notNull(),
  prevHash: text('prev_hash').notNull().unique(),
  hash: text('hash').notNull(),
});
// Monitoring of deployed versions has its own file (monitoring-tables.ts); it lives in this database.
export { monitoringJobs, monitoringReports, monitoringSettings } from './monitoring-tables.ts';
