import { sql } from 'drizzle-orm';
import { integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * The edge agent's durable state: one libSQL file in the agent's state folder (mode 0600, it holds the
 * site's private key). It survives crashes and network loss, so finished work is never redone and a report
 * that could not be sent goes out on a later run.
 */

/** The site identity made at enrollment. One row. The private key never leaves this table. */
export const identity = sqliteTable('identity', {
  id: integer('id').primaryKey(),
  cloudUrl: text('cloud_url').notNull(),
  siteId: text('site_id').notNull(),
  regionId: text('region_id').notNull(),
  keyId: text('key_id').notNull(),
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: text('public_key').notNull(),
  /** PKCS#8 DER of the Ed25519 private key, base64. */
  privateKey: text('private_key').notNull(),
  /** The site-scoped API token the cloud issued at enrollment. */
  apiToken: text('api_token').notNull(),
  enrolledAt: text('enrolled_at').notNull(),
});

/** Jobs pulled from the cloud, and how far this agent got with each. */
export const jobs = sqliteTable('jobs', {
  jobId: text('job_id').primaryKey(),
  campaignId: text('campaign_id').notNull(),
  /** The job as pulled (schemas/job.ts), JSON. */
  job: text('job').notNull(),
  status: text('status', { enum: ['pending', 'reported', 'failed'] }).notNull(),
  /** A closed failure code (schemas/job-status.ts); never free text from a DICOM header. */
  failure: text('failure'),
  /** The job's last progress counts when it failed (schemas/job-status.ts JobFailureCounts), JSON. */
  failureCounts: text('failure_counts'),
  /** The cloud's attempt number this row ran (a coordinator's rerun raises it; the job then runs again). */
  attempt: integer('attempt').notNull().default(1),
  /** A status the cloud has not heard yet (kept across passes while offline); null once delivered. */
  statusToSend: text('status_to_send', { enum: ['running', 'held', 'failed'] }),
  updatedAt: text('updated_at').notNull(),
  /** The `agent run` evaluating it now (job/claim.ts); null while nobody is. */
  claimedBy: text('claimed_by'),
});

/**
 * Gated reports waiting to go out, and those that went. Each attempt is signed afresh (new timestamp and
 * nonce, same report bytes), so a resend after a lost answer or a long outage is not taken for a replay.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    reportId: text('report_id').primaryKey(),
    jobId: text('job_id').notNull(),
    /** The report's canonical JSON: exactly the payload bytes every envelope for it carries. */
    report: text('report').notNull(),
    /**
     * held: waits for a site admin (`cairn agent review`); pending: approved, goes out on the next flush;
     * sent / refused (by the cloud) / rejected (by the site admin) are final.
     */
    status: text('status', { enum: ['held', 'pending', 'sent', 'refused', 'rejected'] }).notNull(),
    /** Who let it out: `policy:<rule index>` or `admin`; null while held. */
    approvedBy: text('approved_by'),
    attempts: integer('attempts').notNull().default(0),
    /** The cloud's error code for the last failed attempt. */
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    sentAt: text('sent_at'),
  },
  // One live report per job: a job evaluated twice (by two runs that both got hold of it) cannot queue a
  // second one. A report the site rejected or the cloud refused does not count, so a rerun
  // of that job may report again.
  (t) => [uniqueIndex('outbox_live_job').on(t.jobId).where(sql`${t.status} in ('held', 'pending', 'sent')`)],
);

/** Every request this agent made to the outside, byte for byte (the Authorization header excepted). */
export const sentLog = sqliteTable('sent_log', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  at: text('at').notNull(),
  method: text('method').notNull(),
  url: text('url').notNull(),
  /** The request body exactly as sent, base64; null for requests without a body. */
  body: text('body'),
  status: integer('status'),
});

/**
 * Per-image prediction cache: (model key, SOP Instance UID) → the image's score(s). The model key (column
 * `model_sha256`) is pipeline/cache-key.ts's predictionCacheKey: the ONNX sha256 together with the
 * manifest's preprocessing and output, which the score depends on as much as on the bytes. A run killed at any
 * point resumes without re-inferring what it finished, and a second run over the same data and model infers
 * nothing. Multi-frame instances keep the max and the sum over their frames (enough for both study
 * aggregation rules). Written in one transaction per inference batch. Stays on the site like all state.
 */
export const predictions = sqliteTable(
  'predictions',
  {
    modelSha256: text('model_sha256').notNull(),
    sopInstanceUid: text('sop_instance_uid').notNull(),
    studyInstanceUid: text('study_instance_uid').notNull(),
    frames: integer('frames').notNull(),
    scoreMax: real('score_max').notNull(),
    scoreSum: real('score_sum').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelSha256, t.sopInstanceUid] })],
);

/**
 * The site's differential-privacy ledger: ε spent per campaign, one row per released report. A release that
 * would take a campaign past the site's budget is refused before anything is queued.
 */
export const privacyLedger = sqliteTable('privacy_ledger', {
  reportId: text('report_id').primaryKey(),
  campaignId: text('campaign_id').notNull(),
  epsilon: real('epsilon').notNull(),
  spentAt: text('spent_at').notNull(),
});

/**
 * Subgroup attributes the site refused to release for a job's report (privacy/subgroup-columns.ts): the
 * column name as the campaign requested it and the rule's code, never a value. Replaced when a job reruns;
 * shown by `cairn agent review` and `cairn agent status`.
 */
export const subgroupRefusals = sqliteTable(
  'subgroup_refusals',
  {
    jobId: text('job_id').notNull(),
    attribute: text('attribute').notNull(),
    reason: text('reason', {
      enum: ['not-allow-listed', 'identifier-shape', 'too-many-levels', 'level-density'],
    }).notNull(),
    source: text('source', { enum: ['labels', 'dicom'] }).notNull(),
    decidedAt: text('decided_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.attribute] })],
);
